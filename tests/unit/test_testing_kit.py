"""The public property-testing kit: its strategies draw valid searches, its checks fail when a
store is wrong, and its pytest plugin runs against a store URL."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import helios_persistence as hp
from helios_persistence.conformance.gaps import Gap
from helios_persistence.testing import (
    agree_on,
    composite_tests,
    conformance_cases,
    date_tests,
    filter_queries,
    ir_queries,
    number_tests,
    quantity_tests,
    reference_tests,
    search_queries,
    string_tests,
    text_tests,
    token_tests,
    worlds,
)
from helios_persistence.testing import conformance as kit_conformance

_PER_TYPE = st.one_of(
    string_tests("name", ["Müller", "Smith"]).map(lambda p: f"Patient?{p}"),
    token_tests("gender", ["male", "female"]).map(lambda p: f"Patient?{p}"),
    date_tests("birthdate").map(lambda p: f"Patient?{p}"),
    number_tests("probability").map(lambda p: f"RiskAssessment?{p}"),
    quantity_tests("value-quantity").map(lambda p: f"Observation?{p}"),
    reference_tests("subject", ["Patient"], {"Patient": ["p1"]}).map(lambda p: f"Observation?{p}"),
    composite_tests().map(lambda p: f"Observation?{p}"),
    text_tests().map(lambda p: f"Patient?{p}"),
)


@settings(max_examples=150, deadline=None)
@given(query=st.one_of(_PER_TYPE, filter_queries("Patient"), filter_queries("Observation")))
def test_strategies_draw_searches_the_parser_accepts(query: str) -> None:
    hp.parse(query)


@settings(max_examples=40, deadline=None)
@given(q=ir_queries())
def test_ir_queries_render_and_parse_back(q: hp.ir.Query) -> None:
    assert hp.parse(hp.render(q)) == q


@settings(max_examples=10, deadline=None)
@given(world=worlds(), data=st.data())
def test_agree_on_passes_for_a_correct_store(world: dict[str, Any], data: st.DataObject) -> None:
    with hp.open_store("sqlite://") as store:
        agree_on(store, world, data.draw(st.lists(search_queries(world), max_size=3)))


class _WrongStore:
    """A store that drops the last match of every page."""

    def __init__(self) -> None:
        self.inner = hp.open_store("sqlite://")
        self.registry = self.inner.registry

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def search(self, ctx: Any, query: str, **kw: Any) -> Any:
        result = self.inner.search(ctx, query, **kw)
        result.resources = result.resources[:-1]
        return result


def test_agree_on_fails_for_a_wrong_store() -> None:
    world = [{"resourceType": "Patient", "id": "a", "gender": "male"}]
    with pytest.raises(AssertionError, match="backend   \\[\\]"):
        agree_on(_WrongStore(), world, ["Patient?gender=male"])


def test_conformance_cases_check_and_honour_known_gaps(monkeypatch: pytest.MonkeyPatch) -> None:
    cases = {c.id: c for c in conformance_cases()}
    assert len(cases) > 400
    case = (
        cases["string/default-prefix"]
        if "string/default-prefix" in cases
        else next(c for c in cases.values() if c.id.startswith("string/"))
    )
    with hp.open_store("sqlite://") as store:
        case.check(store)  # passes on SQLite
        with pytest.raises(AssertionError):
            case.check(_WrongStore())
        gap = Gap(("sqlite",), (case.id,), AssertionError, "pretend gap")
        monkeypatch.setattr(kit_conformance, "gaps_for", lambda dialect: {case.id: gap})
        with pytest.raises(pytest.fail.Exception, match="remove it from the known gaps"):
            case.check(store)
        wrong = _WrongStore()
        wrong.dialect = "sqlite"
        with pytest.raises(pytest.xfail.Exception, match="pretend gap"):
            case.check(wrong)


def _run_plugin(tmp_path: Path, url: str | None, *extra: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_kit.py").write_text(
        textwrap.dedent(
            """
            from hypothesis import given, settings, strategies as st
            from helios_persistence.testing import agree_on, search_queries, worlds

            def test_case(helios_case, helios_store):
                helios_case.check(helios_store)

            @settings(max_examples=5, deadline=None)
            @given(world=worlds(), data=st.data())
            def test_differential(helios_store, world, data):
                agree_on(helios_store, world, [data.draw(search_queries(world))])
            """
        )
    )
    args = ["-p", "helios_persistence.testing.plugin", "test_kit.py", "-q", "-p",
            "no:cacheprovider", "--rootdir", str(tmp_path), *extra]  # fmt: skip
    if url is not None:
        args += ["--helios-store", url]
    return subprocess.run(
        [sys.executable, "-m", "pytest", *args], cwd=tmp_path, capture_output=True, text=True
    )


def test_plugin_skips_without_a_store(tmp_path: Path) -> None:
    run = _run_plugin(tmp_path, None, "-k", "differential or string")
    assert run.returncode == 0, run.stdout[-2000:]
    assert "skipped" in run.stdout and "passed" not in run.stdout.splitlines()[-1]


def test_plugin_runs_against_a_postgres_url(tmp_path: Path, postgres_url: str) -> None:
    psycopg = pytest.importorskip("psycopg")
    schema = f"kit_{uuid.uuid4().hex[:10]}"
    try:
        run = _run_plugin(tmp_path, f"{postgres_url}?schema={schema}", "-k", "differential or date")
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
        assert " passed" in run.stdout.splitlines()[-1]
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def test_kit_without_hypothesis_says_what_to_install() -> None:
    probe = (
        "import sys; sys.modules['hypothesis'] = None\n"
        "try:\n    import helios_persistence.testing\n"
        "except Exception as exc:\n    print(type(exc).__name__, exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True).stdout
    assert out.startswith("MissingDependency") and "helios-persistence[testing]" in out
