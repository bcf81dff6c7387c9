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


@pytest.fixture(scope="session")
def es_index(es_url: str) -> Iterator[str]:
    """One index for the session (creating one costs more than a test): its prefix."""
    prefix = f"test-{uuid.uuid4().hex[:10]}"
    yield prefix
    store = open_store(f"{es_url}?prefix={prefix}")
    store.drop()
    store.close()


@pytest.fixture(scope="session")
def es_url() -> str:
    return service_url("elasticsearch").replace("http", "elasticsearch", 1)


@pytest.fixture
def es_store(es_url: str, es_index: str) -> Iterator[Any]:
    """A store in a namespace of its own in the session's index, refreshed on every apply."""
    namespace = uuid.uuid4().hex[:12]
    store = open_store(f"{es_url}?prefix={es_index}&namespace={namespace}&refresh=true")
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
