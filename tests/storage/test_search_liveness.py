"""Chains and ``_has`` see live resources only: a deleted target or source stops matching, a
revived one matches again (the compiled query reads a nested parameter match from its index
rows alone, which exist only for live resources)."""

from __future__ import annotations

from typing import Any

import pytest

from helios_persistence.tenancy import TenantContext

from .helpers import observation, patient

SNOMED = "http://snomed.info/sct"


def _condition(id: str, subject: str, code: str) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "id": id,
        "code": {"coding": [{"system": SNOMED, "code": code}]},
        "subject": {"reference": subject},
    }


def _ids(store: Any, ctx: TenantContext, query: str) -> set[str]:
    return {r["id"] for r in store.search(ctx, query).resources}


def _load(store: Any, ctx: TenantContext) -> dict[tuple[str, str], dict[str, Any]]:
    resources = [
        {"resourceType": "Organization", "id": "org1", "name": "Acme"},
        patient(id="p1", family="Smith", managingOrganization={"reference": "Organization/org1"}),
        patient(id="p2", family="Jones"),
        observation("Patient/p1", id="o1"),
        observation("Patient/p2", id="o2"),
        _condition("c1", "Patient/p1", "44054006"),
    ]
    for resource in resources:
        store.update(ctx, resource)
    return {(r["resourceType"], r["id"]): r for r in resources}


@pytest.mark.parametrize(
    ("query", "gone", "expected"),
    [
        ("Observation?subject:Patient.name=smith", ("Patient", "p1"), {"o1"}),
        ("Observation?subject:Patient.name=smith&code=http://loinc.org|8867-4", ("Patient", "p1"),
         {"o1"}),
        ("Observation?subject:Patient.organization.name=acme", ("Organization", "org1"), {"o1"}),
        ("Observation?subject:Patient.organization.name=acme", ("Patient", "p1"), {"o1"}),
        ("Patient?_has:Condition:patient:code=http://snomed.info/sct|44054006",
         ("Condition", "c1"), {"p1"}),
        ("Patient?_has:Observation:subject:code=http://loinc.org|8867-4&name=smith",
         ("Observation", "o1"), {"p1"}),
    ],
)  # fmt: skip
def test_nested_matches_follow_deletes(
    store: Any, ctx: TenantContext, query: str, gone: tuple[str, str], expected: set[str]
) -> None:
    loaded = _load(store, ctx)
    assert _ids(store, ctx, query) == expected
    store.delete(ctx, *gone)  # a resource the match goes through: nothing is found through it
    assert _ids(store, ctx, query) == set()
    store.update(ctx, loaded[gone])  # and it comes back
    assert _ids(store, ctx, query) == expected
