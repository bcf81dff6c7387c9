"""Fuzz the search parser and every dialect compiler.

Two properties, for any input:

1. nothing but :class:`~helios_persistence.errors.InvalidSearch` escapes parse + compile
   (``UnsupportedInDialect`` is one);
2. no parameter value reaches the compiled text: every string value of the IR is replaced by
   a unique marker, the query is compiled afresh (no cache), and no marker, no resource type
   and no value of 4+ characters that is not a SQL word may appear in the SQL/Cypher text.

Run it with one command::

    .venv/bin/python fuzz/fuzz_compile.py                  # atheris (libFuzzer) if installed
    .venv/bin/python fuzz/fuzz_compile.py -runs=100000     # libFuzzer options pass through
    .venv/bin/python fuzz/fuzz_compile.py --hypothesis 2000   # the hypothesis-driven loop

Without atheris (``pip install atheris``) the hypothesis loop runs. The seed corpus is every
query of the conformance case files; ``tests/property/test_fuzz_compile.py`` runs a short
hypothesis loop in the normal test suite.
"""

from __future__ import annotations

import re
import sys
from dataclasses import fields, replace
from typing import Any

from fuzz_main import run

#: words that may appear in SQL text whatever the values are
_SQL_WORDS = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _sql_words(text: str) -> set[str]:
    return {w.lower() for w in _SQL_WORDS.findall(text)}


def _mark(node: Any, counter: list[int]) -> Any:
    """``node`` with every string value field replaced by a fresh marker (``zqx<n>qz``)."""
    from helios_persistence import ir

    if isinstance(node, tuple):
        return tuple(_mark(v, counter) for v in node)
    if not isinstance(node, ir.Node):
        return node
    changes: dict[str, Any] = {}
    for f in fields(node):
        value = getattr(node, f.name)
        if f.name in type(node).VALUE_FIELDS and isinstance(value, str) and value:
            counter[0] += 1
            changes[f.name] = f"zqx{counter[0]}qz"
        elif isinstance(value, ir.Node | tuple):
            changes[f.name] = _mark(value, counter)
    return replace(node, **changes) if changes else node


def _strings(node: Any) -> list[str]:
    from helios_persistence import ir

    if isinstance(node, tuple):
        return [s for v in node for s in _strings(v)]
    if not isinstance(node, ir.Node):
        return []
    out = []
    for f in fields(node):
        value = getattr(node, f.name)
        if f.name in type(node).VALUE_FIELDS and isinstance(value, str):
            out.append(value)
        elif isinstance(value, ir.Node | tuple):
            out.extend(_strings(value))
    return out


def check(data: bytes | str) -> None:
    """One fuzz input: raises AssertionError (or the escaping exception) on a violation."""
    import helios_persistence as hp
    from helios_persistence import ir
    from helios_persistence.compilers import DIALECTS, get_compiler
    from helios_persistence.errors import InvalidSearch

    text = data if isinstance(data, str) else data.decode("utf-8", "replace")
    try:
        query = hp.parse(text)
    except InvalidSearch:
        return
    for dialect in DIALECTS:
        compiler = type(get_compiler(dialect))
        try:
            hp.compile(query, dialect=dialect)  # the cached path must not fail either
            marked = _mark(query, [0])
            template = compiler().build(marked, ir.ValueIndex(marked))
        except InvalidSearch:
            continue
        body = f"{template.text}\n{template.count_text}"
        assert "zqx" not in body, f"{dialect}: a value was spliced into the text of {text!r}"
        words = _sql_words(body)
        types = [query.resource_type, *query.types] if query.resource_type else [*query.types]
        for name in types:  # (Cypher labels are the registry's type names: never a value)
            unlabelled = body.replace(f":`{name}`", "") if dialect == "cypher" else body
            assert name not in unlabelled, (
                f"{dialect}: resource type {name!r} spliced into {text!r}"
            )
        if dialect == "cypher":  # (a value may be part of a registry type's label)
            body = _LABEL.sub(lambda m: "" if m[1] in _resource_types() else m[0], body)
        for value in _strings(query):
            if len(value) >= 4 and value.lower() not in words:
                assert value not in body, f"{dialect}: value {value!r} spliced into {text!r}"


_LABEL = re.compile(r":`([A-Za-z]+)`")


def _resource_types() -> frozenset[str]:
    from helios_persistence.indexing.model import resource_types

    return resource_types()


def seed_corpus() -> list[str]:
    """Every query of the packaged conformance cases."""
    from helios_persistence.conformance.cases import load_cases

    return sorted({c.query for c in load_cases()})


def query_inputs() -> Any:
    """A hypothesis strategy: corpus queries, mutated, and query-shaped random text."""
    from hypothesis import strategies as st

    corpus = seed_corpus()
    pieces = [
        "?", "&", "=", ",", "|", "$", ":", ".", "\\", "%", "%25", "%2", "_has:", "_filter=",
        ":missing=true", ":exact", ":not", "ge", "ap", "2020-01", "T10:00:00Z", "*",
        "Patient", "Observation", "subject", "name", '"', "(", ")", " or ", " and ",
    ]  # fmt: skip

    @st.composite
    def inputs(draw: Any) -> str:
        base = draw(st.sampled_from(corpus))
        for _ in range(draw(st.integers(0, 4))):
            at = draw(st.integers(0, len(base)))
            how = draw(st.sampled_from(["insert", "delete", "text"]))
            if how == "insert":
                base = base[:at] + draw(st.sampled_from(pieces)) + base[at:]
            elif how == "delete":
                base = base[:at] + base[at + draw(st.integers(1, 5)) :]
            else:
                base = base[:at] + draw(st.text(max_size=4)) + base[at:]
        return base

    return inputs()


def hypothesis_loop(examples: int) -> None:
    """The fallback fuzzer: :func:`query_inputs` through :func:`check`."""
    from hypothesis import HealthCheck, given, settings

    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck))
    @given(query_inputs())
    def run(text: str) -> None:
        check(text)

    run()


def main(argv: list[str]) -> int:
    def fuzz(atheris: Any, argv: list[str]) -> None:
        import tempfile
        from pathlib import Path

        with atheris.instrument_imports():
            import helios_persistence
            import helios_persistence.compilers.sqlite  # noqa: F401
        corpus = Path(tempfile.mkdtemp(prefix="helios-fuzz-corpus-"))
        for i, query in enumerate(seed_corpus()):
            (corpus / f"seed-{i}").write_text(query, encoding="utf-8")
        atheris.Setup([argv[0], *argv[1:], str(corpus)], check)
        atheris.Fuzz()

    return run(argv, hypothesis_loop, fuzz)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
