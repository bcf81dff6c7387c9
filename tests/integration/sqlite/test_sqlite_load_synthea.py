"""``helios load`` on the real Synthea data, in an order where the patients' conditional
references (``Practitioner?identifier=...``) point into Bundles read after them."""

from __future__ import annotations

import json
import os
import random
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

import helios_persistence as hp
from helios_persistence.cli import main
from helios_persistence.loading import Loader, expand
from helios_persistence.loading.units import conditional_references


def _synthea() -> Path:
    env = os.environ.get("HELIOS_SHARED_DATA")
    base = Path(env) if env else Path(__file__).resolve().parents[3].parent / "shared" / "data"
    return base / "synthea"


DATA = _synthea()
pytestmark = pytest.mark.skipif(
    not DATA.is_dir(), reason=f"Synthea data not found at {DATA} (set HELIOS_SHARED_DATA)"
)
CTX = hp.TenantContext.for_tenant("synthea")


def _files() -> tuple[list[Path], list[Path]]:
    shared = sorted(DATA.glob("hospitalInformation*.json")) + sorted(
        DATA.glob("practitionerInformation*.json")
    )
    patients = sorted(p for p in DATA.glob("*.json") if p not in shared)
    return shared, patients


def _check(store: Any, patients: list[dict[str, Any]]) -> None:
    """Every entry of the patients' Bundles is stored, with its references resolved."""
    expected = Counter(e["resource"]["resourceType"] for b in patients for e in b["entry"])
    for rtype, count in expected.items():
        total = store.search(CTX, f"{rtype}?_count=0&_total=accurate").total
        assert total == count, rtype
    encounters = store.search(CTX, "Encounter?_count=50").resources
    assert encounters
    for encounter in encounters:
        references = conditional_references(encounter)
        assert not references, references
        for participant in encounter.get("participant", []):
            rtype, rid = participant["individual"]["reference"].split("/")
            assert store.read(CTX, rtype, rid).resource["resourceType"] == "Practitioner"
        rtype, rid = encounter["serviceProvider"]["reference"].split("/")
        assert store.read(CTX, rtype, rid).resource["resourceType"] == "Organization"


@pytest.mark.parametrize("information_first", [False, True])
def test_three_patients_and_the_bundles_they_reference(
    tmp_path: Path, information_first: bool
) -> None:
    """Always run: three real patients, before or after the information Bundles cut down to
    the entries those patients reference and a few others (the whole ones take minutes).
    Every Bundle is streamed: the information Bundles' criteria are read ahead."""
    shared, patients = _files()
    chosen = [json.loads(p.read_text(encoding="utf-8")) for p in patients[:3]]
    wanted = set().union(*(conditional_references(b) for b in chosen))
    paths = []
    for i, bundle in enumerate(chosen):
        paths.append(tmp_path / f"{i}.json")
        paths[-1].write_text(json.dumps(bundle), encoding="utf-8")
    kept: list[dict[str, Any]] = []  # entries of the cut information Bundles
    information = []
    for path in shared:
        bundle = json.loads(path.read_text(encoding="utf-8"))
        others = [e for e in bundle["entry"] if _criteria(e) not in wanted][:5]
        bundle["entry"] = [e for e in bundle["entry"] if _criteria(e) in wanted] + others
        kept += bundle["entry"]
        information.append(tmp_path / path.name)
        information[-1].write_text(json.dumps(bundle), encoding="utf-8")
    paths = information + paths if information_first else paths + information
    url = f"sqlite:///{tmp_path / 'synthea.db'}"
    with hp.open_store(url) as store:
        report = Loader(store, CTX).load(expand([str(p) for p in paths]))
        assert not report.failures
        assert (report.deferred, report.passes) == ((0, 1) if information_first else (3, 2))
        assert report.streamed == sum(len(b["entry"]) for b in chosen) + len(kept)
        _check(store, chosen)
        again = Loader(store, CTX).load(expand([str(p) for p in information]))
        assert not again.failures and again.resources == len(kept)
        roles = sum(e["request"]["url"] == "PractitionerRole" for e in kept)  # no criteria
        assert again.streamed == roles  # every other entry's ifNoneExist matches
        for rtype in ("Practitioner", "Organization", "Location"):
            assert store.search(CTX, f"{rtype}?_summary=count").total == sum(
                e["request"]["url"] == rtype for e in kept
            )


def _criteria(entry: dict[str, Any]) -> str:
    return f"{entry['request']['url']}?{entry['request'].get('ifNoneExist')}"


@pytest.mark.slow
def test_all_of_synthea_in_a_shuffled_order(tmp_path: Path) -> None:
    shared, patients = _files()
    files = [str(p) for p in shared + patients]
    random.Random(13).shuffle(files)
    url = f"sqlite:///{tmp_path / 'synthea.db'}"
    assert main(["load", *files, "--store", url, "--tenant", "synthea"]) == 0
    bundles = [json.loads(p.read_text(encoding="utf-8")) for p in patients]
    with hp.open_store(url) as store:
        _check(store, bundles)
        for rtype in ["Practitioner", "Organization", "Location"]:  # conditional creates
            assert store.search(CTX, f"{rtype}?_count=0&_total=accurate").total > 0
