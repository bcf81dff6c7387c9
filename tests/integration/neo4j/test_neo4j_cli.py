"""``helios graph check`` and ``helios graph rebuild`` between a SQLite primary and Neo4j."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import helios_persistence as hp
from helios_persistence.cli import main

try:
    from tests.integration.neo4j.conftest import neo4j_url
except ImportError:  # plain `pytest`: tests/ itself is on sys.path
    from integration.neo4j.conftest import neo4j_url  # type: ignore[no-redef]

pytestmark = pytest.mark.services


def test_check_reports_drift_and_rebuild_mends_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    primary_url = f"sqlite:///{tmp_path}/primary.db"
    graph_url = neo4j_url(temporary="false")  # kept between the commands
    ctx = hp.TenantContext.for_tenant("acme")
    with hp.open_store(primary_url) as primary:
        for i in range(3):
            primary.update(ctx, {"resourceType": "Patient", "id": f"p{i}", "gender": "male"})
    args = ["--primary", primary_url, "--graph", graph_url, "--tenant", "acme"]
    graph: Any = hp.open_store(graph_url)
    try:
        assert main(["graph", "check", *args]) == 1
        out = capsys.readouterr().out
        assert "missing         3  Patient/p0, Patient/p1, Patient/p2" in out
        assert main(["graph", "rebuild", *args]) == 0
        assert "applied 3" in capsys.readouterr().out
        assert main(["graph", "check", *args]) == 0
        assert "matches the primary" in capsys.readouterr().out
        assert [r["id"] for r in graph.search(ctx, "Patient?gender=male&_sort=_id")] == [
            "p0", "p1", "p2",
        ]  # fmt: skip
    finally:
        graph.drop_namespace()
        graph.close()


def test_an_unreachable_graph_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    primary_url = f"sqlite:///{tmp_path}/primary.db"
    hp.open_store(primary_url).close()
    graph_url = "bolt://127.0.0.1:1?connect_timeout=1"
    assert main(["graph", "check", "--primary", primary_url, "--graph", graph_url]) == 2
    assert "Unavailable" in capsys.readouterr().err
