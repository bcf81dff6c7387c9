"""Every official R4 example and every Synthea resource indexes in Elasticsearch (slow: the
whole data set; `make test-slow`). Another FHIR server's Elasticsearch index refused 458 of
11,704 Synthea Provenance resources (``nested_objects.limit``); here nothing may fail, and the
index must then hold exactly the primary's resources."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

import helios_persistence as hp
from helios_persistence.cli import main
from helios_persistence.storage.sync import Change, compare, rebuild


def _data() -> Path:
    env = os.environ.get("HELIOS_SHARED_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[3].parent / "shared" / "data"


DATA = _data()
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not DATA.is_dir(), reason=f"shared data not at {DATA} (HELIOS_SHARED_DATA)"),
]


def test_every_official_example_indexes(es_store: Any) -> None:
    ctx = hp.TenantContext.for_tenant("examples")
    folder = DATA / "fhir-r4" / "examples"
    changes = []
    for i, path in enumerate(sorted(folder.glob("*.json"))):
        resource = json.loads(path.read_text(encoding="utf-8"))
        if "id" not in resource:
            continue
        changes.append(Change(i, "examples", resource["resourceType"], resource["id"], 1,
                              "upsert", 0, resource))  # fmt: skip
    assert len(changes) > 2000
    report = es_store.apply(ctx, changes)
    assert report.failed == [], report.failed[:5]
    # (some examples share a type and id: the later one is stale)
    assert report.applied + report.stale == len(changes)
    assert len(es_store.versions(ctx)) == report.applied


def test_all_of_synthea_indexes_and_matches_its_primary(tmp_path: Path, es_store: Any) -> None:
    synthea = DATA / "synthea"
    shared = sorted(synthea.glob("hospitalInformation*.json")) + sorted(
        synthea.glob("practitionerInformation*.json")
    )
    patients = sorted(p for p in synthea.glob("*.json") if p not in shared)
    url = f"sqlite:///{tmp_path / 'synthea.db'}"
    files = [str(p) for p in shared + patients]
    assert main(["load", *files, "--store", url, "--tenant", "synthea"]) == 0
    ctx = hp.TenantContext.for_tenant("synthea")
    with hp.open_store(url) as primary:
        report = rebuild(primary, es_store, ctx, batch=2000)
        assert report.failed == [], report.failed[:5]
        assert report.applied > 45_000
        assert compare(primary, es_store, ctx).clean
        for rtype in ("Provenance", "Observation", "Patient", "Encounter"):
            query = f"{rtype}?_count=0&_total=accurate"
            assert es_store.search(ctx, query).total == primary.search(ctx, query).total
        query = "Observation?code=http://loinc.org|8867-4&date=ge2015&_total=accurate&_count=0"
        assert es_store.search(ctx, query).total == primary.search(ctx, query).total
