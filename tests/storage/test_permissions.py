from __future__ import annotations

from typing import Any

import pytest

from helios_persistence.errors import Gone, NotFound, PermissionDenied
from helios_persistence.tenancy import Operation, Permissions, TenantContext

from .helpers import count_rows, observation, patient

ADMIN = TenantContext.for_tenant("acme")


def restricted(**kw) -> TenantContext:
    return TenantContext("acme", Permissions(**kw))


def test_operations_are_enforced(store: Any) -> None:
    store.update(ADMIN, patient(id="p1"))
    reader = restricted(operations=Operation.read_only())
    assert reader.permissions.allows(Operation.READ)
    assert store.read(reader, "Patient", "p1").id == "p1"
    store.history(reader, "Patient", "p1")
    for call in (
        lambda: store.create(reader, patient()),
        lambda: store.update(reader, patient(id="p1")),
        lambda: store.delete(reader, "Patient", "p1"),
        lambda: store.patch(reader, "Patient", "p1", []),
        lambda: store.delete_history(reader, "Patient", "p1"),
        lambda: store.transaction(reader, {"resourceType": "Bundle", "type": "batch"}),
    ):
        with pytest.raises(PermissionDenied):
            call()
    assert count_rows(store, ADMIN, "history") == 1
    no_vread = restricted(operations=Operation.READ)
    with pytest.raises(PermissionDenied):
        store.vread(no_vread, "Patient", "p1", "1")
    with pytest.raises(PermissionDenied):
        store.history(no_vread, "Patient", "p1")


def test_update_as_create_needs_create(store: Any) -> None:
    updater = restricted(operations=Operation.READ | Operation.UPDATE)
    with pytest.raises(PermissionDenied):
        store.update(updater, patient(id="new"))
    store.update(ADMIN, patient(id="p1"))
    assert store.update(updater, patient(id="p1", family="X")).version_id == "2"


def test_resource_types_are_enforced(store: Any) -> None:
    store.update(ADMIN, patient(id="p1"))
    store.update(ADMIN, observation("Patient/p1", id="o1"))
    only_obs = restricted(resource_types={"Observation"})
    assert store.read(only_obs, "Observation", "o1").id == "o1"
    with pytest.raises(PermissionDenied):
        store.read(only_obs, "Patient", "p1")
    with pytest.raises(PermissionDenied):
        store.create(only_obs, patient())
    with pytest.raises(PermissionDenied):
        store.history(only_obs, "Patient")
    system = store.history(only_obs)
    assert system["total"] == 1 and system["entry"][0]["resource"]["resourceType"] == "Observation"
    # a transaction touching a forbidden type is rejected whole
    with pytest.raises(PermissionDenied, match=r"Bundle.entry\[1\]"):
        store.transaction(
            only_obs,
            {
                "resourceType": "Bundle",
                "type": "transaction",
                "entry": [
                    {
                        "resource": observation("Patient/p1", id="o2"),
                        "request": {"method": "PUT", "url": "Observation/o2"},
                    },
                    {
                        "resource": patient(id="p9"),
                        "request": {"method": "PUT", "url": "Patient/p9"},
                    },
                ],
            },
        )
    assert count_rows(store, ADMIN, "resources") == 2
    # a batch only fails the forbidden entry
    out = store.transaction(
        only_obs,
        {
            "resourceType": "Bundle",
            "type": "batch",
            "entry": [
                {
                    "resource": observation("Patient/p1", id="o2"),
                    "request": {"method": "PUT", "url": "Observation/o2"},
                },
                {"resource": patient(id="p9"), "request": {"method": "PUT", "url": "Patient/p9"}},
            ],
        },
    )
    assert [e["response"]["status"] for e in out["entry"]] == ["201 Created", "403 Forbidden"]
    assert out["entry"][1]["response"]["outcome"]["issue"][0]["code"] == "forbidden"


@pytest.fixture
def clinic(store: Any) -> Any:
    store.update(ADMIN, patient(id="123"))
    store.update(ADMIN, patient(id="999"))
    store.update(ADMIN, observation("Patient/123", id="mine"))
    store.update(ADMIN, observation("Patient/999", id="theirs"))
    store.update(ADMIN, {"resourceType": "Organization", "id": "org", "name": "Org"})
    return store


PATIENT_123 = restricted(compartment=("Patient", "123"))


def test_compartment_reads(clinic: Any) -> None:
    assert clinic.read(PATIENT_123, "Patient", "123").id == "123"
    assert clinic.read(PATIENT_123, "Observation", "mine").id == "mine"
    assert clinic.vread(PATIENT_123, "Observation", "mine", "1").id == "mine"
    # outside the compartment is indistinguishable from nonexistent
    for rtype, rid in (("Patient", "999"), ("Observation", "theirs"), ("Organization", "org")):
        with pytest.raises(NotFound):
            clinic.read(PATIENT_123, rtype, rid)
        with pytest.raises(NotFound):
            clinic.vread(PATIENT_123, rtype, rid, "1")


def test_compartment_writes(clinic: Any) -> None:
    created = clinic.create(PATIENT_123, observation("Patient/123"))
    assert clinic.read(ADMIN, "Observation", created.id).id == created.id
    with pytest.raises(PermissionDenied):
        clinic.create(PATIENT_123, observation("Patient/999"))
    with pytest.raises(PermissionDenied):  # moving another patient's resource in is denied
        clinic.update(PATIENT_123, observation("Patient/123", id="theirs"))
    with pytest.raises(PermissionDenied):  # moving one's own resource out is denied
        clinic.update(PATIENT_123, observation("Patient/999", id="mine"))
    assert clinic.delete(PATIENT_123, "Observation", "theirs") is None  # as if it did not exist
    with pytest.raises(NotFound):
        clinic.patch(PATIENT_123, "Observation", "theirs", [])
    with pytest.raises(PermissionDenied):
        clinic.create(PATIENT_123, {"resourceType": "Organization", "name": "x"})
    assert clinic.read(ADMIN, "Observation", "theirs").version_id == "1"
    assert clinic.read(ADMIN, "Observation", "mine").version_id == "1"
    clinic.delete(PATIENT_123, "Observation", "mine")
    with pytest.raises(Gone):
        clinic.read(PATIENT_123, "Observation", "mine")
    clinic.delete(ADMIN, "Observation", "theirs")
    with pytest.raises(NotFound):  # not even whether it was deleted
        clinic.read(PATIENT_123, "Observation", "theirs")


def test_compartment_history(clinic: Any) -> None:
    clinic.delete(ADMIN, "Observation", "mine")
    system = clinic.history(PATIENT_123)
    refs = sorted({e["fullUrl"] for e in system["entry"]})
    assert refs == ["Observation/mine", "Patient/123"]
    assert system["total"] == 3  # Patient v1, Observation v1 and its deletion
    assert clinic.history(PATIENT_123, "Observation", count=1)["total"] == 2
    with pytest.raises(NotFound):
        clinic.history(PATIENT_123, "Observation", "theirs")
