"""``helios search-index check|rebuild`` against a SQLite primary file."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from helios_persistence import TenantContext, open_store
from helios_persistence.cli import main


def test_check_reports_drift_and_rebuild_removes_it(
    tmp_path: Path, es_url: str, es_index: str, capsys: Any
) -> None:
    primary_url = f"sqlite:///{tmp_path}/primary.db"
    ctx = TenantContext.for_tenant("clinic")
    with open_store(primary_url) as primary:
        for i in range(3):
            primary.update(ctx, {"resourceType": "Patient", "id": f"p{i}", "gender": "male"})
    index_url = f"{es_url}?prefix={es_index}&namespace={uuid.uuid4().hex[:12]}&refresh=true"
    args = ["--primary", primary_url, "--index", index_url, "--tenant", "clinic"]
    try:
        assert main(["search-index", "check", *args]) == 1
        out = capsys.readouterr().out
        assert "missing" in out and "Patient/p0" in out
        assert main(["search-index", "rebuild", *args]) == 0
        assert "applied 3" in capsys.readouterr().out
        assert main(["search-index", "check", *args]) == 0
        assert "matches the primary" in capsys.readouterr().out
        with open_store(index_url) as index:
            assert index.search(ctx, "Patient?gender=male&_total=accurate").total == 3
    finally:
        index = open_store(index_url)
        index.drop()
        index.close()
