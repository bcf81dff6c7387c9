from __future__ import annotations

import pytest
from sqlite_helpers import count_rows, observation, patient

from helios_persistence.backends.sqlite.store import SQLiteStore
from helios_persistence.errors import (
    InvalidResource,
)
from helios_persistence.tenancy import TenantContext


def test_reference_and_composite_rows(store: SQLiteStore, ctx: TenantContext) -> None:
    obs = observation(
        "Patient/p1",
        id="o1",
        component=[
            {
                "code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
                "valueQuantity": {
                    "value": 120,
                    "system": "http://unitsofmeasure.org",
                    "code": "mm[Hg]",
                },
            }
        ],
    )
    store.update(ctx, obs)
    assert (
        count_rows(
            store,
            ctx,
            "idx_reference",
            id="o1",
            param="subject",
            target_type="Patient",
            target_id="p1",
        )
        == 1
    )
    with store._pool(ctx).read() as conn:
        grps = conn.execute(
            "SELECT param, grp FROM idx_token WHERE id = 'o1' AND param LIKE '%$%' "
            "UNION ALL SELECT param, grp FROM idx_quantity WHERE id = 'o1' AND param LIKE '%$%'"
        ).fetchall()
    assert grps, "composite components are stored with <code>$<i> parameters"
    assert all(g is not None for _, g in grps)
    with store._pool(ctx).read() as conn:
        plain = conn.execute(
            "SELECT count(*) FROM idx_token WHERE id = 'o1' AND param = 'code' AND grp IS NULL"
        ).fetchone()[0]
    assert plain == 1


def test_size_limit(tmp_path) -> None:
    store = SQLiteStore(tmp_path / "x.db", max_resource_bytes=2000)
    ctx = TenantContext.for_tenant("t")
    with pytest.raises(InvalidResource):
        store.create(ctx, patient(text={"status": "generated", "div": "x" * 5000}))
    store.close()


def test_context_manager_and_close() -> None:
    from helios_persistence.store_urls import open_store

    with open_store("sqlite://") as store:
        store.create(TenantContext.for_tenant("a"), patient())
    with pytest.raises(RuntimeError):
        store.read(TenantContext.for_tenant("a"), "Patient", "x")


def test_file_store_persists(tmp_path, ctx: TenantContext) -> None:
    from helios_persistence.store_urls import open_store

    url = f"sqlite:///{tmp_path}/data.db"
    with open_store(url) as store:
        store.update(ctx, patient(id="p1"))
        store.update(ctx, patient(id="p1", family="Two"))
    with open_store(url) as store:
        assert store.read(ctx, "Patient", "p1").version_id == "2"
        assert store.history(ctx, "Patient", "p1")["total"] == 2
        assert store.update(ctx, patient(id="p1")).version_id == "3"
