"""``open_analytics`` pages like the store it was exported from: the DuckDB page statements
(the page's ids first, then its rows; a page and its includes in one statement) on every
page of searches that page by cursor and by offset, with includes, over an export written
in small chunks (several files per type, whose typed columns differ)."""

from __future__ import annotations

from typing import Any

import pyarrow.parquet as pq
import pytest

import helios_persistence as hp
from helios_persistence.analytics import bulk
from helios_persistence.generator import generate

pytest.importorskip("duckdb")

CTX = hp.TenantContext.for_tenant("acme")

QUERIES = [
    # a token drives the page (keyset cursor in the next links), includes inline
    "Observation?code=http://loinc.org|8867-4&_count=3&_include=Observation:patient",
    # a date range (a union of index subqueries) drives the page
    "Observation?date=ge2015&date=lt2030&_count=4",
    # an offset with includes: only the page's own rows' references are followed
    "Observation?date=ge2015&date=lt2030&_count=4&_offset=5&_include=Observation:patient",
    "Observation?code=http://loinc.org|8867-4&_count=1&_offset=2&_include=Observation:performer"
    "&_include=Observation:encounter",
    "Observation?subject:Patient.gender=female&_count=6&_offset=2&_include=Observation:performer",
    # a reverse chain drives the page by the referenced ids
    "Patient?_has:Observation:subject:code=http://loinc.org|8867-4&_count=2",
    # the page's keys first (no index subquery; an order by a column)
    "Observation?_count=7&_sort=_lastUpdated",
    "Encounter?_count=2&_offset=3&_sort=-_id&_revinclude=Observation:encounter",
    "Patient?_count=2&_revinclude=Observation:subject&_include=Patient:organization",
    # a system search: (type, id) keys
    "?_type=Patient,Condition&_count=4",
    # an order by a parameter's value keeps the plain statement
    "Observation?code=http://loinc.org|8867-4&_sort=-date&_count=5",
]


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Any:
    folder = tmp_path_factory.mktemp("lake-pages")
    store = hp.open_store(f"sqlite:///{folder / 'store.db'}")
    store.bulk_load(CTX, list(generate(patients=4, seed=11)))
    for i in range(3):  # (elements no generated Observation has: a file of their own columns)
        store.update(CTX, {
            "resourceType": "Observation", "id": f"zz-{i}", "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
            "subject": {"reference": "Patient/p-000001"}, "valueString": "high",
            "note": [{"text": "checked twice"}], "effectiveDateTime": f"202{i}-01-02",
        })  # fmt: skip
    patch = pytest.MonkeyPatch()
    patch.setattr(bulk, "CHUNK", 16)  # several files per type, with different columns
    try:
        job = store.export(CTX, destination=str(folder / "export")).wait()
    finally:
        patch.undo()
    assert job.status == "completed", job.error
    lake = hp.open_analytics(str(folder / "export"))
    yield store, lake, folder / "export"
    lake.close()
    store.close()


def _pages(search: Any, query: str) -> list[tuple[list[str], list[str]]]:
    pages = []
    next_query: str | None = query
    while next_query:
        result = search(next_query)
        pages.append(
            (
                [f"{r['resourceType']}/{r['id']}" for r in result.resources],
                sorted(f"{r['resourceType']}/{r['id']}" for r in result.included),
            )
        )
        next_query = result.next
        assert len(pages) < 100, "the pages do not end"
    return pages


@pytest.mark.parametrize("query", QUERIES)
def test_every_page_equals_the_stores(exported: Any, query: str) -> None:
    store, lake, _ = exported
    ours = _pages(lake.search, query)
    assert ours == _pages(lambda q: store.search(CTX, q), query)
    assert sum(len(ids) for ids, _ in ours) > 0  # (a query that matches nothing proves little)


def test_typed_views_unite_files_with_different_columns(exported: Any) -> None:
    store, lake, folder = exported
    files = sorted((folder / "resources" / "type=Observation").glob("*.parquet"))
    columns = {tuple(pq.read_schema(f).names) for f in files}
    assert len(files) > 1 and len(columns) > 1  # (else this test tests nothing)
    count = store.search(CTX, "Observation?_summary=count").total
    assert lake.sql("SELECT count(*) FROM observation").fetchall() == [(count,)]
    with_value = lake.sql(
        "SELECT count(*) FROM observation WHERE valueQuantity IS NOT NULL"
    ).fetchall()[0][0]
    assert (
        with_value
        == store.search(CTX, "Observation?value-quantity:missing=false&_summary=count").total
    )
