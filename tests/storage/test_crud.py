from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

import pytest

from helios_persistence.errors import (
    Gone,
    InvalidResource,
    NotFound,
    VersionConflict,
)
from helios_persistence.storage.protocols import (
    Capability,
    TransactionProvider,
    capabilities_of,
)
from helios_persistence.tenancy import TenantContext

from .helpers import count_rows, patient


def test_create_assigns_id_and_meta(any_store: Any, ctx: TenantContext) -> None:
    original = patient(id="client-id", meta={"profile": ["http://p"]})
    before = copy.deepcopy(original)
    s = any_store.create(ctx, original)
    assert original == before  # the caller's dict is not changed
    assert s.resource_type == "Patient" and s.id != "client-id" and s.version_id == "1"
    assert isinstance(s.last_updated, datetime) and s.last_updated.tzinfo is not None
    assert s.resource is not None
    assert s.resource["id"] == s.id
    assert s.resource["meta"]["versionId"] == "1"
    assert s.resource["meta"]["profile"] == ["http://p"]
    assert s.resource["meta"]["lastUpdated"].endswith("Z")
    read = any_store.read(ctx, "Patient", s.id)
    assert read.resource == s.resource and read.last_updated == s.last_updated
    assert read == s


def test_update_versions(any_store: Any, ctx: TenantContext) -> None:
    s1 = any_store.create(ctx, patient())
    s2 = any_store.update(ctx, {**s1.resource, "gender": "female"}, if_match="1")
    assert s2.version_id == "2" and s2.last_updated > s1.last_updated
    s3 = any_store.update(ctx, {**s2.resource, "gender": "male"}, if_match='W/"2"')
    assert s3.version_id == "3"
    assert any_store.read(ctx, "Patient", s1.id).resource["gender"] == "male"
    assert any_store.vread(ctx, "Patient", s1.id, "1").resource == s1.resource
    assert any_store.vread(ctx, "Patient", s1.id, "2").resource["gender"] == "female"
    with pytest.raises(NotFound):
        any_store.vread(ctx, "Patient", s1.id, "9")
    with pytest.raises(NotFound):
        any_store.vread(ctx, "Patient", s1.id, "abc")


def test_if_match_mismatch(store: Any, ctx: TenantContext) -> None:
    s = store.create(ctx, patient())
    store.update(ctx, s.resource)
    with pytest.raises(VersionConflict) as err:
        store.update(ctx, {**s.resource, "gender": "other"}, if_match="1")
    assert err.value.http_status == 412
    assert store.read(ctx, "Patient", s.id).version_id == "2"
    assert "gender" not in store.read(ctx, "Patient", s.id).resource
    with pytest.raises(VersionConflict):
        store.update(ctx, patient(id="new"), if_match="1")


def test_update_creates_missing(store: Any, ctx: TenantContext) -> None:
    s = store.update(ctx, patient(id="p1"))
    assert (s.id, s.version_id) == ("p1", "1")
    assert store.read(ctx, "Patient", "p1").resource["name"] == [{"family": "Smith"}]
    with pytest.raises(InvalidResource):
        store.update(ctx, patient())  # no id


def test_delete_and_revive(any_store: Any, ctx: TenantContext) -> None:
    any_store.update(ctx, patient(id="p1"))
    d = any_store.delete(ctx, "Patient", "p1")
    assert d is not None and d.deleted and d.version_id == "2" and d.resource is None
    with pytest.raises(Gone):
        any_store.read(ctx, "Patient", "p1")
    with pytest.raises(Gone):
        any_store.vread(ctx, "Patient", "p1", "2")
    assert any_store.vread(ctx, "Patient", "p1", "1").version_id == "1"
    assert any_store.delete(ctx, "Patient", "p1") is None  # already deleted: no-op
    assert any_store.delete(ctx, "Patient", "never") is None  # missing: no-op
    with pytest.raises(NotFound):
        any_store.read(ctx, "Patient", "never")
    revived = any_store.update(ctx, patient(id="p1", family="Back"))
    assert revived.version_id == "3"
    assert any_store.read(ctx, "Patient", "p1").resource["name"][0]["family"] == "Back"


def test_index_rows_follow_the_current_version(store: Any, ctx: TenantContext) -> None:
    store.update(ctx, patient(id="p1", family="Alpha"))
    rows = count_rows(store, ctx, "idx_string", type="Patient", id="p1")
    assert rows > 0
    assert count_rows(store, ctx, "idx_string", id="p1", norm="alpha") >= 1
    store.update(ctx, patient(id="p1", family="Beta"))
    assert count_rows(store, ctx, "idx_string", id="p1", norm="alpha") == 0
    assert count_rows(store, ctx, "idx_string", id="p1", norm="beta") >= 1
    assert count_rows(store, ctx, "resource_text", id="p1") == 1
    store.delete(ctx, "Patient", "p1")
    for table in ("idx_string", "idx_token", "idx_date", "idx_reference", "resource_text"):
        assert count_rows(store, ctx, table, id="p1") == 0
    assert count_rows(store, ctx, "param_text", id="p1") == 0
    outbox = count_rows(store, ctx, "outbox", id="p1")
    assert outbox == 3
    assert count_rows(store, ctx, "outbox", id="p1", operation="delete", version=3) == 1


@pytest.mark.parametrize(
    "bad",
    [
        {"resourceType": "Nope"},
        {"resourceType": "Patient", "id": "bad id!"},
        {"name": "no type"},
        {"resourceType": "Patient", "birthDate": float("nan")},
    ],
)
def test_invalid_input_changes_nothing(store: Any, ctx: TenantContext, bad: dict) -> None:
    store.update(ctx, patient(id="p1"))
    with pytest.raises(InvalidResource):
        if "id" in bad:
            store.update(ctx, bad)
        else:
            store.create(ctx, bad)
    assert count_rows(store, ctx, "history") == 1
    assert count_rows(store, ctx, "resources") == 1
    assert count_rows(store, ctx, "outbox") == 1


def test_read_of_unknown_type(store: Any, ctx: TenantContext) -> None:
    with pytest.raises(InvalidResource):
        store.read(ctx, "Nope", "1")


def test_patch(store: Any, ctx: TenantContext) -> None:
    store.update(ctx, patient(id="p1"))
    s = store.patch(ctx, "Patient", "p1", [{"op": "add", "path": "/gender", "value": "female"}])
    assert s.version_id == "2" and s.resource["gender"] == "female"
    fhirpath = {
        "resourceType": "Parameters",
        "parameter": [
            {
                "name": "operation",
                "part": [
                    {"name": "type", "valueCode": "replace"},
                    {"name": "path", "valueString": "Patient.gender"},
                    {"name": "value", "valueCode": "male"},
                ],
            }
        ],
    }
    s = store.patch(ctx, "Patient", "p1", fhirpath, if_match="2")
    assert s.version_id == "3" and store.read(ctx, "Patient", "p1").resource["gender"] == "male"
    history = store.history(ctx, "Patient", "p1")
    assert history["entry"][0]["request"]["method"] == "PATCH"
    with pytest.raises(VersionConflict):
        store.patch(ctx, "Patient", "p1", fhirpath, if_match="1")
    with pytest.raises(InvalidResource):
        store.patch(ctx, "Patient", "p1", [{"op": "replace", "path": "/id", "value": "x"}])
    with pytest.raises(InvalidResource):
        store.patch(ctx, "Patient", "p1", [{"op": "add", "path": "/resourceType", "value": "X"}])
    with pytest.raises(NotFound):
        store.patch(ctx, "Patient", "nope", fhirpath)
    store.delete(ctx, "Patient", "p1")
    with pytest.raises(Gone):
        store.patch(ctx, "Patient", "p1", fhirpath)
    assert store.vread(ctx, "Patient", "p1", "3").resource["gender"] == "male"


def test_delete_history_keeps_current(any_store: Any, ctx: TenantContext) -> None:
    for i in range(4):
        any_store.update(ctx, patient(id="p1", family=f"v{i}"))
    assert any_store.delete_history(ctx, "Patient", "p1") == 3
    bundle = any_store.history(ctx, "Patient", "p1")
    assert [e["response"]["etag"] for e in bundle["entry"]] == ['W/"4"']
    assert any_store.read(ctx, "Patient", "p1").version_id == "4"
    with pytest.raises(NotFound):
        any_store.vread(ctx, "Patient", "p1", "1")
    # the next version continues the numbering
    assert any_store.update(ctx, patient(id="p1")).version_id == "5"
    any_store.delete(ctx, "Patient", "p1")
    assert any_store.delete_history(ctx, "Patient", "p1") == 2  # versions 4, 5; 6 is current
    with pytest.raises(Gone):
        any_store.read(ctx, "Patient", "p1")
    with pytest.raises(NotFound):
        any_store.delete_history(ctx, "Patient", "nope")


def test_protocols_and_capabilities(store: Any) -> None:
    assert isinstance(store, TransactionProvider)
    caps = capabilities_of(store)
    assert Capability.TRANSACTION in caps and Capability.MULTI_TENANT_SHARED in caps


def test_requires_a_context(store: Any) -> None:
    with pytest.raises(TypeError):
        store.read("acme", "Patient", "x")  # type: ignore[arg-type]
