"""Load the Synthea data set: two batch Bundles of conditional creates, then 78 patients'
transaction Bundles with conditional references."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from helios_persistence.store_urls import open_store
from helios_persistence.tenancy import TenantContext

DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "synthea"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not DATA.is_dir(), reason=f"Synthea data not found at {DATA}"),
]


def test_load_synthea(tmp_path: Path) -> None:
    ctx = TenantContext.for_tenant("synthea")
    shared = sorted(DATA.glob("hospitalInformation*.json")) + sorted(
        DATA.glob("practitionerInformation*.json")
    )
    patients = sorted(p for p in DATA.glob("*.json") if p not in shared)
    assert len(shared) == 2 and patients
    with open_store(f"sqlite:///{tmp_path}/synthea.db") as store:
        expected: Counter[str] = Counter()
        for path in shared:
            bundle = json.loads(path.read_text(encoding="utf-8"))
            response = store.transaction(ctx, bundle)
            assert response["type"] == "batch-response"
            statuses = Counter(e["response"]["status"] for e in response["entry"])
            assert set(statuses) <= {"201 Created", "200 OK"}, statuses
            expected.update(e["resource"]["resourceType"] for e in bundle["entry"])
        # loading the same batch again creates nothing (ifNoneExist matches)
        again = store.transaction(ctx, json.loads(shared[0].read_text(encoding="utf-8")))
        assert {e["response"]["status"] for e in again["entry"]} == {"200 OK"}

        for path in patients:
            bundle = json.loads(path.read_text(encoding="utf-8"))
            response = store.transaction(ctx, bundle)
            assert response["type"] == "transaction-response"
            assert all(e["response"]["status"] == "201 Created" for e in response["entry"])
            expected.update(e["resource"]["resourceType"] for e in bundle["entry"])

        with store._pool(ctx).read() as conn:
            counts = dict(
                conn.execute(
                    "SELECT type, count(*) FROM resources WHERE tenant = ? GROUP BY type",
                    (ctx.tenant_key,),
                ).fetchall()
            )
            dangling = conn.execute(
                "SELECT count(*) FROM idx_reference r WHERE r.tenant = ? AND r.target_type "
                "IS NOT NULL AND r.target_id NOT LIKE '#%' AND NOT EXISTS (SELECT 1 "
                "FROM resources t WHERE t.tenant = r.tenant AND t.type = r.target_type "
                "AND t.id = r.target_id)",
                (ctx.tenant_key,),
            ).fetchone()[0]
            unresolved = conn.execute(
                'SELECT count(*) FROM resources WHERE json LIKE \'%"reference":"urn:uuid:%\' '
                'OR json LIKE \'%"reference":"Practitioner?%\''
            ).fetchone()[0]
        assert counts == dict(expected)
        assert len(patients) != 78 or sum(counts.values()) == 45_874  # as documented
        assert unresolved == 0
        assert dangling == 0
        # spot check: the patients can be searched and their observations are linked
        some = store.search(ctx, "Patient?_count=5")
        assert len(some.resources) == 5
        pid = some.resources[0]["id"]
        obs = store.search(ctx, f"Observation?subject=Patient/{pid}&_count=1")
        assert obs.resources
