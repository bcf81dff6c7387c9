"""A pytest plugin that runs the conformance cases and the differential property test
against your own store. Load it on the command line (or with ``pytest_plugins`` in your
root ``conftest.py``)::

    pytest -p helios_persistence.testing.plugin --helios-store URL

(or set ``HELIOS_STORE_URL``). **The store is written to**: point it at a scratch database.
It provides:

* ``helios_store_url`` / ``helios_store`` (session fixtures; tests using them skip when no
  URL is given);
* ``helios_case``: a test that takes it runs once per conformance case
  (:class:`~helios_persistence.testing.conformance.ConformanceCase`; ``helios_case.check(store)``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from helios_persistence.testing.conformance import conformance_cases

ENV = "HELIOS_STORE_URL"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("helios", "helios-persistence store testing")
    group.addoption(
        "--helios-store",
        default=None,
        metavar="URL",
        help=f"store URL to test (a scratch database: it is written to; default ${ENV})",
    )


@pytest.fixture(scope="session")
def helios_store_url(request: pytest.FixtureRequest) -> str:
    """The ``--helios-store`` URL (skips the test when none is given)."""
    url = request.config.getoption("--helios-store") or os.environ.get(ENV)
    if not url:
        pytest.skip(f"no store to test: pass --helios-store URL or set {ENV}")
    return str(url)


@pytest.fixture(scope="session")
def helios_store(helios_store_url: str) -> Iterator[Any]:
    """The store at ``helios_store_url``, open for the session."""
    from helios_persistence import open_store

    store = open_store(helios_store_url)
    try:
        yield store
    finally:
        store.close()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "helios_case" in metafunc.fixturenames:
        cases = conformance_cases()
        metafunc.parametrize("helios_case", cases, ids=[c.id for c in cases])
