"""Searches under restricted contexts page and count only what the context may see.

The restriction is part of the query (``pipeline.restrict``), so a page is full whenever more
permitted matches exist and ``_total`` counts permitted matches only: a compartment-restricted
context learns nothing about resources outside its compartment. Checked against the reference
evaluator over the permitted resources alone, on every backend.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helios_persistence.conformance.evaluator import Evaluator
from helios_persistence.errors import PermissionDenied
from helios_persistence.tenancy import Permissions, TenantContext

TENANT = "clinic"
FULL = TenantContext.for_tenant(TENANT)


def _world(store: Any) -> list[dict[str, Any]]:
    """Three patients with 20, 7 and 5 Observations (one per patient also as performer)."""
    stored = []
    for pid, count in (("p1", 20), ("p2", 7), ("p3", 5)):
        stored.append(store.update(FULL, {"resourceType": "Patient", "id": pid}).resource)
        for i in range(count):
            obs = {
                "resourceType": "Observation",
                "id": f"{pid}-o{i}",
                "status": "final" if i % 3 else "amended",
                "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
                "subject": {"reference": f"Patient/{pid}"},
                "effectiveDateTime": f"2021-01-{i + 1:02d}",
            }
            stored.append(store.update(FULL, obs).resource)
    return stored


def _pages(store: Any, ctx: TenantContext, query: str) -> tuple[list[list[str]], int | None]:
    pages, total, result = [], None, store.search(ctx, query)
    while True:
        pages.append([r["id"] for r in result.resources])
        total = result.total if total is None else total
        if result.next is None:
            return pages, total
        result = store.search(ctx, result.next)


def _in_compartment(resource: dict[str, Any], owner: str) -> bool:
    if resource["resourceType"] == "Patient":
        return resource["id"] == owner
    return resource.get("subject", {}).get("reference") == f"Patient/{owner}"


QUERIES = [
    "Observation?code=http://loinc.org|8867-4&_count=3&_total=accurate",
    "Observation?status=final&_count=4&_total=accurate&_sort=date",
    "Observation?_count=5&_total=accurate&_sort=-_lastUpdated",
    "Observation?date=ge2021-01-03&_count=2&_total=accurate",
    "Patient?_count=1&_total=accurate",
]


@pytest.mark.parametrize("query", QUERIES)
def test_compartment_pages_are_full_and_totals_exact(store: Any, query: str) -> None:
    permitted = [r for r in _world(store) if _in_compartment(r, "p1")]
    ctx = TenantContext(TENANT, Permissions(compartment=("Patient", "p1")))
    pages, total = _pages(store, ctx, query)
    expected = [r.id for r in Evaluator(permitted).select(Evaluator().parse(query))]
    assert [i for page in pages for i in page] == expected
    assert total == len(expected)
    size = int(query.split("_count=")[1].split("&")[0])
    assert all(len(page) == size for page in pages[:-1]), pages
    assert all("p1" in i for page in pages for i in page)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(owner=st.sampled_from(["p1", "p2", "p3", "nobody"]), count=st.integers(1, 6))
def test_compartment_total_never_counts_other_patients(store: Any, owner: str, count: int) -> None:
    if store.search(FULL, "Patient?_summary=count").total == 0:  # the world, once per store
        _world(store)
    every = store.search(FULL, "Observation?_count=1000").resources
    ctx = TenantContext(TENANT, Permissions(compartment=("Patient", owner)))
    pages, total = _pages(store, ctx, f"Observation?_count={count}&_total=accurate")
    mine = sorted(r["id"] for r in every if _in_compartment(r, owner))
    assert sorted(i for page in pages for i in page) == mine
    assert total == len(mine)


def test_type_restriction_is_checked_before_anything_runs(store: Any) -> None:
    _world(store)
    ctx = TenantContext(TENANT, Permissions(resource_types=frozenset({"Observation"})))
    with pytest.raises(PermissionDenied):
        store.search(ctx, "Patient?_id=p1")
    with pytest.raises(PermissionDenied):
        store.search(ctx, "?_id=p1")  # a system search must name its permitted types
    found = store.search(ctx, "Observation?_count=2&_include=Observation:subject&_total=accurate")
    assert found.total == 32 and len(found.resources) == 2
    assert found.included == []  # Patients are not this context's to see


def test_included_resources_outside_the_compartment_are_dropped_as_stored_too(
    store: Any,
) -> None:
    """``included`` and ``included_stored`` (the same resources as stored text) agree: what
    the context may not see leaves both."""
    _world(store)
    store.update(
        FULL,
        {
            "resourceType": "Observation", "id": "p1-seen-by-p2", "status": "final",
            "code": {"text": "x"}, "subject": {"reference": "Patient/p1"},
            "performer": [{"reference": "Patient/p2"}],
        },
    )  # fmt: skip
    query = "Observation?_id=p1-seen-by-p2&_include=Observation:performer"
    ctx = TenantContext(TENANT, Permissions(compartment=("Patient", "p1")))
    for context, shown in ((FULL, ["Patient/p2"]), (ctx, [])):
        found = store.search(context, query)
        assert [s.reference for s in found.stored] == found.ids == ["Observation/p1-seen-by-p2"]
        assert [f"{r['resourceType']}/{r['id']}" for r in found.included] == shown
        assert [s.reference for s in found.included_stored] == shown
