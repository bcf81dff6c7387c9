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
    from tests.conformance.backends import STORES as BACKENDS
except ImportError:  # plain `pytest`: tests/ itself is on sys.path
    from conformance.backends import STORES as BACKENDS  # type: ignore[no-redef]


@pytest.fixture(params=sorted(BACKENDS))
def store(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Any]:
    with BACKENDS[request.param].opened(tmp_path) as opened:
        yield opened


@pytest.fixture(params=[f"{name}:{t}" for name, b in sorted(BACKENDS.items()) for t in b.tenancies])
def tstore(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Any]:
    """A fresh store of every tenancy strategy of every backend that has several."""
    name, tenancy = request.param.split(":")
    with BACKENDS[name].opened(tmp_path, tenancy=tenancy) as opened:
        yield opened


@pytest.fixture
def any_store(store: Any) -> Any:
    """(Every backend variant: the name the tests ported from the SQLite suite use.)"""
    return store


@pytest.fixture(scope="module", params=sorted(BACKENDS))
def shared_store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """One store per backend for a whole module (property tests give each example a tenant)."""
    with BACKENDS[request.param].opened(tmp_path_factory.mktemp(request.param)) as opened:
        yield opened


@pytest.fixture
def ctx() -> TenantContext:
    return TenantContext.for_tenant("acme")
