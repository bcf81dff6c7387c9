"""Scale benchmark: query latency at a million resources, SQLite and PostgreSQL.

    python -m bench.bench_scale [--resources 1000000] [--engines sqlite,postgres] [--repeat 40]

The first ``--resources`` resources of ``generate(seed=7)`` (the other benchmarks' data, as
many patients as it takes) are loaded once per engine and size and kept for later runs under
``bench/cache/`` (git-ignored): a SQLite file ``scale-<N>.db``, and a PostgreSQL schema
``scale_<N>`` on the real server (``--url``, else ``HELIOS_TEST_POSTGRES``, else the
``scripts/services`` default), marked complete by a comment on the schema. ``--fresh`` loads
again. A cached database is upgraded by the store's own migrations when it is opened.

For each query class of ``bench_sqlite`` (token, string, date range, chain, ``_has``,
``_include``, sort + page) it reports the p50 and p95 of ``store.search`` (parse, compile —
cached by shape —, execute, decode) and of the hand-written SQL for the same question on the
same database (decoding the same rows), timed alternately so that the machine's load weighs
on both alike (``--repeat`` times each, fewer — at least 5 — where that would take over a
minute), and the ratio of the p50s. Goals: p50 under 50 ms for token, date range and
chain on both engines; every class within 2× of the hand-written SQL.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import apsw
from rich.console import Console
from rich.table import Table

import helios_persistence as hp
from bench.bench_postgres import DEFAULT_URL
from bench.bench_postgres import QUERIES as POSTGRES_QUERIES
from bench.bench_sqlite import QUERIES as SQLITE_QUERIES
from bench.harness import RESULTS
from helios_persistence import ucum
from helios_persistence.generator import generate

#: not part of ``python -m bench`` (a first run loads a million resources per engine)
BY_DEFAULT = False
TENANT = "bench"
SEED = 7
CACHE = Path(__file__).resolve().parent / "cache"
#: classes whose p50 must stay under :data:`LATENCY_GOAL_MS`
LATENCY_CLASSES = ("token", "date range", "chain")
LATENCY_GOAL_MS = 50.0
RATIO_GOAL = 2.0
#: comment on a PostgreSQL schema whose load finished
_LOADED = "helios bench_scale: {n} resources loaded"


@dataclass
class Row:
    """One query class on one engine: p50/p95 of ours and of the hand-written SQL (ms)."""

    name: str
    ours_p50: float
    ours_p95: float
    hand_p50: float
    hand_p95: float
    rows: int
    samples: int

    @property
    def ratio(self) -> float:
        return self.ours_p50 / self.hand_p50 if self.hand_p50 else float("inf")

    @property
    def meets_goals(self) -> bool:
        fast = self.name not in LATENCY_CLASSES or self.ours_p50 < LATENCY_GOAL_MS
        return fast and self.ratio <= RATIO_GOAL


def resources(count: int) -> Iterator[dict[str, Any]]:
    """The first ``count`` generated resources (a patient has about 21; never fewer than 8)."""
    return itertools.islice(generate(patients=count // 8 + 1, seed=SEED), count)


def percentile(times: list[float], q: float) -> float:
    """The ``q`` quantile (0-1) of ``times``, interpolated between the nearest samples."""
    ordered = sorted(times)
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def alternate(
    ours: Callable[[], Any],
    hand: Callable[[], Any],
    repeat: int,
    warmup: int = 2,
    budget: float = 60.0,
) -> tuple[list[float], list[float]]:
    """Seconds per call of ``ours`` and ``hand``, called in turn ``repeat`` times each (after
    ``warmup`` untimed calls of each), or fewer (at least 5) when that would take longer than
    ``budget`` seconds."""
    start = time.perf_counter()
    for _ in range(warmup):
        ours()
        hand()
    pair = (time.perf_counter() - start) / warmup
    repeat = max(5, min(repeat, int(budget / pair))) if pair > 0 else repeat
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeat):
        for fn, out in ((ours, times[0]), (hand, times[1])):
            start = time.perf_counter()
            fn()
            out.append(time.perf_counter() - start)
    return times


def measure(
    name: str, search: Callable[[], Any], hand: Callable[[], Any], rows: int, repeat: int
) -> Row:
    ours_t, hand_t = alternate(search, hand, repeat)
    ms = [[t * 1000 for t in ts] for ts in (ours_t, hand_t)]
    return Row(
        name,
        statistics.median(ms[0]),
        percentile(ms[0], 0.95),
        statistics.median(ms[1]),
        percentile(ms[1], 0.95),
        rows,
        len(ours_t),
    )


def check_same(name: str, ours: Any, hand_ids: list[str]) -> int:
    """Assert the library and the hand-written SQL found the same resources; their count."""
    found = ours.resources + ours.included
    if name != "_include":
        hand_ids = hand_ids[: len(ours.resources)]
    assert sorted(hand_ids) == sorted(r["id"] for r in found), (
        f"{name}: the library and the hand-written SQL disagree"
    )
    return len(found)


class Progress:
    """Prints the load's progress now and then (resources written, rate)."""

    def __init__(self, label: str, total: int, first: int = 0) -> None:
        self.label, self.total, self.first = label, total, first
        self.start, self.shown = time.perf_counter(), first

    def __call__(self, written: int) -> None:
        if written - self.shown >= 50_000 or written == self.total:
            self.shown = written
            rate = (written - self.first) / (time.perf_counter() - self.start)
            print(f"  {self.label}: {written:,}/{self.total:,} ({rate:,.0f}/s)", flush=True)


# -- SQLite ------------------------------------------------------------------------------------


def sqlite_file(count: int, fresh: bool) -> Path:
    """The cached SQLite file with ``count`` resources (loaded now if missing)."""
    path = CACHE / f"scale-{count}.db"
    if path.exists() and not fresh:
        return path
    CACHE.mkdir(exist_ok=True)
    partial = CACHE / f"scale-{count}.partial.db"
    for p in (path, partial):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{p}{suffix}").unlink(missing_ok=True)
    print(f"loading {count:,} resources into {path} (once)", flush=True)
    ucum.canonical("mg")
    start = time.perf_counter()
    with hp.open_store(f"sqlite:///{partial}") as store:
        ctx = hp.TenantContext.for_tenant(TENANT)
        store.bulk_load(ctx, resources(count), on_progress=Progress("sqlite", count))
    print(f"  loaded in {time.perf_counter() - start:,.0f} s", flush=True)
    with apsw.Connection(str(partial)) as conn:  # fold the WAL in: one file to rename
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    partial.rename(path)
    for suffix in ("-wal", "-shm"):
        Path(f"{partial}{suffix}").unlink(missing_ok=True)
    return path


def sqlite_rows(count: int, repeat: int, fresh: bool) -> list[Row]:
    path = sqlite_file(count, fresh)
    ctx = hp.TenantContext.for_tenant(TENANT)
    out = []
    with hp.open_store(f"sqlite:///{path}") as store:
        store.optimize(ctx)
        conn = apsw.Connection(str(path), flags=apsw.SQLITE_OPEN_READONLY)
        for name, query, text, params in SQLITE_QUERIES:
            bound = {"t": TENANT, **params}

            def search(query: str = query) -> Any:
                return store.search(ctx, query)

            def hand(text: str = text, bound: dict[str, Any] = bound) -> list[Any]:
                return [json.loads(row[0]) for row in conn.execute(text, bound)]

            rows = check_same(name, search(), [r["id"] for r in hand()])
            out.append(measure(name, search, hand, rows, repeat))
        conn.close()
    return out


# -- PostgreSQL --------------------------------------------------------------------------------


def postgres_schema(url: str, count: int, fresh: bool, threads: int) -> str:
    """The cached schema with ``count`` resources (loaded now if missing or unfinished)."""
    import psycopg
    from psycopg import sql

    schema = f"scale_{count}"
    done = _LOADED.format(n=count)
    skip = 0
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT obj_description(oid, 'pg_namespace') FROM pg_namespace WHERE nspname = %s",
            [schema],
        ).fetchone()
        if row is not None and row[0] == done and not fresh:
            return schema
        if row is not None and not fresh:
            # an interrupted load: chunks commit in order but for the last few in flight,
            # so it goes on from there (updating those few again, which is harmless)
            (present,) = conn.execute(
                sql.SQL("SELECT count(*) FROM {}.resources").format(sql.Identifier(schema))
            ).fetchone() or (0,)
            skip = max(0, int(present) // 1000 - threads - 1) * 1000
        else:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
    print(f"loading {count:,} resources into schema {schema} (once, from {skip:,})", flush=True)
    ucum.canonical("mg")
    start = time.perf_counter()
    ctx = hp.TenantContext.for_tenant(TENANT)
    progress = Progress("postgres", count, skip)
    with hp.open_store(f"{url}?schema={schema}&pool_size={threads + 1}") as store:
        # ``threads`` transactions in flight at once, each on its own connection
        pending: list[Future[int]] = []
        written = skip
        with ThreadPoolExecutor(max_workers=threads) as pool:
            source = itertools.islice(resources(count), skip, None)
            while chunk := list(itertools.islice(source, 1000)):
                pending.append(pool.submit(store.bulk_update, ctx, chunk))
                while len(pending) > threads:
                    written += pending.pop(0).result()
                    progress(written)
            for future in pending:
                written += future.result()
                progress(written)
        store.optimize(ctx)
    print(f"  loaded in {time.perf_counter() - start:,.0f} s", flush=True)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("COMMENT ON SCHEMA {} IS {}").format(sql.Identifier(schema), sql.Literal(done))
        )
    return schema


def postgres_rows(url: str, count: int, repeat: int, fresh: bool, threads: int) -> list[Row]:
    import psycopg

    schema = postgres_schema(url, count, fresh, threads)
    ctx = hp.TenantContext.for_tenant(TENANT)
    out = []
    with (
        hp.open_store(f"{url}?schema={schema}&pool_size=2") as store,
        psycopg.connect(url, autocommit=True) as conn,
    ):
        store.optimize(ctx)  # statistics and visibility map (after a migration, say)
        conn.execute("SELECT set_config('search_path', %s, false)", [schema])
        for name, query, text, params in POSTGRES_QUERIES:
            bound = {"t": TENANT, **params}

            def search(query: str = query) -> Any:
                return store.search(ctx, query)

            def hand(text: str = text, bound: dict[str, Any] = bound) -> list[Any]:
                return [row[0] for row in conn.execute(text, bound)]  # jsonb decoded too

            rows = check_same(name, search(), [r["id"] for r in hand()])
            out.append(measure(name, search, hand, rows, repeat))
    return out


# -- report ------------------------------------------------------------------------------------


def report(engine: str, count: int, rows: list[Row]) -> None:
    """Print the table and write ``bench/results/scale_<engine>.json``."""
    table = Table(title=f"{engine} at {count:,} resources (ms)")
    columns = ("class", "ours p50", "ours p95", "hand p50", "hand p95", "ratio", "rows", "runs")
    for column in columns:
        table.add_column(column)
    for row in rows:
        slow = row.name in LATENCY_CLASSES and row.ours_p50 >= LATENCY_GOAL_MS
        table.add_row(
            row.name, f"{row.ours_p50:.2f}{' ✗' if slow else ''}", f"{row.ours_p95:.2f}",
            f"{row.hand_p50:.2f}", f"{row.hand_p95:.2f}",
            f"{row.ratio:.2f}×{' ✓' if row.ratio <= RATIO_GOAL else ' ✗'}", str(row.rows),
            str(row.samples),
        )  # fmt: skip
    Console().print(table)
    RESULTS.mkdir(exist_ok=True)
    payload = {
        "title": f"scale {engine}",
        "resources": count,
        "goal_ratio": RATIO_GOAL,
        "goal_p50_ms": {name: LATENCY_GOAL_MS for name in LATENCY_CLASSES},
        "rows": [asdict(r) | {"ratio": r.ratio, "meets_goals": r.meets_goals} for r in rows],
    }
    (RESULTS / f"scale_{engine}.json").write_text(json.dumps(payload, indent=2))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--resources", type=int, default=1_000_000)
    parser.add_argument("--engines", default="sqlite,postgres", help="comma-separated")
    parser.add_argument("--repeat", type=int, default=40, help="timed runs per query and side")
    parser.add_argument("--url", default=os.environ.get("HELIOS_TEST_POSTGRES", DEFAULT_URL))
    parser.add_argument("--load-threads", type=int, default=2, help="PostgreSQL load threads")
    parser.add_argument("--fresh", action="store_true", help="load again, ignoring the cache")
    args = parser.parse_args(argv)
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    unknown = set(engines) - {"sqlite", "postgres"}
    if unknown:
        parser.error(f"unknown engine(s): {', '.join(sorted(unknown))}")
    for engine in engines:
        if engine == "sqlite":
            rows = sqlite_rows(args.resources, args.repeat, args.fresh)
        else:
            rows = postgres_rows(
                args.url, args.resources, args.repeat, args.fresh, args.load_threads
            )
        report(engine, args.resources, rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
