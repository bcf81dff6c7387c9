"""No operation crosses tenants, in every tenancy strategy of every backend that has several
(``tstore``: SQLite shared and a database per tenant, in memory and in files; PostgreSQL
shared schema, a schema per tenant, a database per tenant)."""

from __future__ import annotations

from typing import Any

import pytest

from helios_persistence.errors import NotFound
from helios_persistence.tenancy import TenantContext

from .helpers import observation, patient

A = TenantContext.for_tenant("acme")
B = TenantContext.for_tenant("globex")
CHILD = TenantContext.for_tenant("acme/research")


def test_same_ids_stay_separate(tstore: Any) -> None:
    tstore.update(A, patient(id="p1", family="A-family"))
    tstore.update(B, patient(id="p1", family="B-family"))
    tstore.update(B, patient(id="p1", family="B-family-2"))
    assert tstore.read(A, "Patient", "p1").resource["name"][0]["family"] == "A-family"
    assert tstore.read(B, "Patient", "p1").resource["name"][0]["family"] == "B-family-2"
    assert tstore.read(A, "Patient", "p1").version_id == "1"
    with pytest.raises(NotFound):
        tstore.read(CHILD, "Patient", "p1")  # a child tenant is a different tenant
    assert tstore.history(A, "Patient", "p1")["total"] == 1
    assert tstore.history(B, "Patient", "p1")["total"] == 2
    assert tstore.history(A)["total"] == 1 and tstore.history(B, "Patient")["total"] == 2
    with pytest.raises(NotFound):
        tstore.vread(A, "Patient", "p1", "2")


def test_writes_and_deletes_stay_separate(tstore: Any) -> None:
    tstore.update(A, patient(id="p1"))
    tstore.update(B, patient(id="p1"))
    tstore.delete(A, "Patient", "p1")
    assert tstore.read(B, "Patient", "p1").version_id == "1"
    tstore.update(B, patient(id="p2"))
    tstore.update(B, patient(id="p2"))
    tstore.update(A, patient(id="p2"))
    tstore.delete_history(B, "Patient", "p2")
    assert tstore.history(A, "Patient", "p2")["total"] == 1
    assert tstore.history(B, "Patient", "p2")["total"] == 1
    tstore.update(B, patient(id="only-in-b"))
    with pytest.raises(NotFound):
        tstore.delete_history(A, "Patient", "only-in-b")
    with pytest.raises(NotFound):
        tstore.patch(A, "Patient", "only-in-b", [])
    assert tstore.delete(A, "Patient", "only-in-b") is None
    assert tstore.read(B, "Patient", "only-in-b").version_id == "1"
    # transactions are tenant-scoped too
    tstore.transaction(
        A,
        {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [
                {"request": {"method": "DELETE", "url": "Patient/p2"}},
                {
                    "resource": observation("Patient/p2", id="o1"),
                    "request": {"method": "PUT", "url": "Observation/o1"},
                },
            ],
        },
    )
    assert tstore.read(B, "Patient", "p2").version_id == "2"
    with pytest.raises(NotFound):
        tstore.read(B, "Observation", "o1")
    assert sorted(str(t) for t in tstore.tenants()) == ["acme", "globex"]
