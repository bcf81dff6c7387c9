"""The property tests' settings and stores; the differential check itself is public
(:mod:`helios_persistence.testing.differential`)."""

from __future__ import annotations

import atexit
import importlib.util
import itertools
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

from hypothesis import HealthCheck, note, settings

from helios_persistence import TenantContext
from helios_persistence.conformance.evaluator import Evaluator
from helios_persistence.indexing import DateRow, extract
from helios_persistence.registry import default_registry
from helios_persistence.testing.differential import agree, load_world

try:
    from tests.conformance.backends import BACKENDS, Backend
except ImportError:  # plain `pytest`: tests/ itself is on sys.path
    from conformance.backends import BACKENDS, Backend  # type: ignore[no-redef]

__all__ = ["EXAMPLES", "PROFILE", "agree", "examples", "fuzz_target", "loaded_stores"]

PROFILE = os.environ.get("HYPOTHESIS_PROFILE") or (
    "ci" if os.environ.get("CI", "").lower() == "true" else "dev"
)
if PROFILE not in ("dev", "ci"):
    PROFILE = "dev"
#: multiplier of each test's example count (ci: derandomized, the same count as dev, so the CI
#: suite stays under its 10-minute budget now that five engines run; `make test-slow` and the
#: slow variants go deeper over the secondaries)
EXAMPLES = 1

_COMMON: dict[str, Any] = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
    "print_blob": True,
}
settings.register_profile("dev", **_COMMON)
settings.register_profile("ci", derandomize=True, **_COMMON)


def examples(n: int) -> settings:
    """This suite's settings: the selected profile with ``n`` examples (times the profile's
    multiplier). Applied per test, so other hypothesis tests keep their own settings."""
    return settings(settings.get_profile(PROFILE), max_examples=n * EXAMPLES)


#: every store of the differential tests shares one (never modified) registry: opening is cheap
REGISTRY = default_registry().copy()


#: the fuzz targets' folder (scripts, not a package: loaded by path)
FUZZ = Path(__file__).resolve().parents[2] / "fuzz"


def fuzz_target(name: str) -> ModuleType:
    """The fuzz target ``fuzz/<name>.py``, loaded by its path (with its folder on
    ``sys.path``, as when it runs as a script, for the shared ``fuzz_main``)."""
    if name in sys.modules:
        return sys.modules[name]
    if str(FUZZ) not in sys.path:
        sys.path.insert(0, str(FUZZ))
    spec = importlib.util.spec_from_file_location(name, FUZZ / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def available(*, slow: bool = False) -> list[Backend]:
    """The backends whose servers answer: the default ones, or (``slow``) the slow ones and
    those whose differential tests are slow (Neo4j, Elasticsearch: ``property_slow``)."""
    return [
        b
        for b in BACKENDS.values()
        if (b.slow or b.property_slow) == slow and b.unavailable() is None
    ]


@contextmanager
def loaded_stores(
    world: dict[str, Any] | list[dict[str, Any]],
    dialects: tuple[str, ...] | None = None,
    *,
    slow: bool = False,
) -> Iterator[list[tuple[str, Any, Any, Evaluator]]]:
    """An empty store per available backend (a fresh one, or fresh tenants of one reused
    across examples: ``_REUSED``) with ``world`` written to it, and the evaluator
    over the resources as that store returned them: ``[(name, store, ctx, evaluator)]``.

    A world is a list of resources, or ``{"resources", "updates", "deletes"}``: resources are
    written, then updated, then deleted, so the index must follow every change. The first
    versions are also written to a second tenant, which must never show through. ``dialects``
    limits the backends to those dialects."""
    if isinstance(world, list):
        world = {"resources": world}
    example = next(_EXAMPLE)
    ctx = TenantContext.for_tenant(f"property-{example}")
    noise = TenantContext.for_tenant(f"property-noise-{example}")
    loaded: list[tuple[str, Any, Any, Evaluator]] = []
    stores: list[Any] = []
    with tempfile.TemporaryDirectory() as tmp:
        try:
            for backend in available(slow=slow):
                if dialects is not None and backend.dialect not in dialects:
                    continue
                if backend.dialect == "elasticsearch" and _inverted_dates(world):
                    # its declared gap: a Period whose start is after its end (a composite
                    # never routes a date search to it: ``ElasticsearchCompiler.INEXACT``)
                    continue
                directory = Path(tmp) / backend.name
                directory.mkdir()
                store = _reused(backend)
                if store is None:
                    store = backend.open(directory, registry=REGISTRY)
                    stores.append(store)
                evaluator = load_world(store, ctx, world, registry=REGISTRY)
                for resource in world["resources"]:
                    store.update(noise, resource)
                loaded.append((backend.name, store, ctx, evaluator))
            yield loaded
        finally:
            for store in stores:
                store.close()


#: each example writes into tenants of its own (so a store kept open across examples starts
#: every example empty, as a fresh store would)
_EXAMPLE = itertools.count()
#: backends whose fresh store costs a schema's DDL (PostgreSQL: ≈ 0.3 s, more than most
#: examples): one store per process, closed (and its schema dropped) at exit
_REUSED = ("postgres",)
_reused_stores: dict[str, Any] = {}


def _reused(backend: Backend) -> Any:
    """The process's open store of ``backend`` if it is one of ``_REUSED``, else None."""
    if backend.name not in _REUSED:
        return None
    store = _reused_stores.get(backend.name)
    if store is None:
        store = _reused_stores[backend.name] = backend.open(None, registry=REGISTRY)
        atexit.register(store.close)
    return store


def _inverted_dates(world: dict[str, Any]) -> bool:
    """Whether ``world`` has a date value whose start is after its end (a Period breaking
    invariant per-1). Elasticsearch's ``long_range`` cannot hold one, so its store indexes the
    start alone (README, Elasticsearch limits): the differential tests leave such worlds out
    of that backend, as agree() leaves out queries a dialect declares unsupported."""
    resources = [*world["resources"], *world.get("updates", ())]
    return any(
        isinstance(row, DateRow) and row.low >= row.high
        for resource in resources
        for row in extract(resource, REGISTRY).rows
    )


def describe(world: Any) -> None:
    """Attach the world to a failing example's report."""
    note("world = " + json.dumps(world, ensure_ascii=False, default=str))
