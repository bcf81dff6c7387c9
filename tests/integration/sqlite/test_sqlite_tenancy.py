"""No operation ever crosses tenants, in either tenancy strategy."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlite_helpers import patient

from helios_persistence.errors import NotFound
from helios_persistence.store_urls import open_store
from helios_persistence.tenancy import TenantContext, TenantId, tenant_file_name

A = TenantContext.for_tenant("acme")
B = TenantContext.for_tenant("globex")
CHILD = TenantContext.for_tenant("acme/research")


def test_database_per_tenant_files(tmp_path: Path) -> None:
    folder = tmp_path / "tenants"
    with open_store(f"sqlite:///{folder}?tenancy=database") as store:
        store.update(A, patient(id="p1"))
        store.update(CHILD, patient(id="p1"))
        store.update(TenantContext.for_tenant("Acme"), patient(id="p1"))
    names = sorted(p.name for p in folder.iterdir() if p.suffix == ".db")
    assert names == sorted(tenant_file_name(t) for t in ("acme", "acme/research", "Acme"))
    assert all("/" not in n for n in names)
    with open_store(f"sqlite:///{folder}?tenancy=database") as store:
        assert store.read(CHILD, "Patient", "p1").version_id == "1"
        assert set(store.tenants()) == {
            TenantId("acme"),
            TenantId("acme/research"),
            TenantId("Acme"),
        }


def test_tenant_column_is_filled(tmp_path: Path) -> None:
    with open_store(f"sqlite:///{tmp_path}/db.sqlite") as store:
        store.update(A, patient(id="p1"))
        store.update(B, patient(id="p1"))
        with store._pool(A).read() as conn:
            for table in ("resources", "history", "idx_string", "outbox", "resource_text"):
                tenants = {r[0] for r in conn.execute(f"SELECT tenant FROM {table}")}
                assert tenants == {"acme", "globex"}, table


@pytest.mark.parametrize("where", ["memory", "file"])
def test_reads_never_create_a_tenant(tmp_path: Path, where: str) -> None:
    url = f"sqlite:///{tmp_path}/dbs" if where == "file" else "sqlite://"
    with open_store(f"{url}?tenancy=database") as store:
        known = TenantContext.for_tenant("acme")
        store.update(known, {"resourceType": "Patient", "id": "p1"})
        stranger = TenantContext.for_tenant("never-seen")
        with pytest.raises(NotFound):
            store.read(stranger, "Patient", "p1")
        assert store.search(stranger, "Patient").resources == []
        assert store.history(stranger)["total"] == 0
        assert store.tenants() == [TenantId("acme")]
        if where == "file":
            assert {p.name.split(".")[0] for p in (tmp_path / "dbs").iterdir()} == {"acme"}
        store.update(stranger, {"resourceType": "Patient", "id": "p1"})  # a write creates it
        assert store.tenants() == [TenantId("acme"), TenantId("never-seen")]
        assert store.read(stranger, "Patient", "p1").id == "p1"
