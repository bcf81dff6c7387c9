"""``helios export``, ``helios analytics``, ``helios sql``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import helios_persistence as hp
from helios_persistence.cli import main

pytest.importorskip("duckdb")


@pytest.fixture
def url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path}/cli.db"
    ctx = hp.TenantContext.for_tenant("default")
    with hp.open_store(url) as store:
        for i in range(4):
            store.update(ctx, {"resourceType": "Patient", "id": f"p{i}",
                               "gender": "female" if i % 2 else "male"})  # fmt: skip
            store.update(ctx, {"resourceType": "Observation", "id": f"o{i}", "status": "final",
                               "code": {"text": "pulse"},
                               "subject": {"reference": f"Patient/p{i}"}})  # fmt: skip
    return url


def test_export_analytics_and_sql(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert main(["export", "--store", url, "--type", "Patient,Observation",
                 "--type-filter", "Patient?gender=female", "--out", str(out)]) == 0  # fmt: skip
    assert "6 resources written" in capsys.readouterr().out  # 2 patients + 4 observations
    manifest = json.loads((out / "manifest.json").read_text())
    assert {o["type"]: o["count"] for o in manifest["output"]} == {"Patient": 2, "Observation": 4}

    assert main(["analytics", str(out), "Observation?subject=Patient/p1", "--bundle"]) == 0
    bundle = json.loads(capsys.readouterr().out)
    assert [e["resource"]["id"] for e in bundle["entry"]] == ["o1"]

    assert main(["analytics", str(out), "Patient?_sort=_id"]) == 0
    table = capsys.readouterr().out
    assert "p1" in table and "p3" in table and "p0" not in table

    assert main(["sql", str(out), "select gender, count(*) as n from patient group by 1"]) == 0
    assert "female" in capsys.readouterr().out

    assert main(["sql", str(out), "select nonsense from patient"]) == 2
    assert main(["export", "--store", url, "--type", "Nope", "--out", str(tmp_path / "x")]) == 2
    captured = capsys.readouterr()
    assert "unknown resource type" in captured.out + captured.err
    assert main(["analytics", str(tmp_path), "Patient"]) == 2  # not an export
