"""Elasticsearch integration fixtures: a store with an index of its own (random prefix, dropped
afterwards), a SQLite primary to replicate from, and a tenant context."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("elasticsearch")

from helios_persistence import TenantContext, open_store

try:
    from tests.services import service_url
except ImportError:  # plain `pytest`: tests/ itself is on sys.path
    from services import service_url  # type: ignore[no-redef]


@pytest.fixture
def es_url() -> str:
    return service_url("elasticsearch").replace("http", "elasticsearch", 1)


@pytest.fixture
def es_store(es_url: str) -> Iterator[Any]:
    store = open_store(f"{es_url}?prefix=test-{uuid.uuid4().hex[:10]}&refresh=true")
    try:
        yield store
    finally:
        store.drop()
        store.close()


@pytest.fixture
def primary() -> Iterator[Any]:
    store = open_store("sqlite://")
    try:
        yield store
    finally:
        store.close()


@pytest.fixture
def ctx() -> TenantContext:
    return TenantContext.for_tenant("acme")
