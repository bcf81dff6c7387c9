"""Elasticsearch benchmark: bulk indexing throughput, full-text latency against SQLite FTS5 and
PostgreSQL tsvector, and a token + date query class against PostgreSQL, in one run.

    python -m bench.bench_elasticsearch [--patients 4800] [--repeat 9]

The data is ``generate(patients, seed=7)`` (4,800 patients: about 102,000 resources), loaded
into a SQLite primary (a file), a PostgreSQL store (a scratch schema, dropped at the end) and
an Elasticsearch store (a scratch index, deleted at the end) kept in sync from the SQLite
primary's outbox, as the composite layer will run it:

* **Bulk indexing**: resources/s of replicating the whole outbox into Elasticsearch
  (``storage.sync.replicate`` in batches of 2,000 changes: reading the outbox, FHIRPath
  extraction, client-side stems, the store's pipelined bulk requests, no refresh until the
  end; the index under the store's ``bulk_loading`` settings, as a rebuild loads). Goal:
  5,000 resources/s. On a shared machine the wall rate says more about the load than about
  the code, so its two halves are measured in CPU time: the client's (this
  process: outbox, documents, JSON, HTTP) and the server's (the Elasticsearch node's process
  CPU, from its node stats, counted in the share of the documents the node indexed meanwhile
  that were the bench's: the node is shared), each as the rate one core would reach, and both
  together as the rate two idle cores would reach with the pipeline overlapping them.
* **Full text**: the median time of ``store.search`` for ``_text``, ``_content`` and
  ``:text-advanced`` on Elasticsearch, as a ratio to the same search on SQLite (FTS5) and on
  PostgreSQL (``tsvector``); the three must return the same page.
* **Token + date**: ``Observation?code=...&date=ge...`` on Elasticsearch as a ratio to
  PostgreSQL (same page).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from typing import Any

import helios_persistence as hp
from bench.harness import Measurement, median_seconds, report
from helios_persistence.generator import generate
from helios_persistence.storage.sync import replicate

TENANT = "bench"
PG_URL = (
    os.environ.get("HELIOS_TEST_POSTGRES")
    or "postgresql://helios:helios@127.0.0.1:5432/helios_test"
)
ES_URL = (os.environ.get("HELIOS_TEST_ELASTICSEARCH") or "http://127.0.0.1:9200").replace(
    "http", "elasticsearch", 1
)
GOAL_PER_SECOND = 5_000

#: (class, query): every engine must return the same page
TEXT_QUERIES = [
    ("_text", "Patient?_text=cardiac&_count=50"),
    ("_content", "Observation?_content=%22heart rate%22&_count=50"),
    (":text-advanced", "Condition?code:text-advanced=bronchitis&_count=50"),
]
TOKEN_DATE = (
    "token + date",
    "Observation?code=http://loinc.org|8867-4&date=ge2021-01-01&_count=50",
)


def _load(store: Any, ctx: hp.TenantContext, resources: list[dict[str, Any]]) -> float:
    start = time.perf_counter()
    for i in range(0, len(resources), 1000):
        store.bulk_update(ctx, resources[i : i + 1000])
    return time.perf_counter() - start


def _es_counters(es: Any) -> tuple[int, int, int]:
    """The node's process CPU so far (ms), the documents it indexed so far (every index) and
    those of the bench's own index."""
    stats = es.client.nodes.stats(metric="process,indices")["nodes"]
    cpu = sum(node["process"]["cpu"]["total_in_millis"] for node in stats.values())
    ops = sum(node["indices"]["indexing"]["index_total"] for node in stats.values())
    ours = es.client.indices.stats(index=es.alias, metric="indexing")["_all"]["primaries"]
    return cpu, ops, ours["indexing"]["index_total"]


def _index(primary: Any, es: Any, ctx: hp.TenantContext, batch: int) -> dict[str, float]:
    """Replicate the whole outbox: wall seconds, client and server CPU seconds. The server is
    shared: its CPU is counted in the share of the documents it indexed that were ours (the
    others' searches still count; ``share`` says how much was ours)."""
    (cpu0, ops0, ours0), client = _es_counters(es), time.process_time()
    start = time.perf_counter()
    with es.bulk_loading():  # (a first load into an empty index, as a rebuild loads)
        report, _ = replicate(primary, es, ctx, batch=batch)
    total = time.perf_counter() - start
    client = time.process_time() - client
    cpu1, ops1, ours1 = _es_counters(es)
    share = (ours1 - ours0) / max(1, ops1 - ops0)
    if report.failed:
        raise RuntimeError(f"{len(report.failed)} changes failed: {report.failed[:3]}")
    # (the index's Lucene documents: a resource's own and its nested ones)
    stats = es.client.indices.stats(index=es.alias, metric="docs")["_all"]["primaries"]
    return {"total": total, "client": client, "server": (cpu1 - cpu0) / 1000 * share,
            "share": share, "applied": report.applied,
            "lucene": stats["docs"]["count"] / max(1, report.applied)}  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--patients", type=int, default=4800)
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--batch", type=int, default=2000, help="changes per bulk apply")
    args = parser.parse_args(argv)

    resources = list(generate(args.patients, seed=7))
    ctx = hp.TenantContext.for_tenant(TENANT)
    schema = f"bench_es_{uuid.uuid4().hex[:8]}"
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory() as tmp:
        sqlite = hp.open_store(f"sqlite:///{tmp}/primary.db")
        postgres = hp.open_store(f"{PG_URL}?schema={schema}")
        es = hp.open_store(f"{ES_URL}?prefix={prefix}&refresh=false&batch={args.batch}")
        try:
            load_sqlite = _load(sqlite, ctx, resources)
            load_pg = _load(postgres, ctx, resources)
            timing = _index(sqlite, es, ctx, args.batch)
            n = int(timing["applied"])
            load = os.getloadavg()[0]
            per = {k: 1e6 * timing[k] / n for k in ("client", "server")}
            rows = [
                Measurement("bulk indexing, end to end", n / timing["total"], GOAL_PER_SECOND,
                            "res/s", f"{n:,} resources; load average {load:.1f}; ratio = "
                            "share of the goal"),
                Measurement("  client (Python), one core", 1e6 / per["client"],
                            GOAL_PER_SECOND, "res/s", f"{per['client']:.0f} µs CPU/resource"),
                Measurement("  server (Elasticsearch), one core", 1e6 / per["server"],
                            GOAL_PER_SECOND, "res/s", f"{per['server']:.0f} µs CPU/resource "
                            f"({timing['share']:.0%} of what the node indexed meanwhile; "
                            f"{timing['lucene']:.2f} Lucene documents/resource)"),
                Measurement("  both, two idle cores", 2e6 / (per["client"] + per["server"]),
                            GOAL_PER_SECOND, "res/s", "CPU bound, pipelined"),
                Measurement("  (SQLite primary load, for scale)", n / load_sqlite,
                            GOAL_PER_SECOND, "res/s", "store.bulk_update"),
                Measurement("  (PostgreSQL load, for scale)", n / load_pg,
                            GOAL_PER_SECOND, "res/s", "store.bulk_update"),
            ]  # fmt: skip
            for name, query in [*TEXT_QUERIES, TOKEN_DATE]:
                pages = {
                    engine: store.search(ctx, query).ids
                    for engine, store in (("es", es), ("sqlite", sqlite), ("pg", postgres))
                }
                if not pages["es"] or len({tuple(p) for p in pages.values()}) != 1:
                    raise AssertionError(f"{name}: the engines disagree: {pages}")
                times = {
                    engine: median_seconds(lambda s=store, q=query: s.search(ctx, q),
                                           repeat=args.repeat) * 1000
                    for engine, store in (("es", es), ("sqlite", sqlite), ("pg", postgres))
                }  # fmt: skip
                if name != TOKEN_DATE[0]:
                    hits = f"{len(pages['es'])} hits"
                    rows.append(Measurement(f"{name} vs SQLite FTS5", times["es"],
                                            times["sqlite"], note=hits))  # fmt: skip
                rows.append(Measurement(
                    f"{name} vs PostgreSQL" + (" tsvector" if name != TOKEN_DATE[0] else ""),
                    times["es"], times["pg"], note=f"{len(pages['es'])} hits",
                ))  # fmt: skip
            report(
                "elasticsearch",
                rows,
                extra={"resources": n, "patients": args.patients, "load_average": os.getloadavg()},
            )
        finally:
            es.drop()
            es.close()
            postgres.close()
            sqlite.close()
            _drop_schema(schema)


def _drop_schema(schema: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


if __name__ == "__main__":
    main()
