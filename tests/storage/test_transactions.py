from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from helios_persistence.errors import InvalidResource, NotFound, VersionConflict
from helios_persistence.tenancy import TenantContext

from .helpers import count_rows, observation, patient


def bundle(kind: str, *entries: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": kind, "entry": list(entries)}


def entry(
    method: str, url: str, resource: dict | None = None, full_url: str | None = None, **request: Any
) -> dict[str, Any]:
    out: dict[str, Any] = {"request": {"method": method, "url": url, **request}}
    if resource is not None:
        out["resource"] = resource
    if full_url is not None:
        out["fullUrl"] = full_url
    return out


def _id(response_entry: dict) -> str:
    return response_entry["response"]["location"].split("/")[1]


def test_transaction_with_urn_references(any_store: Any, ctx: TenantContext) -> None:
    enc = {
        "resourceType": "Encounter",
        "status": "finished",
        "class": {"code": "AMB"},
        "subject": {"reference": "urn:uuid:pat"},
        "participant": [{"individual": {"reference": "urn:uuid:doc"}}],
    }
    response = any_store.transaction(
        ctx,
        bundle(
            "transaction",
            entry(
                "POST",
                "Observation",
                observation("urn:uuid:pat", encounter={"reference": "urn:uuid:enc"}),
                "urn:uuid:obs",
            ),
            entry("POST", "Encounter", enc, "urn:uuid:enc"),
            entry("POST", "Patient", patient(id="ignored-client-id"), "urn:uuid:pat"),
            entry("POST", "Practitioner", {"resourceType": "Practitioner"}, "urn:uuid:doc"),
        ),
    )
    assert response["resourceType"] == "Bundle" and response["type"] == "transaction-response"
    assert len(response["entry"]) == 4
    for e in response["entry"]:
        r = e["response"]
        assert r["status"] == "201 Created"
        assert r["location"].endswith("/_history/1") and r["etag"] == 'W/"1"'
        assert r["lastModified"].endswith("Z")
    obs_id, enc_id, pat_id, doc_id = (_id(e) for e in response["entry"])
    assert pat_id != "ignored-client-id"
    obs = any_store.read(ctx, "Observation", obs_id).resource
    assert obs["subject"]["reference"] == f"Patient/{pat_id}"
    assert obs["encounter"]["reference"] == f"Encounter/{enc_id}"
    stored_enc = any_store.read(ctx, "Encounter", enc_id).resource
    assert stored_enc["participant"][0]["individual"]["reference"] == f"Practitioner/{doc_id}"
    # the index rows hold the rewritten references
    assert (
        count_rows(
            any_store,
            ctx,
            "idx_reference",
            type="Observation",
            id=obs_id,
            param="subject",
            target_type="Patient",
            target_id=pat_id,
        )
        == 1
    )


def test_transaction_is_atomic(any_store: Any, ctx: TenantContext) -> None:
    any_store.update(ctx, patient(id="keep"))
    with pytest.raises(InvalidResource, match=r"Bundle.entry\[2\]") as err:
        any_store.transaction(
            ctx,
            bundle(
                "transaction",
                entry("POST", "Patient", patient()),
                entry("DELETE", "Patient/keep"),
                entry(
                    "PUT",
                    "Patient/bad",
                    {"resourceType": "Patient", "id": "bad", "birthDate": float("inf")},
                ),
            ),
        )
    assert err.value.outcome["resourceType"] == "OperationOutcome"
    assert count_rows(any_store, ctx, "resources") == 1
    assert count_rows(any_store, ctx, "history") == 1
    assert count_rows(any_store, ctx, "outbox") == 1
    assert any_store.read(ctx, "Patient", "keep").version_id == "1"


def test_put_delete_get_patch(store: Any, ctx: TenantContext) -> None:
    store.update(ctx, patient(id="p1"))
    store.update(ctx, patient(id="gone"))
    store.update(ctx, patient(id="patchme"))
    json_patch = {
        "resourceType": "Binary",
        "contentType": "application/json-patch+json",
        "data": base64.b64encode(
            json.dumps([{"op": "add", "path": "/gender", "value": "female"}]).encode()
        ).decode(),
    }
    response = store.transaction(
        ctx,
        bundle(
            "transaction",
            entry("GET", "Patient/p1"),
            entry("PUT", "Patient/p1", patient(id="p1", family="Put"), ifMatch='W/"1"'),
            entry("DELETE", "Patient/gone"),
            entry("PUT", "Patient/new", patient(id="new")),
            entry("PATCH", "Patient/patchme", json_patch),
            entry("GET", "Patient/p1/_history/1"),
            entry("GET", "Patient/p1/_history"),
        ),
    )
    statuses = [e["response"]["status"] for e in response["entry"]]
    assert statuses == [
        "200 OK",
        "200 OK",
        "204 No Content",
        "201 Created",
        "200 OK",
        "200 OK",
        "200 OK",
    ]
    # GETs run last: they see the transaction's writes
    assert response["entry"][0]["resource"]["name"][0]["family"] == "Put"
    assert response["entry"][0]["response"]["etag"] == 'W/"2"'
    assert response["entry"][5]["resource"]["meta"]["versionId"] == "1"
    assert response["entry"][6]["resource"]["type"] == "history"
    assert response["entry"][6]["resource"]["total"] == 2
    assert response["entry"][2]["response"]["etag"] == 'W/"2"'
    assert response["entry"][4]["response"]["location"] == "Patient/patchme/_history/2"
    assert store.read(ctx, "Patient", "patchme").resource["gender"] == "female"
    assert store.read(ctx, "Patient", "new").version_id == "1"


def test_if_match_failure_in_a_transaction(store: Any, ctx: TenantContext) -> None:
    store.update(ctx, patient(id="p1"))
    store.update(ctx, patient(id="p1"))
    with pytest.raises(VersionConflict):
        store.transaction(
            ctx,
            bundle(
                "transaction",
                entry("POST", "Patient", patient()),
                entry("PUT", "Patient/p1", patient(id="p1"), ifMatch="1"),
            ),
        )
    assert count_rows(store, ctx, "resources") == 1


def test_failed_get_fails_the_transaction(store: Any, ctx: TenantContext) -> None:
    with pytest.raises(NotFound):
        store.transaction(
            ctx,
            bundle(
                "transaction", entry("POST", "Patient", patient()), entry("GET", "Patient/missing")
            ),
        )
    assert count_rows(store, ctx, "resources") == 0


def test_batch(any_store: Any, ctx: TenantContext) -> None:
    any_store.update(ctx, patient(id="p1"))
    response = any_store.transaction(
        ctx,
        bundle(
            "batch",
            entry("POST", "Patient", patient()),
            entry("PUT", "Patient/p1", patient(id="p1"), ifMatch="7"),
            entry("GET", "Patient/nope"),
            entry("POST", "Patient", {"resourceType": "Patient", "id": "x y"}),
            entry("PUT", "Patient/p2", patient(id="p2")),
            entry("DELETE", "Patient/p1"),
        ),
    )
    assert response["type"] == "batch-response"
    statuses = [e["response"]["status"] for e in response["entry"]]
    assert statuses == [
        "201 Created",
        "412 Precondition Failed",
        "404 Not Found",
        "400 Bad Request",
        "201 Created",
        "204 No Content",
    ]
    for i in (1, 2, 3):
        outcome = response["entry"][i]["response"]["outcome"]
        assert outcome["resourceType"] == "OperationOutcome" and outcome["issue"]
    assert count_rows(any_store, ctx, "resources") == 3  # p1 (deleted), p2, the POST


def test_duplicate_resource_in_transaction(store: Any, ctx: TenantContext) -> None:
    with pytest.raises(InvalidResource, match="both change"):
        store.transaction(
            ctx,
            bundle(
                "transaction",
                entry("PUT", "Patient/a", patient(id="a")),
                entry("PATCH", "Patient/a", {"resourceType": "Parameters", "parameter": []}),
            ),
        )
    assert count_rows(store, ctx, "resources") == 0


def test_absolute_full_url_references(store: Any, ctx: TenantContext) -> None:
    response = store.transaction(
        ctx,
        bundle(
            "transaction",
            entry("POST", "Patient", patient(), "http://other.org/fhir/Patient/abc"),
            entry("POST", "Observation", observation("Patient/abc"), "urn:uuid:o"),
            entry("POST", "Observation", observation("http://other.org/fhir/Patient/abc")),
        ),
    )
    pat_id = _id(response["entry"][0])
    for e in response["entry"][1:]:
        obs = store.read(ctx, "Observation", _id(e)).resource
        assert obs["subject"]["reference"] == f"Patient/{pat_id}"


def test_transaction_rewrites_narrative_links(any_store: Any, ctx: TenantContext) -> None:
    """``<a href>`` and ``<img src>`` naming an entry's ``urn:uuid`` are stored rewritten, as
    ``reference`` elements are; the narrative is then found by its words as before."""
    div = (
        '<div xmlns="http://www.w3.org/1999/xhtml">Heart rate of '
        '<a href="urn:uuid:pat">the patient</a> <img src="urn:uuid:pat" alt="photo"/></div>'
    )
    obs = observation("urn:uuid:pat")
    obs["text"] = {"status": "generated", "div": div}
    response = any_store.transaction(
        ctx,
        bundle(
            "transaction",
            entry("POST", "Observation", obs, "urn:uuid:obs"),
            entry("POST", "Patient", patient(), "urn:uuid:pat"),
        ),
    )
    obs_id, pat_id = _id(response["entry"][0]), _id(response["entry"][1])
    stored = any_store.read(ctx, "Observation", obs_id).resource
    assert stored["text"]["div"] == (
        '<div xmlns="http://www.w3.org/1999/xhtml">Heart rate of '
        f'<a href="Patient/{pat_id}">the patient</a> '
        f'<img src="Patient/{pat_id}" alt="photo"/></div>'
    )
    assert stored["subject"]["reference"] == f"Patient/{pat_id}"
    found = any_store.search(ctx, "Observation?_text=heart")
    assert [r["id"] for r in found.resources] == [obs_id]
