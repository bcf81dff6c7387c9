"""An export killed mid-way (``kill -9`` of the exporting process): the job is left
``in-progress`` without a manifest, is found stale, and either resumes to a complete export
(from its last checkpoint, keeping the files written before it, or from the start when it has
none; at the system, Patient and Group levels) or is recorded as failed, its partial files
deleted."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import helios_persistence as hp
from helios_persistence.analytics.jobs import ExportJob
from helios_persistence.analytics.lake import NotAnExport

pytest.importorskip("duckdb")

CTX = hp.TenantContext.for_tenant("crash")
EXPORTER = """
import sys, time
import helios_persistence as hp
from helios_persistence.analytics import bulk, export, jobs
export.PAGE_SIZE = bulk.CHUNK = 5
jobs.CHECKPOINT_EVERY = int(sys.argv[3])
store = hp.open_store(sys.argv[1])
ctx = hp.TenantContext.for_tenant("crash")
job = store.export(ctx, types=["Observation"], destination=sys.argv[2],
                   on_progress=lambda counts: time.sleep(0.2))
print(job.id, flush=True)
job.wait()
"""


def _observation(i: int) -> dict[str, object]:
    return {
        "resourceType": "Observation", "id": f"o{i}", "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
        "valueQuantity": {"value": i + 0.25, "unit": "/min"},
    }  # fmt: skip


def _killed_export(
    tmp_path: Path, url: str, destination: Path, checkpoint_every: int = 20_000, at: int = 10
) -> str:
    """Start an export in a subprocess, kill -9 it once it has exported ``at`` resources."""
    proc = subprocess.Popen(
        [sys.executable, "-c", EXPORTER, url, str(destination), str(checkpoint_every)],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    assert proc.stdout is not None
    job_id = proc.stdout.readline().strip()
    with hp.open_store(url) as store:
        job = ExportJob(store, CTX, job_id)
        deadline = time.monotonic() + 60
        while job.counts.get("Observation", 0) < at:
            assert time.monotonic() < deadline, f"export did not progress: {job.status}"
            time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    return job_id


@pytest.fixture
def url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path}/store.db"
    with hp.open_store(url) as store:
        for i in range(60):
            store.update(CTX, _observation(i))
    return url


def test_killed_export_resumes_from_its_last_checkpoint(tmp_path: Path, url: str) -> None:
    destination = tmp_path / "export"
    job_id = _killed_export(tmp_path, url, destination, checkpoint_every=10, at=35)
    checkpoint = json.loads((destination / "_checkpoint.json").read_text())
    assert checkpoint["job"] == job_id and checkpoint["position"]["next"]
    done = checkpoint["state"]["counts"]["Observation"]
    assert 10 <= done < 60
    kept = {
        path: (os.stat(path).st_ino, os.stat(path).st_mtime_ns)
        for files in checkpoint["state"]["files"].values()
        for path, _ in files
    }
    assert kept
    with hp.open_store(url) as store:
        job = ExportJob(store, CTX, job_id)
        assert job.stale
        job.resume().wait()
        assert job.status == "completed", job.error
        assert job.counts == {"Observation": 60}
        stored = {r["id"] for r in store.search(CTX, "Observation?_count=100").resources}
    # the files of the checkpoint were kept as they were, the rest written after it
    assert {p: (os.stat(p).st_ino, os.stat(p).st_mtime_ns) for p in kept} == kept
    manifest = json.loads((destination / "manifest.json").read_text())
    new = [o["count"] for o in manifest["output"] if o["url"][len("file://") :] not in kept]
    assert sum(new) == 60 - done and sum(o["count"] for o in manifest["output"]) == 60
    assert not (destination / "_checkpoint.json").exists()
    with hp.open_analytics(str(destination)) as lake:
        ids = [r["id"] for r in lake.resources("Observation")]
    assert sorted(ids) == sorted(stored)  # each once


def test_killed_export_without_a_checkpoint_starts_again(tmp_path: Path, url: str) -> None:
    destination = tmp_path / "export"
    job_id = _killed_export(tmp_path, url, destination)
    assert not (destination / "manifest.json").exists()
    with hp.open_store(url) as store:
        job = ExportJob(store, CTX, job_id)
        assert job.status == "in-progress" and job.stale and job.manifest is None
        assert 10 <= job.counts["Observation"] < 60
        with pytest.raises(NotAnExport):
            hp.open_analytics(str(destination))
        job.resume().wait()
        assert job.status == "completed", job.error
        assert job.counts == {"Observation": 60}
        manifest = json.loads((destination / "manifest.json").read_text())
        assert sum(o["count"] for o in manifest["output"] if o["type"] == "Observation") == 60
        stored = {r["id"]: r for r in store.search(CTX, "Observation?_count=100").resources}
    with hp.open_analytics(str(destination)) as lake:
        assert {r["id"]: r for r in lake.resources("Observation")} == stored


def test_killed_export_fails_cleanly(tmp_path: Path, url: str) -> None:
    destination = tmp_path / "export"
    job_id = _killed_export(tmp_path, url, destination)
    with hp.open_store(url) as store:
        job = ExportJob(store, CTX, job_id)
        assert job.stale
        job.fail_stale()
        assert job.status == "failed" and not job.stale
        assert "stopped" in job.error["issue"][0]["diagnostics"]
        assert not (destination / "resources").exists()
        with pytest.raises(hp.errors.HeliosError):
            job.resume()  # only a stale running job resumes


PATIENT_EXPORTER = """
import sys, time
import helios_persistence as hp
from helios_persistence.analytics import export, jobs
export.PAGE_SIZE, export.PATIENT_BATCH, jobs.CHECKPOINT_EVERY = 3, 2, 4
store = hp.open_store(sys.argv[1])
ctx = hp.TenantContext.for_tenant("crash")
level = sys.argv[3]
job = store.export(ctx, types=["Patient", "Observation"], destination=sys.argv[2], level=level,
                   group="g" if level == "group" else None,
                   on_progress=lambda counts: time.sleep(0.05))
print(job.id, flush=True)
job.wait()
"""


@pytest.mark.parametrize("level", ["patient", pytest.param("group", marks=pytest.mark.slow)])
def test_killed_patient_level_export_resumes(tmp_path: Path, level: str) -> None:
    """A Patient- or Group-level export resumes after the batch of patients of its last
    checkpoint: the files of the checkpoint are kept, every compartment resource is written
    once (one Observation is in two patients' compartments, on both sides of the kill), and
    nothing outside the compartments (or the Group) is."""
    url = f"sqlite:///{tmp_path}/store.db"
    with hp.open_store(url) as store:
        for i in range(12):
            store.update(CTX, {"resourceType": "Patient", "id": f"p{i:02d}"})
            subject = {"reference": f"Patient/p{i:02d}"}
            for k in range(2):
                store.update(CTX, {**_observation(i * 2 + k), "subject": subject})
        shared = {**_observation(99), "subject": {"reference": "Patient/p00"},
                  "performer": [{"reference": "Patient/p09"}]}  # fmt: skip
        store.update(CTX, shared)
        store.update(CTX, _observation(100))  # in no compartment
        members = [{"entity": {"reference": f"Patient/p{i:02d}"}} for i in range(10)]
        store.update(CTX, {"resourceType": "Group", "id": "g", "type": "person",
                           "actual": True, "member": members})  # fmt: skip
    patients = 12 if level == "patient" else 10
    expected = {"Patient": patients, "Observation": 2 * patients + 1}
    destination = tmp_path / "export"
    proc = subprocess.Popen(
        [sys.executable, "-c", PATIENT_EXPORTER, url, str(destination), level],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    assert proc.stdout is not None
    job_id = proc.stdout.readline().strip()
    checkpoint_file = destination / "_checkpoint.json"
    deadline = time.monotonic() + 60
    with hp.open_store(url) as store:
        job = ExportJob(store, CTX, job_id)
        while not (checkpoint_file.exists() and sum(job.counts.values()) >= 14):
            assert time.monotonic() < deadline, f"export did not progress: {job.status}"
            time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    checkpoint = json.loads(checkpoint_file.read_text())
    assert checkpoint["job"] == job_id
    assert checkpoint["position"]["next"].startswith("\x00patients:")
    assert sum(checkpoint["state"]["counts"].values()) < sum(expected.values())
    assert not (destination / "manifest.json").exists()
    kept = {
        path: os.stat(path).st_mtime_ns
        for files in checkpoint["state"]["files"].values()
        for path, _ in files
    }
    with hp.open_store(url) as store:
        job = ExportJob(store, CTX, job_id)
        assert job.stale
        job.resume().wait()
        assert job.status == "completed", job.error
        assert job.counts == expected
        stored = {
            rtype: {r["id"]: r for r in store.search(CTX, f"{rtype}?_count=100").resources}
            for rtype in expected
        }
    assert {p: os.stat(p).st_mtime_ns for p in kept} == kept
    manifest = json.loads((destination / "manifest.json").read_text())
    for rtype, count in expected.items():
        assert sum(o["count"] for o in manifest["output"] if o["type"] == rtype) == count
    with hp.open_analytics(str(destination)) as lake:
        for rtype, count in expected.items():
            exported = list(lake.resources(rtype))
            assert len(exported) == count  # each once
            for r in exported:
                assert r == stored[rtype][r["id"]]
        ids = {r["id"] for r in lake.resources("Observation")}
    assert "o99" in ids and "o100" not in ids
