"""An export killed mid-way (``kill -9`` of the exporting process): the job is left
``in-progress`` without a manifest, is found stale, and either resumes to a complete export
(from its last checkpoint, keeping the files written before it, or from the start when it has
none) or is recorded as failed, its partial files deleted."""

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
