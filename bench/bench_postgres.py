"""PostgreSQL benchmark: ingest rate, query latency against hand-written SQL, mixed throughput.

    python -m bench.bench_postgres [--url postgresql://...] [--patients 4000]

Same data (``generate(patients, seed=7)``) and query classes as ``bench_sqlite``, on the real
server (``HELIOS_TEST_POSTGRES``, else the ``scripts/services`` default), in a scratch schema
that is dropped at the end (``--keep`` keeps it):

* **Ingest**: resources/s through ``store.bulk_update`` (validation, FHIRPath extraction,
  index rows, history, full text, outbox), 1,000 resources per transaction, as a ratio to
  ``COPY`` of the same JSON into a one-column ``jsonb`` table (1,000 rows per transaction;
  the best of three runs, in the same run as the rest); from one thread, and from
  ``--ingest-threads`` threads (each transaction on its own connection, so the server's work
  overlaps the Python side's). Goal: at least 1/5 of the COPY rate. One more row shows the
  floor under them: PostgreSQL's work alone — the rows the store wrote for the one-thread
  load (every table, index and trigger of the schema), exported and written again by binary
  ``COPY`` into an empty schema, in as many transactions, with no Python work per row.
* **Queries**: per class, the median time of ``store.search`` (parse, compile — cached by
  shape —, execute, decode) as a ratio to the median time of hand-written SQL answering the
  same question on the same database and decoding the same rows. Goal: within 2×.
* **Mixed load**: operations/s from 8 threads for ``--seconds`` (searches of every class,
  reads, If-Match updates of observations, creates).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import struct
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import psycopg
from psycopg import sql

import helios_persistence as hp
from bench.bench_sqlite import QUERIES as SQLITE_QUERIES
from bench.harness import Measurement, median_seconds, report
from helios_persistence import ucum
from helios_persistence.backends.postgres.schema import migrate
from helios_persistence.backends.postgres.tx import _COLUMNS
from helios_persistence.errors import VersionConflict
from helios_persistence.generator import generate

TENANT = "bench"
DEFAULT_URL = "postgresql://helios:helios@127.0.0.1:5432/helios_test"

#: class → hand-written SQL over the same tables, answering the class's FHIR query
HANDWRITTEN: dict[str, tuple[str, dict[str, Any]]] = {
    "token": (
        """SELECT r.json FROM resources r WHERE r.tenant = %(t)s AND r.type = 'Observation'
           AND r.deleted = 0 AND r.id IN (SELECT i.id FROM idx_token i WHERE i.tenant = %(t)s
           AND i.type = 'Observation' AND i.param = 'code'
           AND i.system = 'http://loinc.org' AND i.code = '8867-4')
           ORDER BY r.type, r.id LIMIT 51""",
        {},
    ),
    "string": (
        """SELECT r.json FROM resources r WHERE r.tenant = %(t)s AND r.type = 'Patient'
           AND r.deleted = 0 AND r.id IN (SELECT i.id FROM idx_string i WHERE i.tenant = %(t)s
           AND i.type = 'Patient' AND i.param = 'name' AND i.norm >= 'gar' AND i.norm < 'gas')
           ORDER BY r.type, r.id LIMIT 51""",
        {},
    ),
    "date range": (
        """SELECT r.json FROM resources r WHERE r.tenant = %(t)s AND r.type = 'Observation'
           AND r.deleted = 0
           AND r.id IN (SELECT i.id FROM idx_date i WHERE i.tenant = %(t)s
             AND i.type = 'Observation' AND i.param = 'date'
             AND i.high > %(lo)s)
           AND r.id IN (SELECT i.id FROM idx_date i WHERE i.tenant = %(t)s
             AND i.type = 'Observation' AND i.param = 'date' AND i.low < %(hi)s)
           ORDER BY r.type, r.id LIMIT 51""",
        {"lo": 1577836800000000, "hi": 1580515200000000},
    ),
    "chain": (
        """SELECT r.json FROM resources r WHERE r.tenant = %(t)s AND r.type = 'Observation'
           AND r.deleted = 0 AND r.id IN (SELECT ref.id FROM idx_reference ref
             JOIN idx_string s ON s.tenant = ref.tenant AND s.type = 'Patient'
              AND s.id = ref.target_id AND s.param = 'name'
             WHERE ref.tenant = %(t)s AND ref.type = 'Observation' AND ref.param = 'subject'
              AND ref.target_type = 'Patient' AND s.norm >= 'smith' AND s.norm < 'smiti')
           ORDER BY r.type, r.id LIMIT 51""",
        {},
    ),
    "_has": (
        """SELECT r.json FROM resources r WHERE r.tenant = %(t)s AND r.type = 'Patient'
           AND r.deleted = 0 AND r.id IN (SELECT ref.target_id FROM idx_reference ref
             JOIN idx_token c ON c.tenant = ref.tenant AND c.type = ref.type AND c.id = ref.id
              AND c.param = 'code'
             WHERE ref.tenant = %(t)s AND ref.type = 'Condition' AND ref.param = 'patient'
              AND ref.target_type = 'Patient' AND c.system = 'http://snomed.info/sct'
              AND c.code = '44054006')
           ORDER BY r.type, r.id LIMIT 51""",
        {},
    ),
    "_include": (
        """WITH page AS (SELECT r.id, r.json FROM resources r WHERE r.tenant = %(t)s
             AND r.type = 'Encounter' AND r.deleted = 0 AND r.id IN (SELECT i.id FROM idx_token i
             WHERE i.tenant = %(t)s AND i.type = 'Encounter' AND i.param = 'status'
             AND i.code = 'finished') ORDER BY r.type, r.id LIMIT 50)
           SELECT json FROM page UNION ALL
           SELECT p.json FROM resources p WHERE p.tenant = %(t)s AND p.type = 'Patient'
             AND p.deleted = 0 AND p.id IN (SELECT ref.target_id FROM idx_reference ref
             WHERE ref.tenant = %(t)s AND ref.type = 'Encounter' AND ref.param = 'subject'
             AND ref.id IN (SELECT id FROM page))""",
        {},
    ),
    "quantity": (
        """SELECT r.json FROM resources r WHERE r.tenant = %(t)s AND r.type = 'Observation'
           AND r.deleted = 0 AND r.id IN (SELECT i.id FROM idx_quantity i WHERE i.tenant = %(t)s
           AND i.type = 'Observation' AND i.param = 'value-quantity' AND i.value > %(v)s)
           ORDER BY r.type, r.id LIMIT 51""",
        {"v": Decimal(100)},
    ),
    "sort+page": (
        """SELECT r.json FROM resources r WHERE r.tenant = %(t)s AND r.type = 'Observation'
           AND r.deleted = 0 AND r.id IN (SELECT i.id FROM idx_token i WHERE i.tenant = %(t)s
           AND i.type = 'Observation' AND i.param = 'code' AND i.system = 'http://loinc.org'
           AND i.code = '8480-6')
           ORDER BY (SELECT MAX(d.high) FROM idx_date d WHERE d.tenant = r.tenant
             AND d.type = r.type AND d.id = r.id AND d.param = 'date') DESC NULLS LAST,
             r.type, r.id
           LIMIT 21""",
        {},
    ),
}

#: (class, FHIR query, hand-written SQL, parameters): SQLite's classes and FHIR queries
QUERIES = [(name, query, *HANDWRITTEN[name]) for name, query, _, _ in SQLITE_QUERIES]


def copy_rate(url: str, schema: str, resources: list[dict[str, Any]], runs: int = 3) -> float:
    """Resources/s for COPY of the JSON into a one-column jsonb table (the ingest baseline;
    the best of ``runs``, each into a new table)."""
    table = sql.Identifier(schema, "plain")
    texts = [json.dumps(r) for r in resources]  # serialising is not the server's work
    copy = sql.SQL("COPY {} (doc) FROM STDIN").format(table)
    best = 0.0
    with psycopg.connect(url, autocommit=True) as conn:
        for _ in range(runs):
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(table))
            conn.execute(sql.SQL("CREATE TABLE {} (doc jsonb)").format(table))
            start = time.perf_counter()
            for i in range(0, len(texts), 1000):
                with conn.transaction(), conn.cursor() as cur, cur.copy(copy) as out:
                    for text in texts[i : i + 1000]:
                        out.write_row((text,))
            best = max(best, len(resources) / (time.perf_counter() - start))
        conn.execute(sql.SQL("DROP TABLE {}").format(table))
    return best


def _binary_rows(blob: bytes) -> tuple[bytes, list[int]]:
    """The header of a binary COPY stream and the offsets of its rows (and of its end)."""
    (extension,) = struct.unpack_from(">i", blob, 15)
    pos = 19 + extension
    offsets = []
    while True:
        (fields,) = struct.unpack_from(">h", blob, pos)
        if fields == -1:
            break
        offsets.append(pos)
        pos += 2
        for _ in range(fields):
            (size,) = struct.unpack_from(">i", blob, pos)
            pos += 4 + max(size, 0)
    offsets.append(pos)
    return blob[: 19 + extension], offsets


def rows_rate(url: str, schema: str, tenant: str, count: int, batches: int) -> float:
    """Resources/s for PostgreSQL's work alone: the rows the store wrote for ``tenant``
    (``count`` resources), exported by binary COPY and written again, in ``batches``
    transactions (each a slice of every table's rows, in the order they were written), into
    an empty schema with the same tables and indexes."""
    scratch = f"{schema}_rows"
    with psycopg.connect(url, autocommit=True) as conn:
        migrate(conn, scratch)
        data: dict[str, tuple[bytes, bytes, list[int]]] = {}
        for table, columns in _COLUMNS.items():
            names = sql.SQL(", ").join(map(sql.Identifier, columns))
            export = sql.SQL(
                "COPY (SELECT {} FROM {} WHERE tenant = {} ORDER BY ctid) TO STDOUT (FORMAT BINARY)"
            ).format(names, sql.Identifier(schema, table), sql.Literal(tenant))
            with conn.cursor() as cur, cur.copy(export) as copy:
                blob = b"".join(bytes(block) for block in copy)
            header, offsets = _binary_rows(blob)
            data[table] = (header, blob, offsets)
        statements = {
            table: sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
                sql.Identifier(scratch, table), sql.SQL(", ").join(map(sql.Identifier, columns))
            )
            for table, columns in _COLUMNS.items()
        }
        start = time.perf_counter()
        for b in range(batches):
            with conn.transaction(), conn.cursor() as cur:
                for table, (header, blob, offsets) in data.items():
                    rows = len(offsets) - 1
                    first, last = offsets[b * rows // batches], offsets[(b + 1) * rows // batches]
                    if last > first:
                        with cur.copy(statements[table]) as copy:
                            copy.write(header + blob[first:last] + b"\xff\xff")
        elapsed = time.perf_counter() - start
        conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(scratch)))
    return count / elapsed


def store_rate(store: Any, resources: list[dict[str, Any]], tenant: str, threads: int) -> float:
    """Resources/s through ``store.bulk_update`` (1,000 per transaction) from ``threads``
    threads, each on its own connection."""
    ctx = hp.TenantContext.for_tenant(tenant)
    chunks = [resources[i : i + 1000] for i in range(0, len(resources), 1000)]
    ucum.canonical("mg")  # a process's one-time cost (UCUM's unit table) is not timed
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(lambda chunk: store.bulk_update(ctx, chunk), chunks))
    rate = len(resources) / (time.perf_counter() - start)
    store.optimize(ctx)  # planner statistics and visibility map, as after any bulk load
    return rate


def queries(store: Any, url: str, schema: str, repeat: int) -> list[Measurement]:
    ctx = hp.TenantContext.for_tenant(TENANT)
    out = []
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT set_config('search_path', %s, false)", [schema])
        for name, query, text, params in QUERIES:
            ours = store.search(ctx, query)
            hand = [row[0] for row in conn.execute(text, {"t": TENANT, **params})]
            if name != "_include":
                hand = hand[: len(ours.resources)]
            assert sorted(r["id"] for r in hand) == sorted(
                r["id"] for r in ours.resources + ours.included
            ), f"{name}: the library and the hand-written SQL disagree"

            def library(query: str = query) -> None:
                store.search(ctx, query)

            def handwritten(text: str = text, params: dict[str, Any] = params) -> None:
                conn.execute(text, {"t": TENANT, **params}).fetchall()  # jsonb decoded too

            t_ours = median_seconds(library, repeat=repeat) * 1000
            t_hand = median_seconds(handwritten, repeat=repeat) * 1000
            rows = len(ours.resources) + len(ours.included)
            out.append(Measurement(name, t_ours, t_hand, "ms", f"{rows} rows"))
    return out


def mixed(store: Any, seconds: float, threads: int = 8) -> tuple[float, dict[str, int]]:
    """Operations/s of a mixed load from ``threads`` threads for ``seconds``."""
    ctx = hp.TenantContext.for_tenant(TENANT)
    obs = [r["id"] for r in store.search(ctx, "Observation?_count=500&_elements=id").resources]
    deadline = time.monotonic() + seconds
    counts: dict[str, int] = {}
    lock = threading.Lock()

    def work(seed: int) -> None:
        rng = random.Random(seed)
        mine: dict[str, int] = {}
        while time.monotonic() < deadline:
            roll = rng.random()
            if roll < 0.6:
                kind = "search"
                store.search(ctx, rng.choice(QUERIES)[1])
            elif roll < 0.75:
                kind = "read"
                store.read(ctx, "Observation", rng.choice(obs))
            elif roll < 0.95:
                kind = "update"
                current = store.read(ctx, "Observation", rng.choice(obs))
                body = {**current.resource, "status": rng.choice(["final", "amended"])}
                try:
                    store.update(ctx, body, if_match=current.version_id)
                except VersionConflict:
                    kind = "conflict"
            else:
                kind = "create"
                store.create(ctx, {"resourceType": "Patient", "name": [{"family": f"M{seed}"}]})
            mine[kind] = mine.get(kind, 0) + 1
        with lock:
            for k, v in mine.items():
                counts[k] = counts.get(k, 0) + v

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(work, range(threads)))
    elapsed = time.perf_counter() - start
    return sum(counts.values()) / elapsed, counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default=os.environ.get("HELIOS_TEST_POSTGRES", DEFAULT_URL))
    parser.add_argument("--patients", type=int, default=5000, help="as bench_sqlite")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--seconds", type=float, default=10.0, help="mixed-load duration")
    parser.add_argument("--ingest-threads", type=int, default=2, help="a parallel ingest too")
    parser.add_argument("--schema", help="schema to use (default: a fresh scratch schema)")
    parser.add_argument("--keep", action="store_true", help="keep the schema afterwards")
    args = parser.parse_args(argv)
    schema = args.schema or f"bench_{uuid.uuid4().hex[:8]}"
    resources = list(generate(patients=args.patients, seed=7))
    print(f"{len(resources)} resources from {args.patients} patients, schema {schema}")
    store = hp.open_store(f"{args.url}?schema={schema}&pool_size=10")
    try:
        plain = copy_rate(args.url, schema, resources)
        rows = []
        for threads in sorted({1, args.ingest_threads}):
            # the same data once more in another tenant: the 1-thread load is what is queried
            tenant = TENANT if threads == 1 else f"{TENANT}-{threads}"
            ours = store_rate(store, resources, tenant, threads)
            label = "ingest" if threads == 1 else f"ingest, {threads} threads"
            rows.append(Measurement(label, 1 / ours * 1e6, 1 / plain * 1e6, "µs/resource",
                                    f"{ours:,.0f}/s vs COPY {plain:,.0f}/s"))  # fmt: skip
        batches = -(-len(resources) // 1000)
        floor = rows_rate(args.url, schema, TENANT, len(resources), batches)
        note = f"{floor:,.0f}/s: the rows, built, by COPY"
        rows.append(Measurement("PostgreSQL's work alone", 1 / floor * 1e6, 1 / plain * 1e6,
                                "µs/resource", note))  # fmt: skip
        report("postgres ingest", rows, goal=5.0, extra={"resources": len(resources)})
        measured = queries(store, args.url, schema, args.repeat)
        report("postgres queries", measured, goal=2.0, extra={"resources": len(resources)})
        rate, counts = mixed(store, args.seconds)
        print(f"mixed load, 8 threads, {args.seconds:.0f} s: {rate:,.0f} operations/s {counts}")
        report(
            "postgres mixed",
            [Measurement("8 threads", rate, rate, "ops/s", json.dumps(counts))],
            extra={"resources": len(resources), "seconds": args.seconds},
        )
    finally:
        store.close()
        if not args.keep:
            with psycopg.connect(args.url, autocommit=True) as conn:
                conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
                    sql.Identifier(schema)
                ))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
