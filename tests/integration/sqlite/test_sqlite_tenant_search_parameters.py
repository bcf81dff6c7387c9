"""Custom SearchParameters stay with their tenant across a reopen (issue 12): the stored
definitions of each tenant re-register in that tenant's overlay only."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlite_helpers import patient
from test_sqlite_search_parameters import nickname

from helios_persistence.errors import InvalidSearch
from helios_persistence.store_urls import open_store
from helios_persistence.tenancy import TenantContext

A = TenantContext.for_tenant("tenant-a")
B = TenantContext.for_tenant("tenant-b")
BOBBY = [{"family": "Smith", "use": "nickname", "given": ["Bobby"]}]


def test_stored_definitions_reregister_per_tenant_on_reopen(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/sp.db"
    with open_store(url) as store:
        store.update(A, nickname())
        store.update(A, patient(id="p", name=BOBBY))
        store.update(B, patient(id="p", name=BOBBY))
    with open_store(url) as store:
        assert store.search(A, "Patient?nickname=bob").ids == ["Patient/p"]
        with pytest.raises(InvalidSearch):
            store.search(B, "Patient?nickname=bob")
        assert store.registry_for(B).get("Patient", "nickname") is None
