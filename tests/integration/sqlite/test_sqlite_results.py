"""Search results as people use them: Bundles with absolute links, page iteration, Arrow and
pandas (the PostgreSQL module runs these same tests)."""

from __future__ import annotations

import json
import pickle
import sys
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helios_persistence.errors import InvalidSearch, MissingDependency
from helios_persistence.results import SearchResult
from helios_persistence.tenancy import TenantContext

BASE = "https://fhir.example.org/r4"


def _patients(store: Any, ctx: TenantContext, n: int, prefix: str = "p") -> list[str]:
    ids = [f"{prefix}{i:03d}" for i in range(n)]
    for i, rid in enumerate(ids):
        store.update(ctx, {"resourceType": "Patient", "id": rid, "birthDate": f"{1950 + i}"})
    return ids


def test_bundle_links_are_absolute_with_a_base_url(store: Any, ctx: TenantContext) -> None:
    store.base_url = BASE
    _patients(store, ctx, 3)
    page = store.search(ctx, "Patient?_count=2&_sort=_id")
    bundle = page.to_bundle()
    assert [e["fullUrl"] for e in bundle["entry"]] == [
        f"{BASE}/Patient/p000",
        f"{BASE}/Patient/p001",
    ]
    links = {link["relation"]: link["url"] for link in bundle["link"]}
    assert links["self"] == f"{BASE}/Patient?_count=2&_sort=_id"
    assert links["next"] == page.next_url and page.next_url.startswith(f"{BASE}/Patient?")
    # the absolute next link is accepted back, and so is the relative one
    second = store.search(ctx, links["next"])
    assert second.ids == ["Patient/p002"] and store.search(ctx, page.next).ids == second.ids
    assert second.next is None and "next" not in {x["relation"] for x in second.to_bundle()["link"]}
    with pytest.raises(InvalidSearch, match="not under this store's base URL"):
        store.search(ctx, "https://elsewhere.example/fhir/Patient?_count=2")


def test_bundle_links_are_relative_without_a_base_url(store: Any, ctx: TenantContext) -> None:
    store.base_url = None
    _patients(store, ctx, 2)
    page = store.search(ctx, "Patient?_count=1")
    bundle = page.to_bundle()
    assert bundle["entry"][0]["fullUrl"] == "Patient/" + page.resources[0]["id"]
    assert page.next_url == page.next
    with pytest.raises(InvalidSearch, match="none set"):
        store.search(ctx, f"{BASE}/Patient")
    # an explicit base wins for one rendering
    assert page.to_bundle(BASE)["entry"][0]["fullUrl"].startswith(BASE + "/Patient/")


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    n=st.integers(0, 23),
    size=st.integers(1, 7),
    sort=st.sampled_from(["", "&_sort=-birthdate", "&_sort=_id"]),
)
def test_pages_and_iteration_visit_every_match_once(
    store: Any, ctx: TenantContext, n: int, size: int, sort: str
) -> None:
    prefix = f"n{n}s{size}x{len(sort)}x"
    ids = _patients(store, ctx, n, prefix)
    query = f"Patient?_id={','.join(ids) or 'none'}&_count={size}{sort}"
    pages = list(store.search_pages(ctx, query))
    assert all(isinstance(p, SearchResult) for p in pages)
    assert len(pages) == max(1, -(-n // size))
    seen = [r["id"] for r in store.iter_search(ctx, query)]
    assert sorted(seen) == ids and len(seen) == len(set(seen))
    assert seen == [r["id"] for p in pages for r in p]  # a page iterates over its matches
    if sort == "&_sort=_id":
        assert seen == ids


def test_a_page_as_stored_is_read_on_demand_and_pickles(store: Any, ctx: TenantContext) -> None:
    """``stored`` (built when first read) matches the page whether read before or after a
    pickle round trip."""
    ids = _patients(store, ctx, 3)
    pages = [store.search(ctx, "Patient?_count=2&_sort=_id") for _ in range(2)]
    copied = pickle.loads(pickle.dumps(pages[0]))  # pickled before ``stored`` was read
    for page in (pages[1], copied):
        assert [s.reference for s in page.stored] == page.ids == [f"Patient/{i}" for i in ids[:2]]
        assert [s.resource for s in page.stored] == page.resources
        assert [s.version_id for s in page.stored] == ["1", "1"]
    assert page.stored is page.stored  # built once


def test_to_arrow_and_to_pandas(store: Any, ctx: TenantContext) -> None:
    pa = pytest.importorskip("pyarrow")
    pytest.importorskip("pandas")
    _patients(store, ctx, 2)
    store.update(
        ctx,
        {
            "resourceType": "Observation",
            "id": "o",
            "status": "final",
            "code": {"text": "x"},
            "subject": {"reference": "Patient/p000"},
        },
    )
    page = store.search(ctx, "Observation?_include=Observation:subject")
    table = page.to_arrow()
    assert table.column_names == ["id", "type", "lastUpdated", "resource"]
    assert table.schema.field("lastUpdated").type == pa.timestamp("us", tz="UTC")
    row = table.to_pylist()[0]
    assert (row["id"], row["type"]) == ("o", "Observation")
    assert json.loads(row["resource"]) == page.resources[0]
    stored = store.read(ctx, "Observation", "o")
    assert row["lastUpdated"] == stored.last_updated
    both = page.to_arrow(included=True)
    assert both.column("mode").to_pylist() == ["match", "include"]
    assert both.column("id").to_pylist() == ["o", "p000"]
    frame = page.to_pandas(included=True)
    assert list(frame.columns) == ["id", "type", "lastUpdated", "resource", "mode"]
    assert list(frame["type"]) == ["Observation", "Patient"]
    assert str(frame["lastUpdated"].dtype) == "datetime64[us, UTC]"


def test_missing_pyarrow_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # "import pyarrow" now fails
    monkeypatch.setitem(sys.modules, "pandas", None)
    result = SearchResult(resources=[{"resourceType": "Patient", "id": "a"}])
    for convert in (result.to_arrow, result.to_pandas):
        with pytest.raises(MissingDependency, match=r"helios-persistence\[analytics\]"):
            convert()
