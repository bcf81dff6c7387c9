"""The composite with the real secondaries: SQLite + Elasticsearch and PostgreSQL +
Elasticsearch (and Neo4j when it is there). Every answer must be the primary's own; in sync
mode a search right after a write sees it (Elasticsearch refreshes before the write returns).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

import helios_persistence as hp
from helios_persistence.composite import SyncSettings
from helios_persistence.composite.costs import route_all
from helios_persistence.generator import generate
from helios_persistence.storage.sync import compare

try:
    from tests.composite.support import POLYGLOT, pages
    from tests.conformance.backends import _elasticsearch, _postgres
except ImportError:  # plain `pytest`: tests/ itself is on sys.path
    from composite.support import POLYGLOT, pages  # type: ignore[no-redef]
    from conformance.backends import _elasticsearch, _postgres  # type: ignore[no-redef]

pytestmark = pytest.mark.services
RESOURCES = list(generate(12, seed=11))


@contextmanager
def es_composite(primary_kind: str, tmp: Any, **options: Any) -> Iterator[tuple[Any, Any, Any]]:
    """A composite over a fresh primary and a fresh Elasticsearch index (both dropped)."""
    from tests.services import service_url

    service_url("elasticsearch")
    primary = _postgres(tmp) if primary_kind == "postgres" else hp.open_store("sqlite://")
    try:
        search = _elasticsearch()
    except BaseException:
        primary.close()
        raise
    store = hp.composite(primary=primary, search=search, costs=route_all(), **options)
    try:
        yield store, primary, search
    finally:
        store.close()
        search.close()
        primary.close()


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.slow)])
def test_answers_and_read_your_writes(kind: str, tmp_path) -> None:
    if kind == "postgres":
        from tests.services import service_url

        service_url("postgres")
    ctx = hp.TenantContext.for_tenant(f"es-{uuid.uuid4().hex[:6]}")
    with es_composite(kind, tmp_path, sync="sync") as (store, primary, search):
        store.bulk_load(ctx, RESOURCES)
        for query in POLYGLOT:
            assert pages(store, ctx, query) == pages(primary, ctx, query), query
        assert store.search(ctx, POLYGLOT[1]).ids
        assert {r.backend for r in store.last_execution.runs} == {"search"}
        store.update(ctx, {"resourceType": "Patient", "id": "new", "gender": "other",
                           "text": {"status": "generated", "div": "<div>okapi</div>"}})  # fmt: skip
        assert store.search(ctx, "Patient?_text=okapi").ids == ["Patient/new"]
        assert store.last_execution.runs[0].backend == "search"
        store.delete(ctx, "Patient", "new")
        assert store.search(ctx, "Patient?_text=okapi").ids == []
        assert compare(primary, search, ctx).clean


@pytest.mark.slow
def test_async_mode_answers_while_the_worker_catches_up(tmp_path) -> None:
    ctx = hp.TenantContext.for_tenant(f"es-{uuid.uuid4().hex[:6]}")
    settings = SyncSettings(batch=100, poll=0.05)
    with es_composite("sqlite", tmp_path, sync="async", sync_settings=settings) as (
        store, primary, search):  # fmt: skip
        for start in range(0, len(RESOURCES), 50):
            store.bulk_load(ctx, RESOURCES[start : start + 50])
            query = POLYGLOT[start // 50 % len(POLYGLOT)]
            assert pages(store, ctx, query) == pages(primary, ctx, query), query
        deadline = time.monotonic() + 60
        while store.lag(ctx)["search"].pending and time.monotonic() < deadline:
            time.sleep(0.1)
        assert store.lag(ctx)["search"].pending == 0
        assert compare(primary, search, ctx).clean
        for query in POLYGLOT:
            assert pages(store, ctx, query) == pages(primary, ctx, query), query


@pytest.mark.slow
def test_postgresql_neo4j_elasticsearch_in_hybrid_mode(tmp_path) -> None:
    """The seed's full configuration: chains to Neo4j, text to Elasticsearch (synchronous),
    the graph asynchronous; the polyglot query uses all three."""
    from tests.conformance.backends import _neo4j_store
    from tests.services import service_url

    for name in ("postgres", "neo4j", "elasticsearch"):
        service_url(name)
    ctx = hp.TenantContext.for_tenant(f"full-{uuid.uuid4().hex[:6]}")
    primary = _postgres(tmp_path)
    graph, search = _neo4j_store(), _elasticsearch()
    store = hp.composite(primary=primary, graph=graph, search=search, sync="hybrid",
                         costs=route_all(), sync_settings=SyncSettings(poll=0.05))  # fmt: skip
    try:
        assert {r.role: r.mode for r in store.replicas} == {"graph": "async", "search": "sync"}
        store.bulk_load(ctx, RESOURCES)
        assert store.lag(ctx)["search"].pending == 0  # synchronous: applied before returning
        for query in POLYGLOT:
            assert pages(store, ctx, query) == pages(primary, ctx, query), query
        assert store.catch_up(ctx, timeout=60)
        polyglot = POLYGLOT[0]
        assert pages(store, ctx, polyglot) == pages(primary, ctx, polyglot)
        plan = store.explain(ctx, polyglot)
        assert {p["feature"]: p["backend"] for p in plan["parts"]} == {
            "chain": "graph", "text": "search", "plain": "graph"}  # fmt: skip
        assert compare(primary, graph, ctx).clean and compare(primary, search, ctx).clean
    finally:
        store.close()
        graph.close()
        search.close()
        primary.close()
