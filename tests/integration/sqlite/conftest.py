from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from helios_persistence.backends.sqlite.store import SQLiteStore
from helios_persistence.store_urls import open_store
from helios_persistence.tenancy import TenantContext


@pytest.fixture
def store() -> Iterator[SQLiteStore]:
    with open_store("sqlite://") as s:
        yield s


@pytest.fixture(params=["memory", "file"])
def any_store(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[SQLiteStore]:
    url = "sqlite://" if request.param == "memory" else f"sqlite:///{tmp_path}/store.db"
    with open_store(url) as s:
        yield s


@pytest.fixture
def ctx() -> TenantContext:
    return TenantContext.for_tenant("acme")
