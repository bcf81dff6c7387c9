"""The conformance runner, the support matrix, the gap declarations and the case files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helios_persistence.compilers import DIALECTS as COMPILERS
from helios_persistence.compilers import get_compiler
from helios_persistence.conformance.cases import Observed, check, load_cases, packaged_dir
from helios_persistence.conformance.gaps import GAPS, SUITE_DIALECTS, Gap, gaps_for
from helios_persistence.conformance.matrix import AREAS, matrix_markdown
from helios_persistence.conformance.runner import main, run

try:
    from tests.conformance.support import BACKENDS, CASE_IDS, CASES
except ImportError:  # plain `pytest`: tests/ itself is on sys.path
    from conformance.support import BACKENDS, CASE_IDS, CASES  # type: ignore[no-redef]


def test_every_gap_names_existing_cases() -> None:
    for gap in GAPS:
        assert set(gap.cases) <= CASE_IDS, set(gap.cases) - CASE_IDS


def test_suite_dialects_are_the_backends_dialects() -> None:
    """The matrix claims support only for dialects the suite runs: keep the two in step."""
    assert {b.dialect for b in BACKENDS.values()} == set(SUITE_DIALECTS)


def test_gap_declarations_are_checked() -> None:
    with pytest.raises(ValueError, match="unknown dialect"):
        Gap(("oracle",), ("string/x",), AssertionError, "why")
    with pytest.raises(ValueError, match="at least one case"):
        Gap(("sqlite",), (), AssertionError, "why")


def test_every_area_has_a_matrix_row() -> None:
    areas = {a for a, _, _ in AREAS}
    assert {c.area for c in CASES} <= areas


def test_case_files_are_well_formed() -> None:
    for path in packaged_dir("cases").glob("*.json"):
        data = json.loads(path.read_text(encoding="utf-8"))
        assert data["area"] == path.stem
        for case in data["cases"]:
            assert case["query"].split("?")[0] == "" or case["query"][0].isupper(), case
            assert ("error" in case) != any(
                k in case for k in ("expect", "included", "total", "pages", "next")
            ), case


def test_check_reports_differences() -> None:
    case = next(c for c in CASES if c.id == "string/default-prefix-folds-accents")
    assert check(case, Observed(ids=list(case.expect or ()))) == []
    assert check(case, Observed(ids=["Patient/x"]))
    assert check(case, Observed(error="invalid"))


def test_runner_on_sqlite(tmp_path: Path) -> None:
    report = run(f"sqlite:///{tmp_path}/conformance.db")
    assert report.ok, report.failures()
    assert len(report.results) == len(CASES)
    gaps = {r.case.id for r in report.results if r.known_gap}
    assert gaps == set(gaps_for("sqlite"))
    assert not any(r.evaluator_problems for r in report.results)
    table = report.table()
    assert "| string |" in table and "| **all** |" in table


def test_runner_with_own_cases(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cases = tmp_path / "cases"
    (cases / "fixtures").mkdir(parents=True)
    (cases / "fixtures" / "mine.json").write_text(
        json.dumps(
            {
                "description": "two",
                "resources": [
                    {"resourceType": "Patient", "id": "a", "name": [{"family": "Åberg"}]},
                    {"resourceType": "Patient", "id": "b", "name": [{"family": "Berg"}]},
                ],
            }
        ),
        encoding="utf-8",
    )
    (cases / "mine.json").write_text(
        json.dumps(
            {
                "area": "mine",
                "fixtures": ["mine"],
                "cases": [
                    {"id": "folded", "query": "Patient?name=aberg", "expect": ["Patient/a"]},
                    {"id": "wrong", "query": "Patient?name=berg", "expect": ["Patient/a"]},
                ],
            }
        ),
        encoding="utf-8",
    )
    assert len(load_cases(cases)) == 2
    status = main(["--store", "sqlite://", "--cases", str(cases)])
    out = capsys.readouterr().out
    assert status == 1
    assert "| mine | 2 | 1 | 1 | 0 | 1 |" in out
    assert "FAIL mine/wrong" in out and "EVALUATOR DISAGREES mine/wrong" in out


def test_matrix_is_generated_from_the_code() -> None:
    text = matrix_markdown()
    assert text == matrix_markdown()
    assert text.startswith("| feature | cases | SQLite | PostgreSQL |")
    for _, label, _ in AREAS:
        assert f"| {label} |" in text
    # a cell says "not supported" exactly when a compiler declares an area's node unsupported
    declared = any(
        not get_compiler(d).supports_node(n) for d in COMPILERS for _, _, ns in AREAS for n in ns
    )
    assert ("❌ not supported" in text) == declared
    if set(COMPILERS) - set(SUITE_DIALECTS):
        assert "🚧 not in the suite" in text
    for gap in GAPS:
        assert gap.reason in text


def test_gaps_a_compiler_declares_are_derived(monkeypatch: pytest.MonkeyPatch) -> None:
    """A case whose query the dialect's ``supports()`` refuses is a known gap without an
    entry in GAPS; a declared area gap covers every case of the area."""
    from dataclasses import replace

    import helios_persistence.compilers as compilers
    from helios_persistence import ir
    from helios_persistence.compilers.duckdb import DuckDBCompiler
    from helios_persistence.conformance.cases import load_cases

    class NoTerminology(DuckDBCompiler):  # a DuckDB dialect that cannot lower terminology
        UNSUPPORTED = frozenset({ir.Terminology})

    real = compilers.get_compiler
    monkeypatch.setattr(
        compilers, "get_compiler", lambda d: NoTerminology() if d == "duckdb" else real(d)
    )
    cases = load_cases()
    template = next(c for c in cases if c.error is None)
    refused = replace(template, name="derived", query="Observation?code:in=http://x.org/vs")
    found = gaps_for("duckdb", [*cases, refused])
    gap = found[refused.id]
    assert gap.raises is AssertionError and "Terminology" in gap.reason
    assert refused.id not in gaps_for("duckdb", [*cases, replace(refused, error="not-supported")])
    assert refused.id not in gaps_for("sqlite", [*cases, refused])  # SQLite lowers it
    monkeypatch.setattr(compilers, "get_compiler", real)
    assert refused.id not in gaps_for("duckdb", [*cases, refused])  # the real one lowers it
    area = Gap(("duckdb",), (f"{template.area}/*",), AssertionError, "an area gap")
    import helios_persistence.conformance.gaps as gaps_module

    saved = gaps_module.GAPS
    gaps_module.GAPS = (area,)
    try:
        covered = gaps_for("duckdb", cases)
    finally:
        gaps_module.GAPS = saved
    assert {c.id for c in cases if c.area == template.area} <= set(covered)
