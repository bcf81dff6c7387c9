"""``helios explain`` and ``helios status`` (and ``--store composite://...`` elsewhere)."""

from __future__ import annotations

import json
from urllib.parse import quote, unquote

import pytest

import helios_persistence as hp
from helios_persistence.cli import main
from helios_persistence.generator import generate


@pytest.fixture
def url(tmp_path) -> str:
    path = tmp_path / "primary.db"
    with hp.open_store(f"sqlite:///{path}") as store:
        store.bulk_load(hp.TenantContext.for_tenant("default"), list(generate(4, seed=2)))
    return "composite://?primary=" + quote(f"sqlite:///{path}", safe="") + "&sync=async"


def test_explain_shows_features_plan_and_costs(url: str, capsys) -> None:
    query = "Patient?_text=diabetes&gender=male&_include=Patient:organization"
    assert main(["explain", query, "--store", url, "--format", "json", "--run"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["features"]["kinds"] == ["text", "include", "plain"]
    assert [p["backend"] for p in plan["parts"]] == ["primary", "primary"]
    assert plan["strategy"] == "primary-only" and plan["costs"].startswith("defaults")
    with hp.open_store(unquote(url.split("primary=")[1].split("&")[0])) as store:
        want = store.search(hp.TenantContext.for_tenant("default"), query)
    assert plan["matches"] == len(want.resources) > 0
    assert main(["explain", query, "--store", url]) == 0
    assert "strategy: primary-only" in capsys.readouterr().out


def test_status_and_search_through_a_composite_url(url: str, capsys) -> None:
    assert main(["status", "--store", url, "--format", "json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status == {"primary": "sqlite", "sync": "async", "worker": False, "secondaries": []}
    assert main(["search", "Patient?gender=male", "--store", url, "--format", "json"]) == 0
    assert all(r["gender"] == "male" for r in json.loads(capsys.readouterr().out))


def test_a_bad_composite_url_is_a_clear_error(capsys) -> None:
    bad = "composite://?primary=sqlite%3A%2F%2F&search=" + quote("postgresql://x/y", safe="")
    assert main(["status", "--store", bad]) == 2
    assert "InvalidComposite: PostgreSQL cannot be the search secondary" in capsys.readouterr().err
