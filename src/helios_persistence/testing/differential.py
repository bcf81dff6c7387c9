"""The differential check: a store must answer every search exactly as the reference
evaluator (:class:`~helios_persistence.conformance.evaluator.Evaluator`) does.

:func:`load_world` writes a generated world into a tenant of its own (so one scratch store
serves every example) and returns the evaluator over the resources as the store returned them;
:func:`agree` compares one query; :func:`agree_on` does both for a list of queries.
"""

from __future__ import annotations

import uuid
from typing import Any

from helios_persistence import ir
from helios_persistence.conformance.evaluator import Evaluator
from helios_persistence.errors import HeliosError, UnsupportedInDialect
from helios_persistence.registry import Registry
from helios_persistence.tenancy import TenantContext

__all__ = ["World", "agree", "agree_on", "load_world", "world_ids"]

#: a list of resources, or ``{"resources", "updates", "deletes"}`` (see ``resources.worlds``)
World = dict[str, Any] | list[dict[str, Any]]


def _normal(world: World) -> dict[str, Any]:
    return {"resources": world} if isinstance(world, list) else world


def world_ids(world: World) -> dict[str, list[str]]:
    """The ids of a world's resources by type (what the query strategies draw from)."""
    out: dict[str, list[str]] = {}
    for r in _normal(world)["resources"]:
        out.setdefault(r["resourceType"], []).append(r["id"])
    return out


def load_world(
    store: Any, ctx: TenantContext, world: World, *, registry: Registry | None = None
) -> Evaluator:
    """Write ``world`` into ``ctx``'s tenant (resources, then updates, then deletes, so the
    index must follow every change); the evaluator over what the store now holds."""
    world = _normal(world)
    current: dict[str, dict[str, Any]] = {}
    for resource in [*world["resources"], *world.get("updates", ())]:
        stored = store.update(ctx, resource).resource
        current[f"{stored['resourceType']}/{stored['id']}"] = stored
    for key in world.get("deletes", ()):
        rtype, rid = key.split("/")
        store.delete(ctx, rtype, rid)
        current.pop(key, None)
    return Evaluator(list(current.values()), registry=registry or store.registry)


def _keys(resources: list[dict[str, Any]]) -> list[str]:
    return [f"{r['resourceType']}/{r['id']}" for r in resources]


def _declared_unsupported(store: Any, evaluator: Evaluator, query: str) -> bool:
    """Whether the store's dialect declares ``query`` unsupported (``supports()``)."""
    compiler = getattr(store, "compiler", None)
    if compiler is None:
        return False
    return not compiler.supports(compiler.lower(evaluator.parse(query)))


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
        if isinstance(exc, UnsupportedInDialect) and _declared_unsupported(store, evaluator, query):
            return  # the dialect's declared limit (its conformance gaps are derived from it)
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


def agree_on(store: Any, world: World, queries: list[str], *, name: str = "store") -> None:
    """Load ``world`` into a fresh tenant of ``store`` and :func:`agree` on every query."""
    ctx = TenantContext.for_tenant(f"differential-{uuid.uuid4().hex[:12]}")
    evaluator = load_world(store, ctx, world)
    for query in queries:
        agree(name, store, ctx, evaluator, query)
