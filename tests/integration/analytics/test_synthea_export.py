"""Synthea (78 patients, 45,874 resources) exported at each level: the expected counts, a
Patient-level export holding exactly the Patient compartment, a Group-level one exactly its
members' compartments, every resource read back JSON-equal, and the peak memory of a whole
export (a subprocess, so the bound is measured on its own)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import helios_persistence as hp
from helios_persistence.indexing import ReferenceRow
from helios_persistence.results import dumps
from helios_persistence.storage import exact_json
from helios_persistence.tenancy import compartment_params
from helios_persistence.testing.export_peak import export_peak

try:
    from tests.integration.analytics.shared_data import DATA
except ImportError:  # plain `pytest`: tests/ itself is on sys.path
    from integration.analytics.shared_data import DATA  # type: ignore[no-redef]

pytest.importorskip("duckdb")
SYNTHEA = DATA / "synthea"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not SYNTHEA.is_dir(), reason=f"Synthea data not found at {SYNTHEA}"),
]


def _digits(resource: dict[str, Any]) -> Any:
    """The resource with every decimal as its written text (so 1.10 is not 1.1)."""
    return json.loads(dumps(resource), parse_float=str)


CTX = hp.TenantContext.for_tenant("synthea")
#: the goal of the issue: an export's peak memory, whatever the data's size
MEMORY_BOUND_MB = 512


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    folder = tmp_path_factory.mktemp("synthea")
    url = f"sqlite:///{folder}/synthea.db"
    shared = sorted(SYNTHEA.glob("hospitalInformation*.json")) + sorted(
        SYNTHEA.glob("practitionerInformation*.json")
    )
    patients = sorted(p for p in SYNTHEA.glob("*.json") if p not in shared)
    with hp.open_store(url) as store:
        for path in [*shared, *patients]:
            store.transaction(CTX, json.loads(path.read_text(encoding="utf-8")))
    yield url, folder


def _export(store: Any, destination: Path, **kw: Any) -> Any:
    job = store.export(CTX, destination=str(destination), **kw).wait()
    assert job.status == "completed", job.error
    return job


def _all(store: Any, rtype: str) -> Iterator[dict[str, Any]]:
    """The stored resources of ``rtype``, decimals as written (a search's went through
    ``float``)."""
    with store.read_session(CTX) as s:
        rows = s.conn.execute(
            "SELECT json FROM resources WHERE tenant = ? AND type = ? AND deleted = 0",
            [CTX.tenant_key, rtype],
        )
        for (text,) in rows:
            yield exact_json.loads(text)


def test_system_export_counts_and_round_trip(loaded: tuple[str, Path]) -> None:
    url, folder = loaded
    with hp.open_store(url) as store:
        job = _export(store, folder / "system")
        counts = job.counts
        assert counts["Patient"] == 78
        assert counts["Observation"] == 17_117
        assert counts["Practitioner"] == 1_191
        assert sum(counts.values()) >= 45_874
        with hp.open_analytics(str(folder / "system")) as lake:
            for rtype, count in counts.items():
                back = {r["id"]: r for r in lake.resources(rtype)}
                assert len(back) == count
                for stored in _all(store, rtype):
                    got, key = back[stored["id"]], f"{rtype}/{stored['id']}"
                    assert got == stored and _digits(got) == _digits(stored), key
                raw = lake.sql(f'select count(*) from "{rtype.lower()}" where _raw is not null')
                assert raw.fetchall() == [(0,)], rtype  # every Synthea resource is typed
            by_code = lake.sql(
                "select count(*) from observation, unnest(code.coding) as t(c) "
                "where c.code = '8867-4'"
            ).fetchall()[0][0]
            assert by_code == store.search(CTX, "Observation?code=8867-4&_total=accurate").total


def _in_compartment(store: Any, r: dict[str, Any], patients: set[str] | None) -> bool:
    if r["resourceType"] == "Patient":
        return patients is None or r["id"] in patients
    params = set(compartment_params("Patient", r["resourceType"]))
    return any(
        isinstance(row, ReferenceRow) and row.param in params and row.target_type == "Patient"
        and (patients is None or row.target_id in patients)
        for row in store._extract(r).rows
    )  # fmt: skip


def test_patient_and_group_level_exports_are_the_compartments(loaded: tuple[str, Path]) -> None:
    url, folder = loaded
    with hp.open_store(url) as store:
        members = [r["id"] for r in store.search(CTX, "Patient?_count=3&_sort=_id").resources]
        member = [{"entity": {"reference": f"Patient/{m}"}} for m in members]
        group = {"resourceType": "Group", "id": "three", "type": "person", "actual": True}
        store.update(CTX, {**group, "member": member})
        _export(store, folder / "patient", level="patient")
        _export(store, folder / "group", level="group", group="three")
        system = folder / "system-all"
        _export(store, system)
        with hp.open_analytics(str(system)) as lake:
            everything = list(lake.resources())
        expected_patient = {
            (r["resourceType"], r["id"]) for r in everything if _in_compartment(store, r, None)
        }
        expected_group = {
            (r["resourceType"], r["id"])
            for r in everything
            if _in_compartment(store, r, set(members))
        }
    for name, expected in (("patient", expected_patient), ("group", expected_group)):
        with hp.open_analytics(str(folder / name)) as lake:
            got = [(r["resourceType"], r["id"]) for r in lake.resources()]
        assert len(got) == len(set(got)), f"{name}: a resource exported twice"
        assert set(got) == expected, name
    assert ("Practitioner", "x") not in expected_patient
    assert not any(t == "Practitioner" for t, _ in expected_patient)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux's /proc")
def test_peak_memory_of_a_whole_export(loaded: tuple[str, Path]) -> None:
    url, folder = loaded
    ballast = b"x" * (600 << 20)  # a big parent must not count (it did with ru_maxrss)
    exported, own_mb, reader_mb = export_peak(url, str(folder / "peak"), "synthea")
    del ballast
    assert exported >= 45_874
    peak_mb = own_mb + reader_mb
    print(f"peak RSS of a whole export of {exported} resources: {own_mb} MB + {reader_mb} MB")
    assert 50 < peak_mb < MEMORY_BOUND_MB
