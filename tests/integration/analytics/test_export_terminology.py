"""Terminology over an export: the closure and every ValueSet's expansion travel with it, so
``:below``/``:above``/``:in``/``:not-in`` (and ``_filter`` ``sb``/``ss``/``in``/``ni``) on
``open_analytics`` answer what the store answers, errors included."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import helios_persistence as hp
from helios_persistence.conformance.cases import (
    fixture_steps,
    live_resources,
    load_cases,
    observe_store,
)
from helios_persistence.errors import TerminologyError
from helios_persistence.tenancy import TenantContext

pytest.importorskip("duckdb")

CTX = TenantContext.for_tenant("terms")
CASES = [c for c in load_cases() if c.area == "terminology"]


class _Lake:
    """An analytics store seen through the stores' ``search(ctx, query)``."""

    def __init__(self, lake: Any) -> None:
        self.lake = lake

    def search(self, ctx: TenantContext, query: str) -> Any:
        return self.lake.search(query)


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Any:
    store = hp.open_store("sqlite://")
    live_resources(store, CTX, fixture_steps(CASES[0].fixtures, CASES[0].fixtures_dirs))
    folder = tmp_path_factory.mktemp("terms") / "export"
    # the CodeSystems and ValueSets themselves are left out: the terminology tables suffice
    searched = sorted({c.query.partition("?")[0] for c in CASES})
    assert not {"CodeSystem", "ValueSet"} & set(searched)
    job = store.export(CTX, types=searched, destination=str(folder)).wait()
    assert job.status == "completed", job.error
    lake = hp.open_analytics(str(folder), registry=store.registry)
    yield store, lake, folder
    lake.close()
    store.close()


def test_every_terminology_case_answers_as_the_store(exported: Any) -> None:
    store, lake, _ = exported
    exported_types = {t for (t,) in lake.sql("SELECT DISTINCT type FROM resources").fetchall()}
    assert exported_types <= {"Observation", "Patient"}
    for case in CASES:
        on_store = observe_store(store, CTX, case)
        on_lake = observe_store(_Lake(lake), CTX, case)
        assert on_lake == on_store, case.id


def test_the_exported_tables_are_the_stores(exported: Any) -> None:
    store, lake, _ = exported
    with store.read_session(CTX) as s:
        closure = sorted(
            tuple(r)
            for r in s.conn.execute(
                "SELECT system, ancestor, descendant, distance FROM term_closure WHERE tenant = ?",
                [CTX.tenant_key],
            )
        )
        expansion = sorted(
            tuple(r)
            for r in s.conn.execute(
                "SELECT valueset, system, code, display FROM term_expansion WHERE tenant = ?",
                [CTX.tenant_key],
            )
        )
    assert closure and closure == sorted(
        lake.sql("SELECT system, ancestor, descendant, distance FROM term_closure").fetchall()
    )
    assert expansion and expansion == sorted(
        lake.sql("SELECT valueset, system, code, display FROM term_expansion").fetchall()
    )
    failed = lake.sql("SELECT count(*) FROM term_valueset WHERE error_code IS NOT NULL")
    assert failed.fetchall()[0][0] >= 4  # the fixtures' ValueSets that cannot be expanded


def test_an_export_without_terminology_tables(exported: Any, tmp_path: Path) -> None:
    """A layout-1 export (no terminology folder): a ValueSet is not found; a code is only
    below itself."""
    import shutil

    _, lake, folder = exported
    old = tmp_path / "v1"
    shutil.copytree(folder, old)
    shutil.rmtree(old / "terminology")
    (old / "_layout.json").write_text(json.dumps({"layout": "helios-parquet", "version": 1}))
    case = next(c for c in CASES if ":below=" in c.query and "|" in c.query and c.expect)
    system_code = case.query.split(":below=", 1)[1].split("&", 1)[0]
    with hp.open_analytics(str(old)) as v1:
        with pytest.raises(TerminologyError) as info:
            v1.search("Observation?code:in=http://example.org/vs/anything")
        assert info.value.issue_code == "not-found"
        own = {r["id"] for r in v1.search(f"Observation?code={system_code}").resources}
        below = {r["id"] for r in v1.search(f"Observation?code:below={system_code}").resources}
        assert below == own
    wider = {r["id"] for r in lake.search(f"Observation?code:below={system_code}").resources}
    assert own < wider  # (the case has descendants, so the check above can fail)
