from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from helios_persistence.errors import VersionConflict
from helios_persistence.tenancy import TenantContext

from .helpers import count_rows, patient


def test_if_match_race_has_one_winner(any_store: Any, ctx: TenantContext) -> None:
    for round_ in range(10):
        rid = f"p{round_}"
        any_store.update(ctx, patient(id=rid))
        barrier = threading.Barrier(2)
        outcomes: list[str] = []
        lock = threading.Lock()

        def attempt(
            name: str,
            rid: str = rid,
            barrier: threading.Barrier = barrier,
            outcomes: list[str] = outcomes,
            lock: threading.Lock = lock,
        ) -> None:
            barrier.wait()
            try:
                any_store.update(ctx, patient(id=rid, family=name), if_match="1")
                result = "won"
            except VersionConflict:
                result = "conflict"
            with lock:
                outcomes.append(result)

        threads = [threading.Thread(target=attempt, args=(n,)) for n in ("a", "b")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(outcomes) == ["conflict", "won"]
        current = any_store.read(ctx, "Patient", rid)
        assert current.version_id == "2"
        assert any_store.history(ctx, "Patient", rid)["total"] == 2


def test_many_writer_threads(any_store: Any, ctx: TenantContext) -> None:
    def work(i: int) -> str:
        s = any_store.create(ctx, patient(family=f"f{i}"))
        any_store.update(ctx, {**s.resource, "gender": "other"})
        return any_store.read(ctx, "Patient", s.id).version_id

    with ThreadPoolExecutor(max_workers=8) as pool:
        versions = list(pool.map(work, range(64)))
    assert versions == ["2"] * 64
    assert count_rows(any_store, ctx, "history") == 128
    assert count_rows(any_store, ctx, "resources") == 64


def test_concurrent_updates_of_one_resource_serialise(any_store: Any, ctx: TenantContext) -> None:
    any_store.update(ctx, patient(id="hot"))
    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(lambda i: any_store.update(ctx, patient(id="hot", family=str(i))), range(30)))
    history = any_store.history(ctx, "Patient", "hot")
    assert [e["response"]["etag"] for e in history["entry"]] == [
        f'W/"{v}"' for v in range(31, 0, -1)
    ]


def test_memory_store_is_shared_across_threads(store: Any, ctx: TenantContext) -> None:
    created = store.create(ctx, patient())
    with ThreadPoolExecutor(max_workers=4) as pool:
        reads = list(pool.map(lambda _: store.read(ctx, "Patient", created.id).id, range(16)))
    assert reads == [created.id] * 16


def test_failed_write_rolls_back_everything(store: Any, ctx: TenantContext) -> None:
    with pytest.raises(RuntimeError), store.write_session(ctx) as s:
        store.op_update(s, patient(id="p1"))
        raise RuntimeError("boom")
    assert count_rows(store, ctx, "resources") == 0
    assert count_rows(store, ctx, "history") == 0
    assert count_rows(store, ctx, "idx_string") == 0
    assert count_rows(store, ctx, "outbox") == 0


def test_nested_sessions_on_one_thread_are_refused(store: Any, ctx: TenantContext) -> None:
    with store.write_session(ctx), pytest.raises(RuntimeError, match="nested"):
        store.read(ctx, "Patient", "x")
