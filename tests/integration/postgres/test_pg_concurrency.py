"""Concurrency on PostgreSQL: many writers at once, from threads, on one database.

Conditional creates of the same criteria create exactly one resource; If-Match lets exactly
one writer win; transactions touching the same resources in opposite orders all complete
(deadlocks are retried); a bounded mixed load ends with no lost update and no deadlock.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlite_helpers import count_rows, patient

from helios_persistence.errors import PreconditionFailed, VersionConflict
from helios_persistence.tenancy import TenantContext

THREADS = 8


def _race(fn: Any, n: int = THREADS) -> list[Any]:
    """Run ``fn(i)`` on ``n`` threads released together; returns results (or exceptions)."""
    barrier = threading.Barrier(n)

    def run(i: int) -> Any:
        barrier.wait()
        try:
            return fn(i)
        except Exception as exc:  # collected, asserted by the caller
            return exc

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(run, range(n)))


def ident(value: str) -> dict[str, Any]:
    return {"identifier": [{"system": "http://ids", "value": value}]}


@pytest.fixture
def pstore(make_store: Any) -> Any:
    return make_store("pool_size=10")


def test_conditional_create_under_concurrency_creates_one(pstore: Any, ctx: TenantContext) -> None:
    for round_ in range(5):
        value = f"race-{round_}"
        results = _race(
            lambda i, v=value: pstore.create(
                ctx, patient(family=f"f{i}", **ident(v)), if_none_exist=f"identifier=http://ids|{v}"
            )
        )
        assert not [r for r in results if isinstance(r, Exception)], results
        assert len({r.id for r in results}) == 1
        assert Counter(r.version_id for r in results) == Counter({"1": THREADS})
        found = pstore.search(ctx, f"Patient?identifier=http://ids|{value}")
        assert len(found.resources) == 1


def test_conditional_create_in_bundles_under_concurrency(pstore: Any, ctx: TenantContext) -> None:
    def bundle(i: int) -> dict[str, Any]:
        entry = {
            "fullUrl": "urn:uuid:p",
            "resource": patient(family=f"b{i}", **ident("bundle")),
            "request": {
                "method": "POST", "url": "Patient", "ifNoneExist": "identifier=http://ids|bundle",
            },
        }  # fmt: skip
        return pstore.transaction(
            ctx, {"resourceType": "Bundle", "type": "transaction", "entry": [entry]}
        )

    results = _race(bundle)
    assert not [r for r in results if isinstance(r, Exception)], results
    statuses = Counter(r["entry"][0]["response"]["status"] for r in results)
    assert statuses == Counter({"201 Created": 1, "200 OK": THREADS - 1})
    assert len(pstore.search(ctx, "Patient?identifier=http://ids|bundle").resources) == 1


def test_conditional_update_under_concurrency_creates_one(pstore: Any, ctx: TenantContext) -> None:
    results = _race(
        lambda i: pstore.update_conditional(
            ctx, patient(family=f"u{i}", **ident("cu")), "identifier=http://ids|cu"
        )
    )
    assert not [r for r in results if isinstance(r, Exception)], results
    assert len({r.id for r in results}) == 1
    assert sorted(int(r.version_id) for r in results) == list(range(1, THREADS + 1))
    with pytest.raises(PreconditionFailed):  # still exactly one: a second match would raise
        pstore.create(ctx, patient(**ident("cu")))
        pstore.update_conditional(ctx, patient(**ident("cu")), "identifier=http://ids|cu")


def test_if_match_under_concurrency_has_exactly_one_winner(pstore: Any, ctx: TenantContext) -> None:
    for round_ in range(5):
        rid = f"im{round_}"
        pstore.update(ctx, patient(id=rid))
        results = _race(
            lambda i, r=rid: pstore.update(ctx, patient(id=r, family=f"w{i}"), if_match="1")
        )
        winners = [r for r in results if not isinstance(r, Exception)]
        losers = [r for r in results if isinstance(r, Exception)]
        assert len(winners) == 1 and winners[0].version_id == "2"
        assert all(isinstance(e, VersionConflict) for e in losers) and len(losers) == THREADS - 1
        current = pstore.read(ctx, "Patient", rid)
        assert current.version_id == "2"
        assert current.resource["name"][0]["family"] == winners[0].resource["name"][0]["family"]
        assert pstore.history(ctx, "Patient", rid)["total"] == 2


def test_creates_of_one_id_serialise(pstore: Any, ctx: TenantContext) -> None:
    results = _race(lambda i: pstore.update(ctx, patient(id="same", family=f"c{i}")))
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sorted(int(r.version_id) for r in results) == list(range(1, THREADS + 1))
    assert Counter(r.version_id == "1" for r in results)[True] == 1


def test_opposite_order_transactions_all_commit(pstore: Any, ctx: TenantContext) -> None:
    """Bundles locking a and b in opposite orders may deadlock: PostgreSQL aborts one and
    the store retries it, so every Bundle commits exactly once."""
    pstore.update(ctx, patient(id="a", family="0"))
    pstore.update(ctx, patient(id="b", family="0"))

    def bundle(i: int) -> Any:
        ids = ["a", "b"] if i % 2 else ["b", "a"]
        entries = [
            {
                "resource": patient(id=rid, family=str(i)),
                "request": {"method": "PUT", "url": f"Patient/{rid}"},
            }
            for rid in ids
        ]
        return pstore.transaction(
            ctx, {"resourceType": "Bundle", "type": "transaction", "entry": entries}
        )

    results = _race(bundle)
    assert not [r for r in results if isinstance(r, Exception)], results
    for rid in ("a", "b"):
        assert pstore.read(ctx, "Patient", rid).version_id == str(THREADS + 1)
        assert pstore.history(ctx, "Patient", rid)["total"] == THREADS + 1


def test_overlapping_bulk_loads_do_not_deadlock(pstore: Any, ctx: TenantContext) -> None:
    def load(i: int) -> int:
        ids = list(range(40))
        random.Random(i).shuffle(ids)
        return pstore.bulk_update(ctx, [patient(id=f"k{n}", family=f"t{i}") for n in ids])

    assert _race(load) == [40] * THREADS
    assert count_rows(pstore, ctx, "resources") == 40
    assert count_rows(pstore, ctx, "history") == 40 * THREADS
    versions = {pstore.read(ctx, "Patient", f"k{n}").version_id for n in range(40)}
    assert versions == {str(THREADS)}


def test_readers_do_not_wait_for_writers(pstore: Any, ctx: TenantContext) -> None:
    pstore.update(ctx, patient(id="p1"))
    in_write, release = threading.Event(), threading.Event()

    def writer() -> None:
        with pstore.write_session(ctx) as s:
            pstore.op_update(s, patient(id="p1", family="Uncommitted"))
            s.conn.flush()  # the new version is written, not committed
            in_write.set()
            release.wait(10)

    t = threading.Thread(target=writer)
    t.start()
    try:
        assert in_write.wait(10)
        start = time.monotonic()
        with ThreadPoolExecutor(max_workers=4) as pool:
            reads = list(pool.map(lambda _: pstore.read(ctx, "Patient", "p1"), range(8)))
            found = pstore.search(ctx, "Patient?name=uncommitted")
        assert time.monotonic() - start < 5
        assert {r.version_id for r in reads} == {"1"} and found.resources == []
    finally:
        release.set()
        t.join()
    assert pstore.read(ctx, "Patient", "p1").version_id == "2"


def test_mixed_load_has_no_lost_update_and_no_deadlock(pstore: Any, ctx: TenantContext) -> None:
    """8 threads, at most 60 operations each and 30 s in all: read-modify-write increments of
    shared counters (If-Match, retried on conflict), creates, deletes, searches and
    transactions. Every increment that reported success is in the final counter values."""
    counters = [f"ctr{i}" for i in range(4)]
    for cid in counters:
        pstore.update(ctx, {"resourceType": "Basic", "id": cid, "code": {"text": "0"}})
    deadline = time.monotonic() + 30
    done = Counter[str]()
    lock = threading.Lock()

    def increment(rng: random.Random) -> None:
        cid = rng.choice(counters)
        while time.monotonic() < deadline:
            current = pstore.read(ctx, "Basic", cid)
            value = int(current.resource["code"]["text"]) + 1
            body = {**current.resource, "code": {"text": str(value)}}
            try:
                pstore.update(ctx, body, if_match=current.version_id)
            except VersionConflict:
                continue
            with lock:
                done[cid] += 1
            return

    def work(i: int) -> int:
        rng = random.Random(i)
        ops = 0
        while ops < 60 and time.monotonic() < deadline:
            ops += 1
            kind = rng.random()
            if kind < 0.45:
                increment(rng)
            elif kind < 0.65:
                pstore.create(ctx, patient(family=f"m{i}", **ident(f"m{i}-{ops}")))
            elif kind < 0.75:
                found = pstore.search(ctx, f"Patient?identifier=http://ids|m{i}-{ops - 1}")
                for r in found.resources:
                    pstore.delete(ctx, "Patient", r["id"])
            elif kind < 0.9:
                pstore.search(ctx, "Basic?_count=5&_total=accurate")
            else:
                rid = f"shared{rng.randrange(3)}"
                entries = [
                    {
                        "resource": patient(id=rid, family=f"x{i}"),
                        "request": {"method": "PUT", "url": f"Patient/{rid}"},
                    },
                    {
                        "resource": patient(family="tx", **ident(f"tx{i}-{ops}")),
                        "request": {"method": "POST", "url": "Patient"},
                    },
                ]
                pstore.transaction(
                    ctx, {"resourceType": "Bundle", "type": "transaction", "entry": entries}
                )
        return ops

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        futures = [pool.submit(work, i) for i in range(THREADS)]
        counts = [f.result(timeout=60) for f in futures]  # a deadlock would time out here
    assert sum(counts) > 0
    for cid in counters:
        final = pstore.read(ctx, "Basic", cid)
        assert int(final.resource["code"]["text"]) == done[cid]
        assert final.version_id == str(done[cid] + 1)  # every version is one increment
        assert pstore.history(ctx, "Basic", cid)["total"] == done[cid] + 1
    # resources and their index rows agree: every live Patient is found by its identifier,
    # but the shared ones the transactions PUT (which have none)
    live = count_rows(pstore, ctx, "resources", type="Patient", deleted=0)
    indexed = pstore.search(ctx, "Patient?identifier:missing=false&_summary=count").total
    unidentified = pstore.search(ctx, "Patient?identifier:missing=true").ids
    assert set(unidentified) <= {f"Patient/shared{n}" for n in range(3)}
    assert indexed + len(unidentified) == live
