"""The loader (``helios load``): Bundles streamed through ``bulk_load`` as their transactions
would write them, deferral of Bundles whose conditional references match nothing yet,
``continue_on_error`` and stopping at the first error, progress."""

from __future__ import annotations

import io
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

import helios_persistence as hp
from helios_persistence.errors import InvalidResource
from helios_persistence.generator import generate_bundles
from helios_persistence.loading import Loader, LoadStopped, expand
from helios_persistence.storage.bundles import rewrite_references

CTX = hp.TenantContext.for_tenant("acme")


def everything(store: Any) -> list[dict[str, Any]]:
    result = store.search(CTX, "Patient?_count=1")  # warm; then every type
    found: list[dict[str, Any]] = []
    for rtype in ["Patient", "Observation", "Encounter", "Condition", "Practitioner",
                  "Organization", "Location", "PractitionerRole", "Basic"]:  # fmt: skip
        result = store.search(CTX, f"{rtype}?_count=1000")
        found += list(result.resources)
    return found


def canonical(resources: list[dict[str, Any]]) -> Counter[str]:
    """The resources without ids and meta, each reference replaced by its target's content:
    equal for two stores that hold the same graph under different server-assigned ids."""
    by_ref = {f"{r['resourceType']}/{r['id']}": r for r in resources}

    def bare(r: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in r.items() if k not in ("id", "meta")}

    def target(reference: str) -> str:
        found = by_ref.get(reference)
        assert found is not None, f"dangling reference {reference}"
        return json.dumps(rewrite_references(bare(found), lambda _: "*"), sort_keys=True)

    return Counter(
        json.dumps(rewrite_references(bare(r), target), sort_keys=True) for r in resources
    )


def write(folder: Path, name: str, value: Any) -> Path:
    path = folder / name
    path.write_text(json.dumps(value), encoding="utf-8")
    return path


def test_streamed_bundles_equal_their_transactions(tmp_path: Path, store: Any) -> None:
    bundles = list(generate_bundles(patients=4, seed=3))
    for i, bundle in enumerate(bundles):
        write(tmp_path, f"{i:02}.json", bundle)
    streamed = store
    with hp.open_store("sqlite://") as reference:
        report = Loader(streamed, CTX).load(expand([str(tmp_path)]))
        for bundle in bundles:
            reference.transaction(CTX, bundle)
        entries = sum(len(b["entry"]) for b in bundles)
        assert report.resources == entries and not report.failures
        # the batch Bundle runs as a batch; every transaction Bundle is streamed
        assert report.streamed == entries - len(bundles[0]["entry"])
        assert canonical(everything(streamed)) == canonical(everything(reference))


def test_collection_searchset_single_and_id_less_resources(tmp_path: Path, store: Any) -> None:
    patient = {"resourceType": "Patient", "id": "p1", "name": [{"family": "Nowak"}]}
    collection = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": patient}, {"resource": {"resourceType": "Basic"}}],
    }
    searchset = {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [
            {"resource": {"resourceType": "Patient", "id": "p2"}, "search": {"mode": "match"}},
            {"resource": {"resourceType": "OperationOutcome"}, "search": {"mode": "outcome"}},
        ],
    }
    write(tmp_path, "c.json", collection)
    write(tmp_path, "s.json", searchset)
    write(tmp_path, "single.json", {"resourceType": "Patient", "id": "p3"})
    report = Loader(store, CTX).load(expand([str(tmp_path)]))
    assert report.resources == 4 and not report.failures
    assert sorted(store.search(CTX, "Patient").ids) == [
        "Patient/p1",
        "Patient/p2",
        "Patient/p3",
    ]
    assert len(store.search(CTX, "Basic").ids) == 1  # created with a new id


def _practitioners(n: int) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            {
                "resource": {
                    "resourceType": "Practitioner",
                    "identifier": [{"system": "urn:npi", "value": str(i)}],
                },
                "request": {
                    "method": "POST",
                    "url": "Practitioner",
                    "ifNoneExist": f"identifier=urn:npi|{i}",
                },
            }
            for i in range(n)
        ],
    }


def _patient_bundle(name: str, npi: int) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": f"urn:uuid:{name}",
                "resource": {
                    "resourceType": "Patient",
                    "name": [{"family": name}],
                    "generalPractitioner": [
                        {"reference": f"Practitioner?identifier=urn:npi|{npi}"}
                    ],
                },
                "request": {"method": "POST", "url": "Patient"},
            },
            {
                "resource": {
                    "resourceType": "Observation",
                    "status": "final",
                    "code": {"text": "x"},
                    "subject": {"reference": f"urn:uuid:{name}"},
                    "performer": [{"reference": f"Practitioner?identifier=urn:npi|{npi}"}],
                },
                "request": {"method": "POST", "url": "Observation"},
            },
        ],
    }


def test_conditional_references_into_a_later_file_wait_for_it(tmp_path: Path, store: Any) -> None:
    a = write(tmp_path, "a.json", _patient_bundle("Adams", 1))
    b = write(tmp_path, "b.json", _patient_bundle("Brown", 2))
    z = write(tmp_path, "z.json", _practitioners(3))
    report = Loader(store, CTX).load(expand([str(a), str(b), str(z)]))
    assert not report.failures and report.resources == 2 * 2 + 3
    assert report.deferred == 2 and report.passes == 2
    assert report.streamed == 3 + 4  # the batch of creates, then (resolved first) the rest
    for family, npi in [("Adams", "1"), ("Brown", "2")]:
        [patient] = store.search(CTX, f"Patient?family={family}").resources
        [gp] = store.search(CTX, f"Practitioner?identifier=urn:npi|{npi}").resources
        assert patient["generalPractitioner"] == [{"reference": f"Practitioner/{gp['id']}"}]
        [obs] = store.search(CTX, f"Observation?subject=Patient/{patient['id']}").resources
        assert obs["performer"] == [{"reference": f"Practitioner/{gp['id']}"}]


def test_a_reference_that_never_resolves_is_reported_with_its_entry(
    tmp_path: Path, store: Any
) -> None:
    good = write(tmp_path, "a.json", _patient_bundle("Adams", 1))
    bad = write(tmp_path, "b.json", _patient_bundle("Brown", 99))
    z = write(tmp_path, "z.json", _practitioners(2))
    report = Loader(store, CTX, continue_on_error=True).load(
        expand([str(p) for p in (good, bad, z)])
    )
    [failure] = report.failures
    assert failure.where == str(bad)
    assert "Bundle.entry[0]" in failure.message and "matched nothing" in failure.message
    assert failure.outcome["resourceType"] == "OperationOutcome"
    assert store.search(CTX, "Patient?family=Brown").ids == []  # nothing of it
    assert len(store.search(CTX, "Patient?family=Adams").ids) == 1


def _with_bad_entry() -> dict[str, Any]:
    """A Bundle the fast path takes whose second entry the store refuses (a bad id)."""
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "resource": {"resourceType": "Patient", "id": "fine"},
                "request": {"method": "PUT", "url": "Patient/fine"},
            },
            {
                "resource": {"resourceType": "Patient"},
                "request": {"method": "PUT", "url": "Patient/bad$id"},
            },
        ],
    }


def test_continue_on_error_reports_each_failure_and_loads_the_rest(
    tmp_path: Path, store: Any
) -> None:
    ndjson = tmp_path / "a.ndjson"
    ndjson.write_text(
        "\n".join(
            [
                json.dumps({"resourceType": "Patient", "id": "n1"}),
                "{not json",
                json.dumps({"resourceType": "Patient", "id": "bad id"}),
                json.dumps([1, 2]),
                json.dumps({"resourceType": "Patient", "id": "n2"}),
            ]
        )
    )
    bundle = write(tmp_path, "b.json", _with_bad_entry())
    after = write(tmp_path, "c.json", {"resourceType": "Patient", "id": "after"})
    report = Loader(store, CTX, continue_on_error=True).load(
        expand([str(ndjson), str(bundle), str(after)])
    )
    where = [f.where for f in report.failures]
    assert where == [f"{ndjson}:2", f"{ndjson}:3", f"{ndjson}:4", str(bundle)]
    assert "invalid JSON" in report.failures[0].message and report.failures[0].input_error
    assert "Bundle.entry[1]" in report.failures[3].message
    assert all(f.outcome["issue"][0]["severity"] == "error" for f in report.failures)
    assert sorted(store.search(CTX, "Patient").ids) == [  # not "fine"
        "Patient/after",
        "Patient/n1",
        "Patient/n2",
    ]
    assert report.resources == 3


@pytest.mark.parametrize("stream", [True, False])
def test_the_first_failure_stops_the_load_naming_file_and_entry(
    tmp_path: Path, stream: bool, store: Any
) -> None:
    before = tmp_path / "a.ndjson"
    before.write_text(
        "".join(json.dumps({"resourceType": "Patient", "id": f"b{i}"}) + "\n" for i in range(5))
    )
    bundle = write(tmp_path, "b.json", _with_bad_entry())
    after = write(tmp_path, "c.json", {"resourceType": "Patient", "id": "after"})
    loader = Loader(store, CTX, stream=stream)
    with pytest.raises(LoadStopped) as caught:
        loader.load(expand([str(before), str(bundle), str(after)]))
    assert caught.value.failure.where == str(bundle)
    assert str(caught.value).startswith(f"{bundle}: Bundle.entry[1]")
    assert caught.value.report.resources == 5
    assert sorted(store.search(CTX, "Patient").ids) == [f"Patient/b{i}" for i in range(5)]


def test_progress_counts_resources_and_bytes(tmp_path: Path, store: Any) -> None:
    path = tmp_path / "a.ndjson"
    path.write_text(
        "".join(json.dumps({"resourceType": "Basic", "id": f"x{i}"}) + "\n" for i in range(25))
    )
    seen: list[tuple[int, int, int | None]] = []
    report = Loader(store, CTX, batch=10, on_progress=lambda *a: seen.append(a)).load(
        expand([str(path)])
    )
    assert report.resources == 25
    assert [s[0] for s in seen] == sorted(s[0] for s in seen) and seen[-1][0] == 25
    assert 10 in [s[0] for s in seen]  # one report per transaction of 10
    assert seen[-1][1:] == (path.stat().st_size, path.stat().st_size)


XDS = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "fhir-r4" / "examples"


def _examples() -> Path:
    import os

    env = os.environ.get("HELIOS_SHARED_DATA")
    return Path(env) / "fhir-r4" / "examples" if env else XDS


@pytest.mark.skipif(
    not (_examples() / "xds-example.json").is_file(),
    reason=f"the official FHIR examples are not at {_examples()} (set HELIOS_SHARED_DATA)",
)
def test_if_none_exist_in_the_type_criteria_form(tmp_path: Path) -> None:
    path = _examples() / "xds-example.json"
    bundle = json.loads(path.read_text(encoding="utf-8"))
    [entry] = [e for e in bundle["entry"] if e["request"].get("ifNoneExist")]
    assert entry["request"]["ifNoneExist"].startswith("Patient?")  # the form under test
    with hp.open_store("sqlite://") as store:
        report = Loader(store, CTX).load(expand([str(path)]))
        assert not report.failures and report.resources == len(bundle["entry"])
        assert len(store.search(CTX, "Patient").ids) == 1
    with hp.open_store("sqlite://") as store:  # the criteria match a Patient already there
        known = store.create(
            CTX,
            {
                "resourceType": "Patient",
                "identifier": [{"value": "http://acme.org/xds/patients!89765a87b"}],
            },
        )
        assert not Loader(store, CTX).load(expand([str(path)])).failures
        assert store.search(CTX, "Patient").ids == [f"Patient/{known.id}"]
        [doc] = store.search(CTX, "DocumentReference").resources
        assert doc["subject"]["reference"] == f"Patient/{known.id}"
        with pytest.raises(InvalidResource, match="name Observation, not Patient"):
            store.create(CTX, {"resourceType": "Patient"}, if_none_exist="Observation?code=x")


def test_odd_documents(tmp_path: Path, store: Any) -> None:
    """An empty transaction, a collection entry without a type, a document Bundle (stored
    as a resource), an empty file."""
    write(tmp_path, "a.json", {"resourceType": "Bundle", "type": "transaction", "entry": []})
    entries = [{"resource": {"id": "x"}}, {"resource": {"resourceType": "Basic", "id": "y"}}]
    write(tmp_path, "b.json", {"resourceType": "Bundle", "type": "collection", "entry": entries})
    write(tmp_path, "c.json", {"resourceType": "Bundle", "id": "d1", "type": "document"})
    (tmp_path / "d.ndjson").write_text("\n\n")
    report = Loader(store, CTX, continue_on_error=True).load(expand([str(tmp_path)]))
    assert [f.where for f in report.failures] == [f"{tmp_path / 'b.json'} Bundle.entry[0]"]
    assert report.resources == 2
    assert store.read(CTX, "Bundle", "d1").resource["type"] == "document"
    assert store.read(CTX, "Basic", "y")


def test_stdin_bundles_wait_too(monkeypatch: pytest.MonkeyPatch, store: Any) -> None:
    """Standard input cannot be read twice: a waiting Bundle is kept in memory."""
    lines = [_patient_bundle("Adams", 1), _practitioners(2)]
    data = "".join(json.dumps(b) + "\n" for b in lines).encode()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BufferedReader(io.BytesIO(data))))
    report = Loader(store, CTX).load(expand(["-"]))
    assert not report.failures and report.deferred == 1 and report.resources == 4
    [patient] = store.search(CTX, "Patient?family=Adams").resources
    assert patient["generalPractitioner"][0]["reference"].startswith("Practitioner/")


def test_permissions_are_those_of_the_transaction(tmp_path: Path, store: Any) -> None:
    from helios_persistence.tenancy import Operation, Permissions

    path = write(tmp_path, "a.json", _patient_bundle("Adams", 1))
    write(tmp_path, "z.json", _practitioners(2))
    ops = Operation.all() & ~Operation.UPDATE  # POSTs are allowed: the Bundle loads
    no_update = CTX.with_permissions(Permissions(operations=ops))
    report = Loader(store, no_update).load(expand([str(tmp_path)]))
    assert not report.failures and report.resources == 4
    assert len(store.search(CTX, "Patient?family=Adams").ids) == 1
    no_transaction = CTX.with_permissions(
        Permissions(operations=Operation.all() & ~Operation.TRANSACTION)
    )
    with pytest.raises(LoadStopped, match="TRANSACTION is not permitted"):
        Loader(store, no_transaction).load(expand([str(path)]))
    assert len(store.search(CTX, "Patient?family=Adams").ids) == 1


def test_bundles_after_the_ones_they_reference_are_streamed(tmp_path: Path, store: Any) -> None:
    """The conditional references of the files still to read are resolved before the
    streamed run (a look-ahead), or learned from the batch that creates their targets, so it
    does not stop at each new one."""
    paths = [write(tmp_path, "0.json", _practitioners(4))]
    paths += [write(tmp_path, f"{i}.json", _patient_bundle(f"P{i}", i)) for i in range(1, 4)]
    report = Loader(store, CTX).load(expand([str(p) for p in paths]))
    assert not report.failures and report.deferred == 0 and report.passes == 1
    assert report.streamed == 4 + 3 * 2  # the batch of creates and every patient Bundle
    for i in range(1, 4):
        [patient] = store.search(CTX, f"Patient?family=P{i}").resources
        [gp] = store.search(CTX, f"Practitioner?identifier=urn:npi|{i}").ids
        assert patient["generalPractitioner"] == [{"reference": gp}]


def test_a_batch_reports_its_failing_entries(tmp_path: Path, store: Any) -> None:
    batch = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            {"resource": {"resourceType": "Patient", "id": "ok"},
             "request": {"method": "PUT", "url": "Patient/ok"}},
            {"resource": {"resourceType": "Patient", "id": "x", "birthDate": "not a date"},
             "request": {"method": "PUT", "url": "Patient/x"}},
        ],
    }  # fmt: skip
    path = write(tmp_path, "batch.json", batch)
    report = Loader(store, CTX, continue_on_error=True).load(expand([str(path)]))
    [failure] = report.failures
    assert failure.where == f"{path} Bundle.entry[1]" and failure.message.startswith("400")
    assert failure.outcome["resourceType"] == "OperationOutcome"
    assert report.resources == 1 and store.search(CTX, "Patient").ids == ["Patient/ok"]
