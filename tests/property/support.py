"""The differential check shared by the property tests: a backend against the evaluator."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, note, settings

from helios_persistence import TenantContext, ir
from helios_persistence.conformance.evaluator import Evaluator
from helios_persistence.errors import HeliosError
from helios_persistence.registry import default_registry

try:
    from tests.conformance.backends import BACKENDS, Backend
except ImportError:  # plain `pytest`: tests/ itself is on sys.path
    from conformance.backends import BACKENDS, Backend  # type: ignore[no-redef]

__all__ = ["EXAMPLES", "PROFILE", "agree", "examples", "loaded_stores"]

PROFILE = os.environ.get("HYPOTHESIS_PROFILE") or (
    "ci" if os.environ.get("CI", "").lower() == "true" else "dev"
)
if PROFILE not in ("dev", "ci"):
    PROFILE = "dev"
#: multiplier of each test's example count: dev keeps the suite fast, ci goes deeper
EXAMPLES = 4 if PROFILE == "ci" else 1

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


def available() -> list[Backend]:
    return [b for b in BACKENDS.values() if b.unavailable() is None]


@contextmanager
def loaded_stores(
    world: dict[str, Any] | list[dict[str, Any]],
) -> Iterator[list[tuple[str, Any, Any, Evaluator]]]:
    """A fresh store per available backend with ``world`` written to it, and the evaluator
    over the resources as that store returned them: ``[(name, store, ctx, evaluator)]``.

    A world is a list of resources, or ``{"resources", "updates", "deletes"}``: resources are
    written, then updated, then deleted, so the index must follow every change. The first
    versions are also written to a second tenant, which must never show through."""
    if isinstance(world, list):
        world = {"resources": world}
    ctx = TenantContext.for_tenant("property")
    noise = TenantContext.for_tenant("property-noise")
    loaded: list[tuple[str, Any, Any, Evaluator]] = []
    stores: list[Any] = []
    with tempfile.TemporaryDirectory() as tmp:
        try:
            for backend in available():
                directory = Path(tmp) / backend.name
                directory.mkdir()
                store = backend.open(directory, registry=REGISTRY)
                stores.append(store)
                current: dict[str, dict[str, Any]] = {}
                for resource in [*world["resources"], *world.get("updates", ())]:
                    stored = store.update(ctx, resource).resource
                    current[f"{stored['resourceType']}/{stored['id']}"] = stored
                for resource in world["resources"]:
                    store.update(noise, resource)
                for key in world.get("deletes", ()):
                    rtype, rid = key.split("/")
                    store.delete(ctx, rtype, rid)
                    current.pop(key, None)
                evaluator = Evaluator(list(current.values()), registry=REGISTRY)
                loaded.append((backend.name, store, ctx, evaluator))
            yield loaded
        finally:
            for store in stores:
                store.close()


def _keys(resources: list[dict[str, Any]]) -> list[str]:
    return [f"{r['resourceType']}/{r['id']}" for r in resources]


def agree(name: str, store: Any, ctx: Any, evaluator: Evaluator, query: str) -> None:
    """Assert that ``store`` answers ``query`` exactly as the evaluator does: the same error
    (issue code), or the same page in the same order, the same includes, next link, total, and
    the same matches over every following page."""
    expected: HeliosError | None = None
    outcome = None
    try:
        outcome = evaluator.search(query)
    except HeliosError as exc:
        expected = exc
    try:
        result = store.search(ctx, query)
    except HeliosError as exc:
        assert expected is not None, f"{name}: {query}\n  backend raised {exc!r}, evaluator did not"
        assert exc.issue_code == expected.issue_code, (
            f"{name}: {query}\n  backend {exc.issue_code} ({exc}), evaluator "
            f"{expected.issue_code} ({expected})"
        )
        return
    assert expected is None, f"{name}: {query}\n  evaluator raised {expected!r}, backend did not"
    assert outcome is not None
    got = _keys(result.resources)
    where = f"{name}: {query}"
    assert got == outcome.ids, f"{where}\n  backend   {got}\n  evaluator {outcome.ids}"
    included = sorted(_keys(result.included))
    assert included == outcome.included, (
        f"{where}\n  included: backend {included}\n  evaluator {outcome.included}"
    )
    assert (result.next is not None) == outcome.has_next, (
        f"{where}\n  next link: backend {result.next!r}, evaluator {outcome.has_next}"
    )
    q = evaluator.parse(query)
    if q.total is ir.TotalMode.ACCURATE or q.summary is ir.Summary.COUNT:
        assert result.total == outcome.total, f"{where}\n  total {result.total} != {outcome.total}"
    if result.next is not None:
        pages = [got]
        while result.next is not None and len(pages) < 30:
            result = store.search(ctx, result.next)
            pages.append(_keys(result.resources))
        everything = [k for page in pages for k in page]
        want = outcome.all_ids[q.offset or 0 :]
        assert everything == want, f"{where}\n  pages {pages}\n  evaluator {want}"


def describe(world: Any) -> None:
    """Attach the world to a failing example's report."""
    note("world = " + json.dumps(world, ensure_ascii=False))
