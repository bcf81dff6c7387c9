"""A Neo4j store per test in a namespace of its own (its nodes deleted on close), and a SQLite
primary to sync it from."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

import helios_persistence as hp

try:
    from tests.services import service_url
except ImportError:  # plain `pytest`: tests/ itself is on sys.path
    from services import service_url  # type: ignore[no-redef]


def neo4j_url(**options: Any) -> str:
    """The test server's URL with a fresh ``namespace`` (and ``options``)."""
    url = service_url("neo4j")
    options.setdefault("namespace", f"test-{uuid.uuid4().hex[:10]}")
    options.setdefault("temporary", "true")
    query = "&".join(f"{k}={v}" for k, v in options.items())
    return f"{url}{'&' if '?' in url else '?'}{query}"


@pytest.fixture
def graph() -> Iterator[Any]:
    store = hp.open_store(neo4j_url())
    try:
        yield store
    finally:
        store.close()


@pytest.fixture
def primary() -> Iterator[Any]:
    store = hp.open_store("sqlite://")
    try:
        yield store
    finally:
        store.close()
