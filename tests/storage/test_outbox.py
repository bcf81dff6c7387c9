"""The outbox a primary writes with every commit, read back for secondaries (storage.sync)."""

from __future__ import annotations

from typing import Any

import pytest

from helios_persistence.storage.protocols import Capability, capabilities_of
from helios_persistence.storage.sync import OutboxReader
from helios_persistence.tenancy import Permissions, TenantContext

A = TenantContext.for_tenant("acme")
B = TenantContext.for_tenant("globex")


def test_every_commit_is_announced_in_order_with_its_version(store: Any) -> None:
    assert isinstance(store, OutboxReader) and Capability.OUTBOX in capabilities_of(store)
    store.update(A, {"resourceType": "Patient", "id": "p1", "gender": "female"})
    store.update(A, {"resourceType": "Patient", "id": "p1", "gender": "male"})
    store.update(B, {"resourceType": "Patient", "id": "p1", "gender": "other"})
    store.delete(A, "Patient", "p1")
    store.transaction(A, {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": {"resourceType": "Patient", "id": "p2"},
         "request": {"method": "PUT", "url": "Patient/p2"}},
    ]})  # fmt: skip
    changes = store.read_outbox(A)
    assert [(c.id, c.version, c.operation) for c in changes] == [
        ("p1", 1, "upsert"), ("p1", 2, "upsert"), ("p1", 3, "delete"), ("p2", 1, "upsert"),
    ]  # fmt: skip
    assert [c.resource["gender"] for c in changes[:2]] == ["female", "male"]  # type: ignore[index]
    assert changes[2].resource is None
    assert all(c.tenant == "acme" for c in changes)
    assert [c.seq for c in changes] == sorted(c.seq for c in changes)
    assert [(c.id, c.resource["gender"]) for c in store.read_outbox(B)] == [("p1", "other")]  # type: ignore[index]


def test_paging_and_trimming(store: Any) -> None:
    for i in range(7):
        store.update(A, {"resourceType": "Patient", "id": f"p{i}"})
    first = store.read_outbox(A, limit=3)
    rest = store.read_outbox(A, after=first[-1].seq)
    assert [c.id for c in first + rest] == [f"p{i}" for i in range(7)]
    store.trim_outbox(A, first[-1].seq)
    assert [c.id for c in store.read_outbox(A)] == [f"p{i}" for i in range(3, 7)]


def test_bad_positions_and_permissions(store: Any) -> None:
    with pytest.raises(ValueError):
        store.read_outbox(A, after=-1)
    with pytest.raises(ValueError):
        store.read_outbox(A, limit=0)
    from helios_persistence.errors import PermissionDenied
    from helios_persistence.tenancy import Operation

    reader = TenantContext("acme", Permissions(operations=Operation.READ))
    assert store.read_outbox(reader) == []
    with pytest.raises(PermissionDenied):
        store.trim_outbox(reader, 10)
