"""The composite store end to end over real primaries (SQLite, PostgreSQL) and replica
secondaries: every answer is the primary's own, whatever the secondaries' lag or health."""

from __future__ import annotations

import pytest

import helios_persistence as hp
from helios_persistence.composite import SecondaryUnavailable, TooManyIds
from helios_persistence.generator import generate
from helios_persistence.storage.sync import compare

try:
    from tests.composite.support import POLYGLOT, composite_over, pages
    from tests.services import service_url
except ImportError:  # plain `pytest`: tests/ itself is on sys.path
    from composite.support import POLYGLOT, composite_over, pages  # type: ignore[no-redef]
    from services import service_url  # type: ignore[no-redef]

RESOURCES = list(generate(16, seed=7))
CTX = hp.TenantContext.for_tenant("composite")


@pytest.fixture(scope="module")
def loaded():
    """A composite in sync mode over SQLite with the generator's data written through it."""
    primary = hp.open_store("sqlite://")
    with composite_over(primary) as (store, search, graph):
        store.bulk_load(CTX, RESOURCES)
        yield store, primary, search, graph
    primary.close()


@pytest.mark.parametrize("query", POLYGLOT)
def test_answers_are_the_primarys_own(loaded, query: str) -> None:
    store, primary, _search, _graph = loaded
    assert pages(store, CTX, query) == pages(primary, CTX, query)
    execution = store.last_execution
    assert execution is not None


def test_the_polyglot_query_runs_on_every_backend_and_explains_itself(loaded) -> None:
    store, _primary, search, graph = loaded
    before = (search.searches, graph.searches)
    result = store.search(CTX, POLYGLOT[0])
    assert result.ids and result.included and result.total > len(result.ids) and result.next
    assert (search.searches, graph.searches) == (before[0] + 1, before[1] + 1)
    runs = {r.backend: r for r in store.last_execution.runs}
    assert set(runs) == {"search", "graph"} and store.last_execution.strategy == "intersection"
    explained = store.explain(CTX, POLYGLOT[0], run=True)
    assert [p["backend"] for p in explained["parts"]] == ["graph", "search", "primary"]
    assert explained["features"]["kinds"] == ["chain", "text", "include", "plain"]
    assert explained["execution"]["strategy"] == "intersection"
    assert explained["matches"] == len(result.ids)
    assert {s["role"]: s["lag"]["pending"] for s in explained["secondaries"]} == {
        "search": 0, "graph": 0}  # fmt: skip


def test_plain_queries_never_touch_a_secondary(loaded) -> None:
    store, primary, search, graph = loaded
    before = (search.searches, graph.searches)
    assert pages(store, CTX, "Observation?code=http://loinc.org|2339-0&_count=5") == pages(
        primary, CTX, "Observation?code=http://loinc.org|2339-0&_count=5")  # fmt: skip
    assert (search.searches, graph.searches) == before
    assert store.last_execution.strategy == "primary-only"


def test_read_your_writes_in_sync_mode(loaded) -> None:
    store, primary, search, graph = loaded
    patient = {"resourceType": "Patient", "id": "ryw", "gender": "male",
               "text": {"status": "generated", "div": "<div>zebrafish allergy</div>"}}  # fmt: skip
    store.update(CTX, patient)
    assert store.search(CTX, "Patient?_text=zebrafish&gender=male").ids == ["Patient/ryw"]
    (run,) = store.last_execution.runs
    assert (run.backend, run.ids) == ("search", 1)  # answered by the secondary, no recheck
    store.delete(CTX, "Patient", "ryw")
    assert store.search(CTX, "Patient?_text=zebrafish").ids == []
    assert compare(primary, search, CTX).clean and compare(primary, graph, CTX).clean


def test_lagging_secondaries_never_change_an_answer() -> None:
    """Asynchronous mode without its worker: every write is pending, and searches are still
    the primary's (the pending ids are rechecked on the primary, or the part runs there)."""
    primary = hp.open_store("sqlite://")
    try:
        with composite_over(primary, mode="async") as (store, _search, graph):
            store.bulk_load(CTX, RESOURCES[:150])
            store.catch_up(CTX)
            for resource in RESOURCES[150:300]:
                store.update(CTX, resource)
            store.delete(CTX, "Patient", "p-000002")
            lag = store.lag(CTX)
            assert lag["search"].pending == 151
            assert lag["search"].oldest_seconds is not None and lag["search"].oldest_seconds >= 0
            for query in POLYGLOT:
                assert pages(store, CTX, query) == pages(primary, CTX, query), query
            assert store.catch_up(CTX)
            assert store.lag(CTX)["graph"].pending == 0
            assert compare(primary, graph, CTX).clean
    finally:
        primary.close()


def test_a_failing_secondary_falls_back_then_is_not_routed_to_then_recovers(loaded) -> None:
    store, primary, search, _graph = loaded
    query = "Patient?_text=diabetes&gender=male"
    expected = primary.search(CTX, query).ids
    search.down = True
    try:
        for _ in range(2):  # failure_threshold = 2
            assert store.search(CTX, query).ids == expected
            assert "failed" in store.last_execution.runs[0].note
        assert not store.health.healthy("search")
        calls = search.searches
        assert store.search(CTX, query).ids == expected
        assert search.searches == calls  # the graph (which lowers text too) answered
        assert [r.backend for r in store.last_execution.runs] == ["graph"]
        assert "search is unhealthy" in store.explain(CTX, query)["parts"][0]["reason"]
    finally:
        search.down = False
    assert store.health.probe("search") and not store.health.healthy("search")  # 1 of 2
    assert store.health.probe("search") and store.health.healthy("search")
    # it may have come back empty (a restarted node): checked against the primary first
    replica = next(r for r in store.replicas if r.role == "search")
    assert replica.suspect
    assert "checked against the primary" in store.explain(CTX, query)["parts"][0]["reason"]
    assert store.catch_up(CTX) and not replica.suspect
    assert store.search(CTX, query).ids == expected
    assert store.last_execution.runs[0].backend == "search"


def test_on_failure_error_refuses_to_answer_without_the_secondary() -> None:
    primary = hp.open_store("sqlite://")
    try:
        with composite_over(primary, on_failure="error") as (store, search, _graph):
            store.bulk_load(CTX, RESOURCES[:50])
            search.down = True
            with pytest.raises(SecondaryUnavailable, match="search secondary failed"):
                store.search(CTX, "Patient?_text=diabetes")
            assert store.search(CTX, "Patient?gender=male").ids  # plain: no secondary needed
    finally:
        primary.close()


def test_the_id_bound_falls_back_filters_or_fails() -> None:
    primary = hp.open_store("sqlite://")
    try:
        for on_bound in ("primary", "error"):
            with composite_over(primary, max_ids=5, on_bound=on_bound) as (store, _search, _):
                ctx = hp.TenantContext.for_tenant(f"bound-{on_bound}")
                store.bulk_load(ctx, RESOURCES[:300])
                broad = "Observation?_content=glucose&_count=3&_total=accurate"
                want = pages(primary, ctx, broad)
                if on_bound == "error":
                    with pytest.raises(TooManyIds, match="more than 5") as info:
                        store.search(ctx, broad)
                    assert info.value.outcome["issue"][0]["code"] == "too-costly"
                    continue
                assert pages(store, ctx, broad) == want
                assert "max_ids=5" in store.last_execution.runs[0].note
                # the primary's own parts match few: the secondary filters those candidates
                narrow = (
                    "Observation?_content=glucose&subject=Patient/p-000003"
                    "&category=laboratory&_total=accurate"
                )
                assert pages(store, ctx, narrow) == pages(primary, ctx, narrow)
                assert store.last_execution.strategy == "secondary-filtered"
    finally:
        primary.close()


def test_sync_mode_with_a_secondary_down_keeps_writing() -> None:
    """Writes succeed, the outbox holds what could not be applied, and the secondary catches
    up with nothing lost once it is back."""
    primary = hp.open_store("sqlite://")
    try:
        with composite_over(primary, mode="sync") as (store, search, _graph):
            store.bulk_load(CTX, RESOURCES[:100])
            search.down = True
            for resource in RESOURCES[100:160]:
                store.update(CTX, resource)
            store.delete(CTX, "Patient", "p-000001")
            assert store.lag(CTX)["search"].pending == 61
            assert store.lag(CTX)["search"].last_error
            assert store.lag(CTX)["graph"].pending == 0
            query = "Patient?_text=diabetes&_count=50"
            assert pages(store, CTX, query) == pages(primary, CTX, query)
            search.down = False
            assert store.catch_up(CTX, timeout=10)
            assert compare(primary, search, CTX).clean
    finally:
        primary.close()


@pytest.mark.slow
@pytest.mark.services
def test_postgresql_primary() -> None:
    url = service_url("postgres")
    import uuid

    import psycopg
    from psycopg import sql

    schema = f"composite_{uuid.uuid4().hex[:10]}"
    primary = hp.open_store(f"{url}?schema={schema}")
    try:
        with composite_over(primary, mode="async", start=True) as (store, search, _graph):
            store.bulk_load(CTX, RESOURCES[:250])
            for query in POLYGLOT:
                assert pages(store, CTX, query) == pages(primary, CTX, query), query
            assert store.catch_up(CTX, timeout=30)
            assert compare(primary, search, CTX).clean
            for query in POLYGLOT:
                assert pages(store, CTX, query) == pages(primary, CTX, query), query
    finally:
        primary.close()
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
