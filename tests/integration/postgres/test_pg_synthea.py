"""Load the Synthea data set into PostgreSQL (slow: about two minutes, so it runs only with
``HELIOS_PG_SYNTHEA=1``, keeping the PostgreSQL suite near 30 s): two batch Bundles of
conditional creates, then every patient's transaction Bundle with conditional references."""

from __future__ import annotations

import json
import os
from collections import Counter
from typing import Any

import pytest
from test_sqlite_synthea import DATA

from helios_persistence.tenancy import TenantContext

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not DATA.is_dir(), reason=f"Synthea data not found at {DATA}"),
    pytest.mark.skipif(
        not os.environ.get("HELIOS_PG_SYNTHEA"), reason="about 2 minutes: set HELIOS_PG_SYNTHEA=1"
    ),
]


def test_load_synthea(make_store: Any) -> None:
    ctx = TenantContext.for_tenant("synthea")
    shared = sorted(DATA.glob("hospitalInformation*.json")) + sorted(
        DATA.glob("practitionerInformation*.json")
    )
    patients = sorted(p for p in DATA.glob("*.json") if p not in shared)
    store = make_store()
    expected: Counter[str] = Counter()
    for path in shared:
        bundle = json.loads(path.read_text(encoding="utf-8"))
        response = store.transaction(ctx, bundle)
        statuses = Counter(e["response"]["status"] for e in response["entry"])
        assert set(statuses) <= {"201 Created", "200 OK"}, statuses
        expected.update(e["resource"]["resourceType"] for e in bundle["entry"])
    again = store.transaction(ctx, json.loads(shared[0].read_text(encoding="utf-8")))
    assert {e["response"]["status"] for e in again["entry"]} == {"200 OK"}
    for path in patients:
        bundle = json.loads(path.read_text(encoding="utf-8"))
        response = store.transaction(ctx, bundle)
        assert all(e["response"]["status"] == "201 Created" for e in response["entry"])
        expected.update(e["resource"]["resourceType"] for e in bundle["entry"])
    with store.read_session(ctx) as s:
        counts = dict(
            s.conn.execute(
                "SELECT type, count(*) FROM resources WHERE tenant = %s GROUP BY type",
                [ctx.tenant_key],
            ).fetchall()
        )
        dangling = s.conn.execute(
            "SELECT count(*) FROM idx_reference r WHERE r.tenant = %s AND r.target_type "
            "IS NOT NULL AND r.target_id NOT LIKE '#%%' AND NOT EXISTS (SELECT 1 "
            "FROM resources t WHERE t.tenant = r.tenant AND t.type = r.target_type "
            "AND t.id = r.target_id)",
            [ctx.tenant_key],
        ).fetchone()[0]
        unresolved = s.conn.execute(
            "SELECT count(*) FROM resources WHERE json::text LIKE %s OR json::text LIKE %s",
            ['%"reference": "urn:uuid:%', '%"reference": "Practitioner?%'],
        ).fetchone()[0]
    assert counts == dict(expected)
    assert len(patients) != 78 or sum(counts.values()) == 45_874
    assert unresolved == 0 and dangling == 0
    some = store.search(ctx, "Patient?_count=5")
    pid = some.resources[0]["id"]
    assert store.search(ctx, f"Observation?subject=Patient/{pid}&_count=1").resources
