"""Isolation on every path (issue 12): what a restricted context may touch, on every backend.

A type-restricted context never reads another type's data, through a chain, ``_has``,
``_list``, ``_filter``, conditional criteria or a transaction's conditional reference; its
includes leave the forbidden types out; ``reindex`` with no type touches only its types.
A compartment-restricted context cannot tell a resource outside its compartment from one
that does not exist. (Runs on every backend: tests/storage.)
"""

from __future__ import annotations

from typing import Any

import pytest

from helios_persistence.errors import NotFound, PermissionDenied, VersionConflict
from helios_persistence.tenancy import Operation, Permissions, TenantContext

from .helpers import count_rows, observation, patient

ADMIN = TenantContext.for_tenant("acme")
OBS_ONLY = TenantContext("acme", Permissions(resource_types=frozenset({"Observation"})))
PATIENT_123 = TenantContext("acme", Permissions(compartment=("Patient", "123")))


@pytest.fixture
def secrets(store: Any) -> Any:
    store.update(ADMIN, patient(id="p1", family="Secret"))
    store.update(ADMIN, observation("Patient/p1", id="o1"))
    store.update(
        ADMIN,
        {
            "resourceType": "List",
            "id": "l1",
            "status": "current",
            "mode": "working",
            "entry": [{"item": {"reference": "Observation/o1"}}],
        },
    )
    store.update(
        ADMIN,
        {
            "resourceType": "DiagnosticReport",
            "id": "d1",
            "status": "final",
            "code": {"text": "x"},
            "result": [{"reference": "Observation/o1"}],
        },
    )
    return store


@pytest.mark.parametrize(
    "query",
    [
        "Observation?subject:Patient.name=Secret",
        "Observation?patient.name=Secret",
        "Observation?_has:DiagnosticReport:result:status=final",
        "Observation?_list=l1",
        "Observation?_filter=patient.name eq Secret",
        "Observation?code=8867-4&_filter=status eq final or patient.family eq Secret",
    ],
)
def test_type_restricted_search_cannot_read_other_types(secrets: Any, query: str) -> None:
    assert secrets.search(ADMIN, query).resources  # the query does find o1 ...
    with pytest.raises(PermissionDenied) as info:  # ... but not for an Observation-only context
        secrets.search(OBS_ONLY, query)
    assert info.value.outcome["issue"][0]["code"] == "forbidden"


def test_type_restricted_includes_leave_forbidden_types_out(secrets: Any) -> None:
    result = secrets.search(
        OBS_ONLY, "Observation?_include=Observation:subject&_revinclude=DiagnosticReport:result"
    )
    assert [r["id"] for r in result.resources] == ["o1"]
    assert result.included == []
    both = TenantContext("acme", Permissions(resource_types=frozenset({"Observation", "Patient"})))
    result = secrets.search(
        both, "Observation?_include=Observation:subject&_revinclude=DiagnosticReport:result"
    )
    assert [r["id"] for r in result.included] == ["p1"]


def test_conditional_criteria_check_the_types_they_read(secrets: Any) -> None:
    sneaky = "subject:Patient.name=Secret"
    for call in (
        lambda: secrets.create(OBS_ONLY, observation("Patient/p1"), if_none_exist=sneaky),
        lambda: secrets.update_conditional(OBS_ONLY, observation("Patient/p1"), sneaky),
        lambda: secrets.delete_conditional(OBS_ONLY, "Observation", sneaky),
        lambda: secrets.patch_conditional(OBS_ONLY, "Observation", sneaky, []),
    ):
        with pytest.raises(PermissionDenied):
            call()
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "resource": observation("Patient?name=Secret", id="o9"),
                "request": {"method": "PUT", "url": "Observation/o9"},
            }
        ],
    }
    with pytest.raises(PermissionDenied):
        secrets.transaction(OBS_ONLY, bundle)
    assert count_rows(secrets, ADMIN, "resources", type="Observation") == 1
    assert secrets.transaction(ADMIN, bundle)["entry"][0]["response"]["status"] == "201 Created"
    stored = secrets.read(ADMIN, "Observation", "o9").resource
    assert stored["subject"]["reference"] == "Patient/p1"


def test_reindex_without_type_touches_only_permitted_types(secrets: Any) -> None:
    ctx = TenantContext("acme", Permissions(resource_types=frozenset({"Observation", "List"})))
    progress = secrets.reindex(ctx)
    assert progress.finished and progress.done == 2  # o1 and l1, not p1 nor d1
    assert secrets.reindex(ADMIN).done == 4
    with pytest.raises(PermissionDenied):
        secrets.reindex(PATIENT_123)  # a count of the tenant's resources is not for it


@pytest.fixture
def clinic(store: Any) -> Any:
    store.update(ADMIN, patient(id="123"))
    store.update(ADMIN, patient(id="999"))
    store.update(ADMIN, observation("Patient/123", id="mine"))
    store.update(ADMIN, observation("Patient/999", id="theirs"))
    return store


def _failure(call: Any) -> tuple[type, str]:
    with pytest.raises(Exception) as info:
        call()
    return type(info.value), str(info.value).replace("theirs", "ID").replace("nobody", "ID")


def test_outside_the_compartment_is_indistinguishable_from_nonexistent(clinic: Any) -> None:
    pairs = [
        (lambda rid: clinic.update(PATIENT_123, observation("Patient/123", id=rid), if_match="1")),
        (lambda rid: clinic.read(PATIENT_123, "Observation", rid)),
        (lambda rid: clinic.vread(PATIENT_123, "Observation", rid, "1")),
        (lambda rid: clinic.patch(PATIENT_123, "Observation", rid, [])),
        (lambda rid: clinic.history(PATIENT_123, "Observation", rid)),
        (lambda rid: clinic.delete_history(PATIENT_123, "Observation", rid)),
    ]
    for call in pairs:
        outside = _failure(lambda: call("theirs"))  # noqa: B023
        missing = _failure(lambda: call("nobody"))  # noqa: B023
        assert outside == missing
        assert outside[0] in (NotFound, VersionConflict)
    assert clinic.delete(PATIENT_123, "Observation", "theirs") is None  # as for "nobody"
    assert clinic.read(ADMIN, "Observation", "theirs").version_id == "1"
    # a compartment-restricted conditional never matches outside the compartment
    assert (
        clinic.update_conditional(PATIENT_123, observation("Patient/123"), "_id=theirs").id
        != "theirs"
    )
    assert clinic.read(ADMIN, "Observation", "theirs").version_id == "1"


def test_read_only_context_is_still_read_only(clinic: Any) -> None:
    reader = TenantContext("acme", Permissions(operations=Operation.read_only()))
    with pytest.raises(PermissionDenied):
        clinic.reindex(reader)


def test_compartment_chains_and_has_stay_in_the_compartment(clinic: Any) -> None:
    clinic.update(ADMIN, patient(id="999", family="Secret"))
    clinic.update(ADMIN, {"resourceType": "Practitioner", "id": "doc", "name": [{"family": "X"}]})
    clinic.update(
        ADMIN,
        observation(
            "Patient/123",
            id="mine",
            performer=[{"reference": "Patient/999"}, {"reference": "Practitioner/doc"}],
        ),
    )
    clinic.update(
        ADMIN,
        observation("Patient/999", id="theirs", hasMember=[{"reference": "Observation/mine"}]),
    )
    leaks = [
        "Observation?performer:Patient.name=Secret",  # a chain to a patient outside
        "Observation?_has:Observation:has-member:subject=Patient/999",  # _has from outside
    ]
    for query in leaks:
        assert clinic.search(ADMIN, query).ids == ["Observation/mine"], query
        assert clinic.search(PATIENT_123, query).ids == [], query
    for query in ("Observation?performer:Practitioner.name=X", "Patient?organization.name=X"):
        with pytest.raises(PermissionDenied):  # types never in the compartment
            clinic.search(PATIENT_123, query)
    assert clinic.search(PATIENT_123, "Observation?subject:Patient.name=Smith").ids == [
        "Observation/mine"
    ]


def test_compartment_total_and_pages(clinic: Any) -> None:
    """Observation has two compartment parameters (subject, performer): the compartment is a
    predicate of the query, so the total and the pages count only what the context sees."""
    for i in range(3):  # other patients' observations, sorting before "mine"
        clinic.update(ADMIN, observation("Patient/999", id=f"a{i}"))
    result = clinic.search(PATIENT_123, "Observation?_total=accurate&_count=1")
    assert result.total == 1  # not 5: the other patient's observations do not exist here
    assert result.ids == ["Observation/mine"]  # the first page is not empty


def test_a_reference_to_another_server_is_not_in_the_compartment(clinic: Any) -> None:
    foreign = observation("http://elsewhere.example/fhir/Patient/123", id="foreign")
    clinic.update(ADMIN, foreign)
    with pytest.raises(NotFound):  # another server's Patient/123 is not this patient
        clinic.read(PATIENT_123, "Observation", "foreign")
    with pytest.raises(PermissionDenied):
        clinic.create(PATIENT_123, observation("http://elsewhere.example/fhir/Patient/123"))
    result = clinic.search(PATIENT_123, "Observation?_revinclude=Observation:has-member")
    assert "Observation/foreign" not in result.ids
