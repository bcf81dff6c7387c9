"""The backend-agnostic storage suite's fixtures: ``store`` is a fresh store of every backend
that can store (``tests/conformance/backends.py``: one list of backends for every suite),
skipped with the reason when its server is not running (failed under
``HELIOS_REQUIRE_SERVICES``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from helios_persistence.tenancy import TenantContext

try:
    from tests.conformance.backends import BACKENDS
except ImportError:  # plain `pytest`: tests/ itself is on sys.path
    from conformance.backends import BACKENDS  # type: ignore[no-redef]


@pytest.fixture(params=sorted(BACKENDS))
def store(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Any]:
    spec = BACKENDS[request.param]
    reason = spec.unavailable()
    if reason:
        pytest.skip(f"{spec.name}: {reason}")
    opened = spec.open(tmp_path)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def any_store(store: Any) -> Any:
    """(Every backend variant: the name the tests ported from the SQLite suite use.)"""
    return store


@pytest.fixture(scope="module", params=sorted(BACKENDS))
def shared_store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """One store per backend for a whole module (property tests give each example a tenant)."""
    spec = BACKENDS[request.param]
    reason = spec.unavailable()
    if reason:
        pytest.skip(f"{spec.name}: {reason}")
    opened = spec.open(tmp_path_factory.mktemp(spec.name))
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def ctx() -> TenantContext:
    return TenantContext.for_tenant("acme")
