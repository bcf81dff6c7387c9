"""A short run of the parser/compiler fuzz target (``fuzz/fuzz_compile.py``) in every test run:
only InvalidSearch may escape parse + compile, and no value may reach the compiled text."""

from __future__ import annotations

from hypothesis import example, given

try:
    from tests.property.support import examples, fuzz_target
except ImportError:  # plain `pytest`: tests/ itself is on sys.path
    from property.support import examples, fuzz_target  # type: ignore[no-redef]

fuzz = fuzz_target("fuzz_compile")


@examples(300)
@given(fuzz.query_inputs())
# a reference's type inside the searched type's Cypher label (a registry name, not a value)
@example("QuestionnaireResponse?questionnaire=http://example.org/,Questionnaire/q1")
def test_parse_and_compile_fuzz(text: str) -> None:
    fuzz.check(text)


def test_every_case_query_is_clean() -> None:
    for query in fuzz.seed_corpus():
        fuzz.check(query)


def test_check_detects_a_spliced_value() -> None:
    """The oracle itself works: a compiler that splices a value is caught."""
    from helios_persistence.compilers.sqlite import SQLiteCompiler

    original = SQLiteCompiler.build

    def splicing(self, query, index):  # type: ignore[no-untyped-def]
        template = original(self, query, index)
        template.text += f" /* {query.where.value} */"
        return template

    SQLiteCompiler.build = splicing  # type: ignore[method-assign]
    try:
        try:
            fuzz.check("Patient?name=abcdef")
        except AssertionError:
            return
        raise AssertionError("the fuzz oracle missed a spliced value")
    finally:
        SQLiteCompiler.build = original  # type: ignore[method-assign]


def test_the_command_line_runs_the_hypothesis_loop() -> None:
    """``fuzz/fuzz_compile.py --hypothesis N`` (the shared ``fuzz_main``) runs N examples."""
    assert fuzz.main(["fuzz_compile.py", "--hypothesis", "3"]) == 0
