"""The official SQL-on-FHIR v2 test suite on DuckDB, SQLite and PostgreSQL.

Every case of every file in ``../shared/data/sql-on-fhir-v2/tests`` (and the cases this
project wrote in the same format, ``cases/``, for functions the shipped files do not cover:
reference keys, boundaries, ``%rowIndex``, constant types) is one test per dialect, compared
as the spec's harness does (:func:`helios_persistence.views.suite.check`). A case a dialect
cannot pass is listed in ``GAPS`` with the reason and runs as a strict xfail.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from helios_persistence.views.suite import Case, check, engine, load_cases, run_suite, write_report


def _shared() -> Path:
    env = os.environ.get("HELIOS_SHARED_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[3] / ".." / "shared" / "data"


OFFICIAL = _shared() / "sql-on-fhir-v2" / "tests"
OWN = Path(__file__).resolve().parent / "cases"
DIALECTS = ("duckdb", "sqlite", "postgres")

#: (dialect, case id) -> why that dialect cannot pass the case. Empty: every case passes on
#: every dialect; a future gap goes here (and becomes a strict xfail naming the reason).
GAPS: dict[tuple[str, str], str] = {}

OFFICIAL_CASES = load_cases(OFFICIAL) if OFFICIAL.is_dir() else []
OWN_CASES = load_cases(OWN)


def _params(cases: list[Case]) -> list[object]:
    out = []
    for dialect in DIALECTS:
        for case in cases:
            marks = [pytest.mark.services] if dialect == "postgres" else []
            reason = GAPS.get((dialect, case.id))
            if reason is not None:
                marks.append(pytest.mark.xfail(reason=reason, strict=True))
            out.append(pytest.param(dialect, case, marks=marks, id=f"{dialect}-{case.id}"))
    return out


@pytest.fixture(scope="module")
def loaders(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    opened: dict[str, object] = {}
    stack = []

    def get(dialect: str):  # type: ignore[no-untyped-def]
        if dialect not in opened:
            url = request.getfixturevalue("postgres_url") if dialect == "postgres" else None
            manager = engine(dialect, url)
            opened[dialect] = manager.__enter__()
            stack.append(manager)
        return opened[dialect]

    yield get
    for manager in reversed(stack):
        manager.__exit__(None, None, None)


def test_the_official_suite_is_there() -> None:
    if not OFFICIAL.is_dir():
        pytest.skip(f"SQL-on-FHIR v2 tests not found in {OFFICIAL} (set HELIOS_SHARED_DATA)")
    files = sorted(p.name for p in OFFICIAL.glob("*.json"))
    assert len(files) >= 17
    assert len(OFFICIAL_CASES) >= 94


@pytest.mark.parametrize(("dialect", "case"), _params(OFFICIAL_CASES))
def test_official_case(dialect: str, case: Case, loaders) -> None:  # type: ignore[no-untyped-def]
    reason = check(case, loaders(dialect)(case.resources))
    assert reason is None, reason


@pytest.mark.parametrize(("dialect", "case"), _params(OWN_CASES))
def test_own_case(dialect: str, case: Case, loaders) -> None:  # type: ignore[no-untyped-def]
    reason = check(case, loaders(dialect)(case.resources))
    assert reason is None, reason


def test_report_has_the_suite_format(tmp_path: Path) -> None:
    report = run_suite(OWN, "duckdb")
    out = tmp_path / "test_report.json"
    write_report(report, out)
    written = json.loads(out.read_text())
    assert set(written) == {p.name for p in OWN.glob("*.json")}
    total = 0
    for entry in written.values():
        assert set(entry) == {"tests"}
        for test in entry["tests"]:
            assert set(test) == {"name", "result"}
            assert test["result"]["passed"] is True
            total += 1
    assert total == len(OWN_CASES)


def test_report_records_a_failure_with_its_reason(tmp_path: Path) -> None:
    suite = json.loads((OWN / "row_index.json").read_text())
    suite["tests"] = suite["tests"][:1]
    suite["tests"][0]["expect"] = [{"id": "p1", "i": 7}]
    (tmp_path / "broken.json").write_text(json.dumps(suite))
    report = run_suite(tmp_path, "sqlite")
    result = report["broken.json"]["tests"][0]["result"]
    assert result["passed"] is False
    assert "rows" in result["reason"]


@pytest.mark.parametrize("dialect", ["duckdb", "sqlite"])
def test_unions_as_branch_tables_give_the_same_rows(
    dialect: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Unions every row goes through become UNION ALL plans; with plans turned off the branch
    table lowering (the one used inside forEachOrNull) must pass the same cases."""
    from helios_persistence.views import view as view_module

    monkeypatch.setattr(view_module, "MAX_PLANS", 0)
    monkeypatch.setattr(view_module, "_CACHE", {})
    cases = [c for c in OFFICIAL_CASES + OWN_CASES if "unionAll" in json.dumps(c.view)]
    if not OFFICIAL_CASES:
        pytest.skip("the official SQL-on-FHIR tests are missing (shared data not found)")
    with engine(dialect) as load:
        failures = [(c.id, check(c, load(c.resources))) for c in cases]
    assert [f for f in failures if f[1] is not None] == []
    assert len(cases) >= 10
