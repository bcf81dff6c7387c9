"""The loader's fast path writes what the transaction writes: the same versions, in the same
order, recorded as the same interactions (a POST entry is a create in history, not a PUT)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from helios_persistence.loading import Loader, expand
from helios_persistence.tenancy import TenantContext

TRANSACTION = TenantContext.for_tenant("by-transaction")
STREAMED = TenantContext.for_tenant("by-loader")
PATIENT = "urn:uuid:0b3f5c1e-8c1a-4a43-9d6b-4b0b9a6c0d11"
OBSERVATION = "urn:uuid:7d2e9a50-3f7b-4c1e-9a44-2c1f0e6b8a21"


def _observation(performer: str, **values: Any) -> dict[str, Any]:
    """A POSTed Observation entry of the patient, performed by ``performer``."""
    resource = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"text": "x"},
        "subject": {"reference": PATIENT},
        "performer": [{"reference": performer}],
        **values,
    }
    return {
        "fullUrl": OBSERVATION,
        "resource": resource,
        "request": {"method": "POST", "url": "Observation"},
    }


BUNDLE = {
    "resourceType": "Bundle",
    "type": "transaction",
    "entry": [
        {
            "fullUrl": "http://example.org/fhir/Practitioner/pr1",
            "resource": {"resourceType": "Practitioner", "id": "pr1", "name": [{"family": "Gp"}]},
            "request": {"method": "PUT", "url": "Practitioner/pr1"},
        },
        {
            "fullUrl": PATIENT,
            "resource": {
                "resourceType": "Patient",
                "text": {
                    "status": "generated",
                    "div": f'<div xmlns="http://www.w3.org/1999/xhtml"><a href="{OBSERVATION}">'
                    "last test</a></div>",
                },
                "name": [{"family": "Streamed"}],
                "generalPractitioner": [{"reference": "Practitioner/pr1"}],
            },
            "request": {"method": "POST", "url": "Patient"},
        },
        _observation(
            "http://example.org/fhir/Practitioner/pr1",
            valueQuantity={"value": 9007199254740993, "unit": "1"},
        ),
        {
            "resource": {
                "resourceType": "Patient",
                "id": "p2",
                "link": [{"other": {"reference": PATIENT}, "type": "seealso"}],
            },
            "request": {"method": "PUT", "url": "Patient/p2"},
        },
    ],
}


def _comparable(history: dict[str, Any]) -> list[Any]:
    """History entries, oldest first, with server-assigned ids (uuids) numbered in order of
    first appearance and the instants left out (two loads cannot share them)."""
    entries = list(reversed(history["entry"]))
    text = json.dumps(entries, sort_keys=True)
    ids: dict[str, str] = {}
    for found in re.finditer(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", text):
        ids.setdefault(found.group(0), f"#{len(ids)}")
    for old, new in ids.items():
        text = text.replace(old, new)
    out = json.loads(text)
    for entry in out:
        entry["response"].pop("lastModified")
        if "resource" in entry:
            entry["resource"]["meta"].pop("lastUpdated")
    return out


def test_a_streamed_bundle_has_the_history_of_its_transaction(store: Any, tmp_path: Path) -> None:
    for ctx in (TRANSACTION, STREAMED):  # an update among the entries, and creates
        store.update(ctx, {"resourceType": "Patient", "id": "p2", "active": True})
    store.transaction(TRANSACTION, BUNDLE)
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(BUNDLE), encoding="utf-8")
    report = Loader(store, STREAMED).load(expand([str(path)]))
    assert not report.failures and report.streamed == len(BUNDLE["entry"])

    expected = _comparable(store.history(TRANSACTION))
    assert [e["request"]["method"] for e in expected] == ["PUT", "POST", "POST", "PUT", "PUT"]
    assert _comparable(store.history(STREAMED)) == expected
    for rtype in ("Patient", "Observation", "Practitioner"):
        assert _comparable(store.history(STREAMED, rtype)) == _comparable(
            store.history(TRANSACTION, rtype)
        )
    [observation] = store.search(STREAMED, "Observation?value-quantity=9007199254740993").ids
    [patient] = store.search(STREAMED, "Patient?family=Streamed").resources
    assert observation.split("/")[1] in patient["text"]["div"]  # the narrative link rewritten


def _practitioner(npi: str, *, criteria: str | None = None) -> dict[str, Any]:
    request = {"method": "POST", "url": "Practitioner"}
    if criteria is not None:
        request["ifNoneExist"] = criteria
    resource = {"resourceType": "Practitioner", "identifier": [{"system": "urn:npi", "value": npi}]}
    return {"resource": resource, "request": request}


BATCH = {
    "resourceType": "Bundle",
    "type": "batch",
    "entry": [
        _practitioner("1", criteria="identifier=urn:npi|1"),
        _practitioner("2", criteria="Practitioner?identifier=urn:npi|2"),
        _practitioner("1", criteria="identifier=1"),  # created by entry 0: found
        _practitioner("3", criteria="identifier=urn:npi|3"),  # stored before: found
        {
            "resource": {"resourceType": "PractitionerRole", "code": [{"text": "gp"}]},
            "request": {"method": "POST", "url": "PractitionerRole"},  # no criteria: created
        },
    ],
}


def test_a_streamed_batch_of_creates_answers_as_the_batch(store: Any, tmp_path: Path) -> None:
    """Synthea's information Bundles: a batch of conditional creates is streamed, creates
    what the batch creates (no duplicates), and a second load creates nothing it found."""
    for ctx in (TRANSACTION, STREAMED):
        store.update(ctx, {**_practitioner("3")["resource"], "id": "pr3"})
    path = tmp_path / "batch.json"
    path.write_text(json.dumps(BATCH), encoding="utf-8")
    for load in (1, 2):
        response = store.transaction(TRANSACTION, BATCH)
        statuses = [e["response"]["status"] for e in response["entry"]]
        created = sum(s.startswith("201") for s in statuses)
        assert created == (3 if load == 1 else 1)  # the second time, the role only
        report = Loader(store, STREAMED).load(expand([str(path)]))
        assert not report.failures and report.resources == len(BATCH["entry"])
        assert report.streamed == created
        assert _comparable(store.history(STREAMED)) == _comparable(store.history(TRANSACTION))
    for ctx in (TRANSACTION, STREAMED):
        assert len(store.search(ctx, "Practitioner?identifier=urn:npi|1").ids) == 1
        assert len(store.search(ctx, "PractitionerRole").ids) == 2


def test_a_batch_entry_matching_several_fails_alone(store: Any, tmp_path: Path) -> None:
    for i in (1, 2):
        store.update(STREAMED, {**_practitioner("7")["resource"], "id": f"twin{i}"})
    batch = {**BATCH, "entry": [_practitioner("7", criteria="identifier=7"), BATCH["entry"][1]]}
    path = tmp_path / "batch.json"
    path.write_text(json.dumps(batch), encoding="utf-8")
    report = Loader(store, STREAMED, continue_on_error=True).load(expand([str(path)]))
    [failure] = report.failures
    assert failure.where == f"{path} Bundle.entry[0]" and failure.message.startswith("412")
    assert store.search(STREAMED, "Practitioner?identifier=urn:npi|2").ids != []
    assert len(store.search(STREAMED, "Practitioner?identifier=7").ids) == 2


def _organization(code: str, *, criteria: str | None = None) -> dict[str, Any]:
    entry = _practitioner("", criteria=criteria)
    entry["request"]["url"] = "Organization"
    entry["resource"] = {
        "resourceType": "Organization",
        "identifier": [{"system": "urn:org", "value": code}],
    }
    return entry


#: Synthea's two kinds of information Bundle: batches of conditional creates, with duplicates
#: within a batch, across the two (h2), and of a resource stored before (h0)
HOSPITALS = {
    "resourceType": "Bundle",
    "type": "batch",
    "entry": [
        _organization("h1", criteria="identifier=urn:org|h1"),
        _organization("h2", criteria="Organization?identifier=urn:org|h2"),
        _organization("h1", criteria="identifier=urn:org|h1"),
        _organization("h0", criteria="identifier=urn:org|h0"),
        {
            "resource": {"resourceType": "Location", "name": "ward"},
            "request": {"method": "POST", "url": "Location"},  # no criteria: created each time
        },
    ],
}
PRACTITIONERS = {
    "resourceType": "Bundle",
    "type": "batch",
    "entry": [
        _practitioner("1", criteria="identifier=urn:npi|1"),
        _organization("h2", criteria="identifier=urn:org|h2"),
        _practitioner("2", criteria="Practitioner?identifier=urn:npi|2"),
        _practitioner("1", criteria="identifier=1"),
    ],
}
#: a patient Bundle whose conditional references point into both
PATIENTS = {
    "resourceType": "Bundle",
    "type": "transaction",
    "entry": [
        {
            "fullUrl": PATIENT,
            "resource": {
                "resourceType": "Patient",
                "generalPractitioner": [{"reference": "Practitioner?identifier=urn:npi|1"}],
                "managingOrganization": {"reference": "Organization?identifier=urn:org|h2"},
            },
            "request": {"method": "POST", "url": "Patient"},
        },
        _observation("Practitioner?identifier=urn:npi|2"),
    ],
}
INFORMATION = {"H": HOSPITALS, "P": PRACTITIONERS, "T": PATIENTS}


@pytest.mark.parametrize("order", ["HPT", "PHT", "TPH"])
def test_information_bundles_in_any_order_stream_as_their_batches(
    store: Any, tmp_path: Path, order: str
) -> None:
    """Every information Bundle of a load is streamed (their criteria are read ahead), in any
    order, and the load writes what the Bundles do one at a time (the patients' Bundle, which
    needs both, after them); a second load creates only what has no criteria."""
    for ctx in (TRANSACTION, STREAMED):
        store.update(ctx, {**_organization("h0")["resource"], "id": "org0"})
    paths = []
    for name in order:
        paths.append(tmp_path / f"{name}.json")
        paths[-1].write_text(json.dumps(INFORMATION[name]), encoding="utf-8")
    for load in (1, 2):
        names = order.replace("T", "") + "T" if load == 1 else order.replace("T", "")
        created = 0
        for name in names:  # one Bundle at a time, in an order that resolves
            response = store.transaction(TRANSACTION, INFORMATION[name])
            created += sum(e["response"]["status"].startswith("201") for e in response["entry"])
        assert created == (7 if load == 1 else 1)  # duplicates found, not created
        chosen = [str(p) for p in paths if load == 1 or p.stem != "T"]
        report = Loader(store, STREAMED).load(expand(chosen))
        assert not report.failures
        assert report.resources == sum(len(INFORMATION[n]["entry"]) for n in names)
        assert report.streamed == created  # every Bundle through bulk_load
        assert _comparable(store.history(STREAMED)) == _comparable(store.history(TRANSACTION))
    for ctx in (TRANSACTION, STREAMED):
        assert len(store.search(ctx, "Organization?identifier=urn:org|h2").ids) == 1
        [patient] = store.search(ctx, "Patient").resources
        [gp] = store.search(ctx, "Practitioner?identifier=urn:npi|1").ids
        [org] = store.search(ctx, "Organization?identifier=urn:org|h2").ids
        assert patient["generalPractitioner"] == [{"reference": gp}]
        assert patient["managingOrganization"] == {"reference": org}


def test_an_ambiguous_entry_read_ahead_fails_alone(store: Any, tmp_path: Path) -> None:
    """An entry whose criteria match several resources fails alone (412), as in its batch,
    when its Bundle's criteria were read ahead; the Bundle before it is still streamed."""
    for ctx in (TRANSACTION, STREAMED):
        for i in (1, 2):
            store.update(ctx, {**_practitioner("7")["resource"], "id": f"twin{i}"})
    twins = {
        **PRACTITIONERS,
        "entry": [*PRACTITIONERS["entry"], _practitioner("7", criteria="identifier=7")],
    }
    hospitals = store.transaction(TRANSACTION, HOSPITALS)["entry"]
    created = sum(e["response"]["status"].startswith("201") for e in hospitals)
    statuses = [e["response"]["status"] for e in store.transaction(TRANSACTION, twins)["entry"]]
    assert statuses[-1].startswith("412")
    paths = [tmp_path / "H.json", tmp_path / "P.json"]
    for path, bundle in zip(paths, (HOSPITALS, twins), strict=True):
        path.write_text(json.dumps(bundle), encoding="utf-8")
    report = Loader(store, STREAMED, continue_on_error=True).load(expand([str(p) for p in paths]))
    [failure] = report.failures
    assert failure.where == f"{paths[1]} Bundle.entry[4]" and failure.message.startswith("412")
    assert report.streamed == created  # the hospitals; the practitioners run as their batch
    assert _comparable(store.history(STREAMED)) == _comparable(store.history(TRANSACTION))
