"""The backend-agnostic storage suite's fixtures: ``store`` is a fresh store of every backend
that can store (``tests/conformance/backends.py``: one list of backends for every suite),
skipped with the reason when its server is not running (failed under
``HELIOS_REQUIRE_SERVICES``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

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
