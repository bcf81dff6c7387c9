"""The conformance suite's fixtures: one store per backend per session, fixture resources loaded
once per fixture set (each set into a tenant of its own), and the known gaps of
``helios_persistence.conformance.gaps`` applied as strict xfail markers."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

import pytest

from helios_persistence.conformance.gaps import DIALECTS, GAPS, gaps_for

try:
    from tests.conformance.support import BACKENDS, CASE_IDS, CASES, LoadedBackend
except ImportError:  # plain `pytest`: tests/ itself is on sys.path
    from conformance.support import (  # type: ignore[no-redef]
        BACKENDS,
        CASE_IDS,
        CASES,
        LoadedBackend,
    )


@pytest.fixture(
    scope="session",
    params=[
        pytest.param(name, marks=pytest.mark.slow) if BACKENDS[name].slow else name
        for name in sorted(BACKENDS)
    ],
)
def backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LoadedBackend]:
    spec = BACKENDS[request.param]
    with spec.opened(tmp_path_factory.mktemp(spec.name)) as store:
        yield LoadedBackend(spec, store)


@functools.cache
def _gaps(dialect: str) -> dict[str, Any]:
    return gaps_for(dialect, CASES)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Known gaps become strict xfails naming the gap and the error; unknown names fail."""
    for gap in GAPS:
        areas = {c.split("/")[0] for c in CASE_IDS}
        missing = [
            c for c in gap.cases
            if c not in CASE_IDS and not (c.endswith("/*") and c[:-2] in areas)
        ]  # fmt: skip
        if missing:
            raise pytest.UsageError(f"known gap names unknown conformance case(s): {missing}")
    for spec in BACKENDS.values():
        if spec.dialect not in DIALECTS:
            raise pytest.UsageError(f"backend {spec.name} has unknown dialect {spec.dialect}")
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is None or "backend" not in callspec.params or "case" not in callspec.params:
            continue
        dialect = BACKENDS[callspec.params["backend"]].dialect
        case = callspec.params["case"]
        gap = _gaps(dialect).get(case.id)
        if gap is not None:
            item.add_marker(
                pytest.mark.xfail(
                    strict=True, raises=gap.raises, reason=f"[{gap.kind}] {gap.reason}"
                )
            )
