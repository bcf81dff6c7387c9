"""The reindex building block: progress, cancellation, resuming, per type and per parameter."""

from __future__ import annotations

import threading
from typing import Any

from helios_persistence.indexing import extract
from helios_persistence.indexing.reindex_plan import Progress, plan
from helios_persistence.registry import default_registry


def _resources() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i in range(10):
        out.append({"resourceType": "Observation", "id": f"o{i}", "status": "final",
                    "subject": {"reference": f"Patient/p{i}"}})  # fmt: skip
        out.append({"resourceType": "Patient", "id": f"p{i}", "gender": "female"})
    out.append({"resourceType": "Patient", "id": "px", "birthDate": "not a date"})
    return sorted(out, key=lambda r: (r["resourceType"], r["id"]))


def test_reindexes_everything_with_progress() -> None:
    reports: list[Progress] = []
    job = plan(_resources(), total=21, on_progress=reports.append, every=5)
    items = list(job)
    assert len(items) == 21
    ok = [i for i in items if i.index is not None]
    assert len(ok) == 20
    (bad,) = [i for i in items if i.error is not None]
    assert (bad.resource_type, bad.id) == ("Patient", "px")
    assert "birthdate" in bad.error.message
    for item in ok:
        resource = next(r for r in _resources() if r["id"] == item.id)
        assert item.index == extract(resource)
    assert [r.done + r.failed for r in reports[:-1]] == [5, 10, 15, 20]
    final = reports[-1]
    assert final.finished and not final.cancelled
    assert (final.done, final.failed, final.total) == (20, 1, 21)
    assert final.last_key == ("Patient", "px")  # the last key in scan order
    assert job.progress == final


def test_cancel_and_resume_index_each_resource_once() -> None:
    cancel = threading.Event()
    first: list[Any] = []
    job = plan(_resources(), cancel=cancel)
    for item in job:
        first.append(item.key)
        if len(first) == 7:
            cancel.set()
    assert job.progress.cancelled and not job.progress.finished
    assert job.progress.last_key == first[-1]
    resumed = [item.key for item in plan(_resources(), after=job.progress.last_key)]
    assert first + resumed == [(r["resourceType"], r["id"]) for r in _resources()]
    assert not set(first) & set(resumed)


def test_per_type_and_per_parameter() -> None:
    items = list(plan(_resources(), resource_types={"Observation"}, params={"patient"}))
    assert {i.resource_type for i in items} == {"Observation"}
    for item in items:
        assert item.index is not None
        assert {r.param for r in item.index.rows} == {"patient"}


def test_uses_the_given_registry() -> None:
    registry = default_registry().copy()
    registry.unregister("http://hl7.org/fhir/SearchParameter/individual-gender")
    items = list(plan(_resources(), registry=registry, resource_types={"Patient"}))
    assert all("gender" not in {r.param for r in i.index.rows} for i in items if i.index)
