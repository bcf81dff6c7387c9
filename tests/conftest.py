"""Shared pytest fixtures."""

from __future__ import annotations

import pytest

try:  # `tests` importable as a package: `python -m pytest` from the repo root
    from tests.services import service_url
except ImportError:  # plain `pytest`: pytest put tests/ itself on sys.path for this conftest
    from services import service_url  # type: ignore[no-redef]


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """URL of the test PostgreSQL server (skips, or fails under HELIOS_REQUIRE_SERVICES)."""
    return service_url("postgres")


@pytest.fixture(scope="session")
def neo4j_url() -> str:
    """Bolt URL of the test Neo4j server (skips, or fails under HELIOS_REQUIRE_SERVICES)."""
    return service_url("neo4j")


@pytest.fixture(scope="session")
def elasticsearch_url() -> str:
    """URL of the test Elasticsearch server (skips, or fails under HELIOS_REQUIRE_SERVICES)."""
    return service_url("elasticsearch")
