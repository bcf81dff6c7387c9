"""Sync mechanics over a real primary's outbox: the worker's batches, retries and backoff, a
worker stopped or crashing mid-batch, refused changes, trimming, and the lag metrics."""

from __future__ import annotations

import time
from collections.abc import Sequence

import pytest

import helios_persistence as hp
from helios_persistence.composite import HealthSettings, SyncSettings
from helios_persistence.composite.sync import Replica as ReplicaState
from helios_persistence.composite.sync import Synchronizer
from helios_persistence.generator import generate
from helios_persistence.storage.sync import ApplyReport, Change, compare

try:
    from tests.composite.replica import Replica
    from tests.composite.support import composite_over, pages
except ImportError:  # plain `pytest`: tests/ itself is on sys.path
    from composite.replica import Replica  # type: ignore[no-redef]
    from composite.support import composite_over, pages  # type: ignore[no-redef]

RESOURCES = list(generate(6, seed=3))
CTX = hp.TenantContext.for_tenant("sync")


@pytest.fixture
def primary():
    store = hp.open_store("sqlite://")
    yield store
    store.close()


def _wait(condition, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def test_the_worker_applies_in_batches_and_catches_up(primary) -> None:
    settings = SyncSettings(batch=25, poll=0.02)
    with composite_over(primary, mode="async", start=True, sync_settings=settings) as (
        store, search, graph):  # fmt: skip
        store.bulk_load(CTX, RESOURCES)
        assert _wait(lambda: store.lag(CTX)["graph"].pending == 0)
        assert _wait(lambda: store.lag(CTX)["search"].pending == 0)
        assert max(graph.batches) == 25 and sum(graph.batches) >= len(RESOURCES)
        assert compare(primary, graph, CTX).clean and compare(primary, search, CTX).clean
        lag = store.lag(CTX)["graph"]
        assert (lag.pending, lag.oldest_seconds, lag.applied) == (0, None, len(RESOURCES))


def test_a_secondary_that_was_down_catches_up_with_backoff(primary) -> None:
    settings = SyncSettings(batch=50, poll=0.02, backoff=0.05, backoff_max=0.4)
    health = HealthSettings(interval=0.1, timeout=1, failure_threshold=6, success_threshold=1)
    with composite_over(
        primary, mode="async", start=True, sync_settings=settings, health=health
    ) as (
        store, _search, graph):  # fmt: skip
        graph.down = True
        store.bulk_load(CTX, RESOURCES[:80])
        state = next(r for r in store.sync.replicas if r.role == "graph")
        assert _wait(lambda: state.failures >= 1)
        assert state.streak >= 1 and "down" in (state.last_error or "")
        lag = store.lag(CTX)["graph"]
        assert lag.pending == 80 and lag.oldest_seconds is not None
        store.delete(CTX, "Patient", "p-000001")
        assert _wait(lambda: not store.health.healthy("graph"))  # the worker waits for it
        assert state.suspect and "graph is unhealthy" in store.explain(
            CTX, "Observation?patient.name=x")["parts"][0]["reason"]  # fmt: skip
        graph.down = False  # a probe finds it back; checked against the primary, caught up
        assert _wait(lambda: store.lag(CTX)["graph"].pending == 0)
        assert compare(primary, graph, CTX).clean
        assert state.streak == 0 and not state.suspect


class Crashing(Replica):
    """Applies half of one batch, then raises (a worker killed mid-batch)."""

    def __init__(self) -> None:
        super().__init__()
        self.crashes = 1

    def apply(self, ctx: hp.TenantContext, changes: Sequence[Change]) -> ApplyReport:
        if self.crashes and len(changes) > 1:
            self.crashes -= 1
            super().apply(ctx, changes[: len(changes) // 2])
            raise RuntimeError("killed mid-batch")
        return super().apply(ctx, changes)


def test_a_worker_killed_mid_batch_loses_nothing(primary) -> None:
    crashing = Crashing()
    sync = Synchronizer(primary, [ReplicaState("graph", crashing, "async")],
                        SyncSettings(batch=40, poll=0.02, backoff=0.02))  # fmt: skip
    try:
        primary.bulk_load(CTX, RESOURCES)
        sync.track(CTX)
        sync.start()
        assert _wait(lambda: not sync.pending(sync.replicas[0], CTX, 1))
        assert crashing.crashes == 0 and sync.replicas[0].failures == 1
        assert compare(primary, crashing, CTX).clean
        # stopped while a slow batch is under way: restarted, it finishes the job
        for r in RESOURCES[:60]:
            primary.update(CTX, {**r, "language": "en"})
        crashing.slow = 0.05
        sync.start()
        time.sleep(0.03)
        sync.stop()
        assert not sync.running
        sync.start()
        assert _wait(lambda: not sync.pending(sync.replicas[0], CTX, 1))
        assert compare(primary, crashing, CTX).clean
    finally:
        sync.stop()
        crashing.close()


def test_a_refused_change_holds_the_position_until_it_applies(primary) -> None:
    graph = Replica()
    sync = Synchronizer(primary, [ReplicaState("graph", graph, "sync")], SyncSettings(retries=0))
    try:
        primary.bulk_load(CTX, RESOURCES[:30])
        graph.refuse = {RESOURCES[10]["id"]}
        sync.after_write(CTX)
        state = sync.replicas[0]
        assert state.position(CTX) == 10 and state.last_error.endswith("refused")
        assert sync.lag(CTX)[0].pending == 20
        graph.refuse = set()
        sync.after_write(CTX)
        assert sync.lag(CTX)[0].pending == 0 and compare(primary, graph, CTX).clean
    finally:
        graph.close()


def test_trim_forgets_what_every_secondary_applied(primary) -> None:
    with composite_over(primary, sync_settings=SyncSettings(trim=True)) as (store, search, _graph):
        store.bulk_load(CTX, RESOURCES[:20])
        assert primary.read_outbox(CTX) == []
        search.down = True
        store.update(CTX, RESOURCES[0])
        assert len(primary.read_outbox(CTX)) == 1  # the search secondary still needs it
        search.down = False
        assert store.catch_up(CTX, timeout=5)
        assert primary.read_outbox(CTX) == [] and compare(primary, search, CTX).clean


def test_health_thresholds_and_probe_timeout(primary) -> None:
    health = HealthSettings(interval=0.05, timeout=0.1, failure_threshold=3, success_threshold=2)
    with composite_over(primary, health=health, start=True) as (store, search, _graph):
        search.slow = 0.3  # every probe times out
        assert _wait(lambda: not store.health.healthy("search"), timeout=5)
        state = store.health.states["search"]
        assert state.failures >= 3 and "TimeoutError" in state.last_error
        assert store.health.healthy("graph")
        search.slow = 0.0
        assert _wait(lambda: store.health.healthy("search"), timeout=5)
        assert store.status(CTX)["secondaries"][0]["health"]["healthy"]


def test_retries_back_off_exponentially(primary) -> None:
    graph = Replica()
    settings = SyncSettings(poll=0.01, backoff=0.05, backoff_max=0.4)
    sync = Synchronizer(primary, [ReplicaState("graph", graph, "async")], settings)
    try:
        primary.bulk_load(CTX, RESOURCES[:5])
        sync.track(CTX)
        graph.down = True
        sync.start()
        time.sleep(1.2)  # retries 0.05, 0.1, 0.2, 0.4, 0.4 s apart: about 5 (not ~100)
        failures = sync.replicas[0].failures
        assert 3 <= failures <= 8, failures
        graph.down = False
        assert _wait(lambda: not sync.pending(sync.replicas[0], CTX, 1), timeout=5)
        assert compare(primary, graph, CTX).clean
    finally:
        sync.stop()
        graph.close()


def test_resync_rebuilds_a_secondary_that_lost_data(primary) -> None:
    with composite_over(primary) as (store, search, _graph):
        store.bulk_load(CTX, RESOURCES[:40])
        # the search secondary loses everything (a node restarted with fresh data)
        search.store.close()
        search.store, search.held, search.deleted = hp.open_store("sqlite://"), {}, set()
        assert not compare(primary, search, CTX).clean
        query = "Patient?_text=diabetes"
        drifts = store.resync(CTX)
        assert len(drifts["search"][0].missing) == 40 and drifts["graph"][0].clean
        assert compare(primary, search, CTX).clean
        assert pages(store, CTX, query) == pages(primary, CTX, query)
        assert store.last_execution.runs[0].backend == "search"
