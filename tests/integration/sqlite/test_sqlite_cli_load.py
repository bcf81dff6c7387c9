"""``helios generate`` then ``helios load`` of the NDJSON (the bulk-load path)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import helios_persistence as hp
from helios_persistence.cli import main
from helios_persistence.generator import generate


def test_cli_loads_ndjson_with_and_without_ids(tmp_path: Path) -> None:
    ndjson = tmp_path / "data.ndjson"
    assert main(["generate", "--patients", "3", "--seed", "5", "--output", str(ndjson)]) == 0
    lines = ndjson.read_text(encoding="utf-8").splitlines()
    expected = list(generate(patients=3, seed=5))
    assert [json.loads(line) for line in lines] == expected
    # one more resource without an id: created with a server id on the way
    with ndjson.open("a", encoding="utf-8") as out:
        out.write(json.dumps({"resourceType": "Patient", "name": [{"family": "Noid"}]}) + "\n")
    store_url = f"sqlite:///{tmp_path / 'store.db'}"
    assert main(["load", str(ndjson), "--store", store_url, "--tenant", "t"]) == 0
    ctx = hp.TenantContext.for_tenant("t")
    with hp.open_store(store_url) as store:
        for resource in expected:
            stored = store.read(ctx, resource["resourceType"], resource["id"])
            assert {k: v for k, v in stored.resource.items() if k != "meta"} == {
                k: v for k, v in resource.items() if k != "meta"
            }
        assert len(store.search(ctx, "Patient?family=Noid").ids) == 1
        total = store.search(ctx, "Observation?_count=0&_total=accurate").total
        assert total == sum(r["resourceType"] == "Observation" for r in expected)


def test_cli_load_keeps_decimal_digits(tmp_path: Path) -> None:
    """``helios load`` parses files exactly: ``1.50`` is stored as ``1.50`` (issue 11)."""
    ndjson = tmp_path / "decimals.ndjson"
    bundle = tmp_path / "bundle.json"
    ndjson.write_text(
        '{"resourceType":"Observation","id":"n1","status":"final","code":{"text":"x"},'
        '"valueQuantity":{"value":1.50,"unit":"mg"}}\n',
        encoding="utf-8",
    )
    bundle.write_text(
        '{"resourceType":"Bundle","type":"transaction","entry":[{"resource":'
        '{"resourceType":"Observation","id":"b1","status":"final","code":{"text":"x"},'
        '"valueQuantity":{"value":20.0,"unit":"mg"}},"request":{"method":"PUT",'
        '"url":"Observation/b1"}}]}',
        encoding="utf-8",
    )
    store_url = f"sqlite:///{tmp_path / 'store.db'}"
    assert main(["load", str(ndjson), str(bundle), "--store", store_url, "--tenant", "t"]) == 0
    ctx = hp.TenantContext.for_tenant("t")
    with hp.open_store(store_url) as store:
        assert '"value":1.50' in (store.read(ctx, "Observation", "n1").json or "")
        assert '"value":20.0' in (store.read(ctx, "Observation", "b1").json or "")


def test_a_bad_line_is_named_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ndjson = tmp_path / "bad.ndjson"
    ndjson.write_text('{"resourceType":"Patient","id":"a"}\n{oops\n', encoding="utf-8")
    assert main(["load", str(ndjson), "--store", f"sqlite:///{tmp_path / 's.db'}"]) == 2
    [line] = [x for x in capsys.readouterr().err.splitlines() if x.startswith("error:")]
    assert line.startswith(f"error: {ndjson}:2:") and line.count(str(ndjson)) == 1
