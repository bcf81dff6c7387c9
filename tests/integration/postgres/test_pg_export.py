"""Bulk export from PostgreSQL (every tenancy strategy): the job is persisted in the store's
``export_jobs`` table (migration 007, row-level security), the export holds only the tenant's
resources, and DuckDB over it answers as the store does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import helios_persistence as hp
from helios_persistence.analytics.jobs import ExportJob
from helios_persistence.errors import NotFound
from helios_persistence.tenancy import TenantContext

pytest.importorskip("duckdb")


def _observation(i: int) -> dict[str, Any]:
    return {
        "resourceType": "Observation", "id": f"o{i}", "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4" if i % 2 else "x"}]},
        "subject": {"reference": f"Patient/p{i % 3}"},
        "valueQuantity": {"value": 60 + i, "unit": "/min"},
    }  # fmt: skip


def test_export_from_postgres(tstore: Any, ctx: TenantContext, tmp_path: Path) -> None:
    other = TenantContext.for_tenant("other")
    for i in range(3):
        tstore.update(ctx, {"resourceType": "Patient", "id": f"p{i}", "gender": "female"})
    for i in range(12):
        tstore.update(ctx, _observation(i))
    tstore.update(other, {"resourceType": "Patient", "id": "x", "gender": "male"})
    job = tstore.export(ctx, destination=str(tmp_path / "e")).wait()
    assert job.status == "completed", job.error
    assert job.counts == {"Patient": 3, "Observation": 12}
    assert [j.id for j in tstore.export_jobs(ctx)] == [job.id]
    assert tstore.export_jobs(other) == []
    with pytest.raises(NotFound):
        _ = ExportJob(tstore, other, job.id).status
    query = "Observation?code=8867-4&_include=Observation:subject&_sort=-value-quantity"
    with hp.open_analytics(str(tmp_path / "e")) as lake:
        mine, theirs = lake.search(query), tstore.search(ctx, query)
        assert mine.ids == theirs.ids and len(mine.ids) == 6
        assert mine.resources == theirs.resources
        assert sorted(r["id"] for r in mine.included) == ["p0", "p1", "p2"]
        assert lake.sql("select count(*) from patient").fetchall() == [(3,)]
