"""Conditional operations, conditional references and search: they need the search module."""

from __future__ import annotations

from typing import Any

import pytest

from helios_persistence.errors import (
    InvalidResource,
    NotFound,
    PermissionDenied,
    PreconditionFailed,
)
from helios_persistence.tenancy import Operation, Permissions, TenantContext

from .helpers import count_rows, observation, patient

OTHER = TenantContext.for_tenant("other")


def ident(value: str) -> dict[str, Any]:
    return {"identifier": [{"system": "http://ids", "value": value}]}


def test_conditional_create(store: Any, ctx: TenantContext) -> None:
    first = store.create(ctx, patient(**ident("1")), if_none_exist="identifier=http://ids|1")
    again = store.create(ctx, patient(**ident("1")), if_none_exist="identifier=http://ids|1")
    assert again.id == first.id and again.version_id == "1"
    assert count_rows(store, ctx, "resources") == 1
    # another tenant does not see the match
    mine = store.create(OTHER, patient(**ident("1")), if_none_exist="identifier=http://ids|1")
    assert mine.id != first.id
    store.create(ctx, patient(**ident("1")))
    with pytest.raises(PreconditionFailed):
        store.create(ctx, patient(**ident("1")), if_none_exist="identifier=http://ids|1")


def test_conditional_update(store: Any, ctx: TenantContext) -> None:
    created = store.update_conditional(ctx, patient(**ident("7")), "identifier=http://ids|7")
    assert created.version_id == "1"
    updated = store.update_conditional(
        ctx, patient(family="New", **ident("7")), "identifier=http://ids|7"
    )
    assert (updated.id, updated.version_id) == (created.id, "2")
    with_id = store.update_conditional(
        ctx, patient(id="given", **ident("8")), "identifier=http://ids|8"
    )
    assert with_id.id == "given"
    with pytest.raises(InvalidResource):
        store.update_conditional(ctx, patient(id="wrong", **ident("7")), "identifier=http://ids|7")
    store.create(ctx, patient(**ident("7")))
    with pytest.raises(PreconditionFailed):
        store.update_conditional(ctx, patient(**ident("7")), "identifier=http://ids|7")


def test_conditional_delete_and_patch(store: Any, ctx: TenantContext) -> None:
    a = store.create(ctx, patient(**ident("a")))
    patched = store.patch_conditional(
        ctx,
        "Patient",
        "identifier=http://ids|a",
        [{"op": "add", "path": "/gender", "value": "male"}],
    )
    assert (patched.id, patched.version_id) == (a.id, "2")
    with pytest.raises(NotFound):
        store.patch_conditional(ctx, "Patient", "identifier=http://ids|none", [])
    assert store.delete_conditional(ctx, "Patient", "identifier=http://ids|none") is None
    deleted = store.delete_conditional(ctx, "Patient", "identifier=http://ids|a")
    assert deleted is not None and deleted.id == a.id and deleted.deleted
    store.create(ctx, patient(**ident("b")))
    store.create(ctx, patient(**ident("b")))
    with pytest.raises(PreconditionFailed):
        store.delete_conditional(ctx, "Patient", "identifier=http://ids|b")
    with pytest.raises(PreconditionFailed):
        store.patch_conditional(ctx, "Patient", "identifier=http://ids|b", [])


def test_bundle_conditionals(store: Any, ctx: TenantContext) -> None:
    doc = store.create(ctx, {"resourceType": "Practitioner", **ident("npi-1")})
    existing = store.create(ctx, patient(**ident("p-1")))
    store.create(ctx, patient(**ident("del")))
    response = store.transaction(
        ctx,
        {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [
                {
                    "fullUrl": "urn:uuid:p",
                    "resource": patient(**ident("p-1")),
                    "request": {
                        "method": "POST",
                        "url": "Patient",
                        "ifNoneExist": "identifier=http://ids|p-1",
                    },
                },
                {
                    "fullUrl": "urn:uuid:e",
                    "resource": {
                        "resourceType": "Encounter",
                        "status": "finished",
                        "class": {"code": "AMB"},
                        "subject": {"reference": "urn:uuid:p"},
                        "participant": [
                            {
                                "individual": {
                                    "reference": "Practitioner?identifier=http://ids|npi-1"
                                }
                            }
                        ],
                    },
                    "request": {"method": "POST", "url": "Encounter"},
                },
                {
                    "resource": patient(family="Cond", **ident("new")),
                    "request": {"method": "PUT", "url": "Patient?identifier=http://ids|new"},
                },
                {"request": {"method": "DELETE", "url": "Patient?identifier=http://ids|del"}},
                {"request": {"method": "GET", "url": "Patient?identifier=http://ids|p-1"}},
            ],
        },
    )
    statuses = [e["response"]["status"] for e in response["entry"]]
    assert statuses == ["200 OK", "201 Created", "201 Created", "204 No Content", "200 OK"]
    assert response["entry"][0]["response"]["location"].startswith(f"Patient/{existing.id}/")
    enc_id = response["entry"][1]["response"]["location"].split("/")[1]
    enc = store.read(ctx, "Encounter", enc_id).resource
    assert enc["subject"]["reference"] == f"Patient/{existing.id}"
    assert enc["participant"][0]["individual"]["reference"] == f"Practitioner/{doc.id}"
    searchset = response["entry"][4]["resource"]
    assert searchset["type"] == "searchset"
    assert [e["resource"]["id"] for e in searchset["entry"]] == [existing.id]
    assert store.search(ctx, "Patient?identifier=http://ids|del").resources == []


def test_bad_conditional_reference_rolls_back(store: Any, ctx: TenantContext) -> None:
    def run(ref: str) -> None:
        store.transaction(
            ctx,
            {
                "resourceType": "Bundle",
                "type": "transaction",
                "entry": [
                    {"resource": patient(), "request": {"method": "POST", "url": "Patient"}},
                    {
                        "resource": observation(ref),
                        "request": {"method": "POST", "url": "Observation"},
                    },
                ],
            },
        )

    with pytest.raises(InvalidResource, match="matched nothing"):
        run("Patient?identifier=http://ids|zzz")
    store.create(ctx, patient(**ident("twin")))
    store.create(ctx, patient(**ident("twin")))
    with pytest.raises(PreconditionFailed):
        run("Patient?identifier=http://ids|twin")
    assert count_rows(store, ctx, "resources", type="Observation") == 0


def test_search_and_permissions(store: Any, ctx: TenantContext) -> None:
    store.update(ctx, patient(id="123"))
    store.update(ctx, patient(id="999"))
    store.update(ctx, observation("Patient/123", id="mine"))
    store.update(ctx, observation("Patient/999", id="theirs"))
    store.update(OTHER, observation("Patient/123", id="elsewhere"))
    everything = store.search(ctx, "Observation?code=http://loinc.org|8867-4")
    assert sorted(r["id"] for r in everything.resources) == ["mine", "theirs"]

    compartment = TenantContext("acme", Permissions(compartment=("Patient", "123")))
    found = store.search(compartment, "Observation?code=http://loinc.org|8867-4")
    assert [r["id"] for r in found.resources] == ["mine"]
    assert [r["id"] for r in store.search(compartment, "Patient").resources] == ["123"]
    with pytest.raises(PermissionDenied):
        store.search(compartment, "Organization")

    no_search = TenantContext("acme", Permissions(Operation.READ))
    with pytest.raises(PermissionDenied):
        store.search(no_search, "Patient")
    only_obs = TenantContext("acme", Permissions(resource_types={"Observation"}))
    with pytest.raises(PermissionDenied):
        store.search(only_obs, "Patient")
    result = store.search(only_obs, "Observation?_id=mine&_include=Observation:subject")
    assert [r["id"] for r in result.resources] == ["mine"]
    assert result.included == []  # the Patient is a forbidden type
    with pytest.raises(PermissionDenied):
        store.search(only_obs, "?_type=Patient,Observation")
