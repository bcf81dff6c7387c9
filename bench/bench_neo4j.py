"""Neo4j graph secondary benchmark: sync throughput, and traversal latency against PostgreSQL.

    python -m bench.bench_neo4j [--patients 4700] [--organizations 200] [--repeat 9]

Generated data (``generate(patients, seed=7, organizations=...)``; 4,700 patients are about
100,000 resources) is loaded into PostgreSQL (``store.bulk_update``, a scratch schema dropped
at the end) and synced into Neo4j (a namespace of its own, deleted at the end) through the
primary's outbox (``storage.sync.replicate``), both servers on this machine
(``HELIOS_TEST_POSTGRES`` / ``HELIOS_TEST_NEO4J``, else the ``scripts/services`` defaults):

* **Sync**: resources/s from the PostgreSQL outbox into Neo4j (read the outbox 5,000 changes
  at a time, extract the index values, ``UNWIND`` batches of the store's ``batch_size``
  (1,000), each written while the next is extracted), and the CPU each side spent per
  resource: this process (``time.process_time``: the outbox read, the extraction, the Bolt
  encoding) and, when ``--neo4j-pid`` names the server's process (``/proc``), Neo4j's.
  Goal: at least 5,000 resources/s. The PostgreSQL load rate of the same resources is shown
  beside it, and the machine's load average.
* **Traversals**: per query, the median time of ``graph.search`` as a ratio to the median
  time of ``postgres.search`` for the same query on the same data (each through the whole
  library: parse, compile, execute, decode). Goal: the graph wins (ratio < 1) on the 3-hop
  chain and on nested ``_has``; where it does not, the README says why.
"""

from __future__ import annotations

import argparse
import os
import time
import uuid
from typing import Any

import psycopg
from psycopg import sql

import helios_persistence as hp
from bench.harness import Measurement, median_seconds, report
from helios_persistence.generator import generate
from helios_persistence.storage.sync import replicate

TENANT = "bench"
DEFAULT_PG = "postgresql://helios:helios@127.0.0.1:5432/helios_test"
DEFAULT_NEO4J = "bolt://127.0.0.1:7687"
#: the sync goal (resources/s)
SYNC_GOAL = 5000


def traversals(resources: list[dict[str, Any]]) -> dict[str, str]:
    """The four traversal classes, on values of this data set that select a few hundred rows
    (one organization among many; the rarest condition code)."""
    org = next(
        r for r in resources if r["resourceType"] == "Organization" and r["id"].endswith("7")
    )
    codes: dict[str, int] = {}
    for r in resources:
        if r["resourceType"] == "Condition":
            code = r["code"]["coding"][0]["code"]
            codes[code] = codes.get(code, 0) + 1
    rare = min(codes, key=lambda c: (codes[c], c))
    npi = org["identifier"][0]
    org_id = f"{npi['system']}|{npi['value']}"
    return {
        "2-hop chain": f"Observation?subject:Patient.organization.identifier={org_id}&_count=50",
        "3-hop chain": (
            f"Condition?encounter.subject:Patient.organization.identifier={org_id}&_count=50"
        ),
        "nested _has": (
            f"Patient?_has:Encounter:patient:_has:Condition:encounter:code="
            f"http://snomed.info/sct|{rare}&_count=50"
        ),
        "_revinclude:iterate": (
            f"Organization?_id={org['id']}&_revinclude=Patient:organization"
            "&_revinclude:iterate=Encounter:patient"
        ),
    }


def _cpu_seconds(pid: int | None) -> float:
    """CPU seconds (user + system) process ``pid`` has used (0 without one: not measured)."""
    if pid is None:
        return 0.0
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load_postgres(store: Any, ctx: Any, resources: list[dict[str, Any]]) -> float:
    """Resources/s of ``store.bulk_update`` (1,000 per transaction)."""
    start = time.perf_counter()
    for i in range(0, len(resources), 1000):
        store.bulk_update(ctx, resources[i : i + 1000])
    return len(resources) / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pg", default=os.environ.get("HELIOS_TEST_POSTGRES", DEFAULT_PG))
    parser.add_argument("--neo4j", default=os.environ.get("HELIOS_TEST_NEO4J", DEFAULT_NEO4J))
    parser.add_argument("--patients", type=int, default=4700, help="~21 resources each")
    parser.add_argument("--organizations", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument(
        "--neo4j-pid", type=int, default=None, help="the server's process id: its CPU per resource"
    )
    args = parser.parse_args(argv)

    resources = list(generate(args.patients, seed=7, organizations=args.organizations))
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    namespace = f"bench-{uuid.uuid4().hex[:8]}"
    print(f"{len(resources)} resources, schema {schema}, namespace {namespace}")
    ctx = hp.TenantContext.for_tenant(TENANT)
    pg = hp.open_store(f"{args.pg}?schema={schema}")
    sep = "&" if "?" in args.neo4j else "?"
    graph = hp.open_store(f"{args.neo4j}{sep}namespace={namespace}&temporary=true&timeout=0")
    try:
        pg_rate = load_postgres(pg, ctx, resources)
        start = time.perf_counter()
        client, server = time.process_time(), _cpu_seconds(args.neo4j_pid)
        synced, _position = replicate(pg, graph, ctx, batch=5000)
        elapsed = time.perf_counter() - start
        client = (time.process_time() - client) / max(synced.applied, 1) * 1e6
        server = (_cpu_seconds(args.neo4j_pid) - server) / max(synced.applied, 1) * 1e6
        if synced.failed:
            raise RuntimeError(f"sync failed: {synced.failed[0]}")
        sync_rate = synced.applied / elapsed
        rows = [
            Measurement(
                "sync into Neo4j (s per 1,000)", 1000 / sync_rate, 1000 / SYNC_GOAL, "s",
                f"{sync_rate:,.0f} resources/s (goal ≥ {SYNC_GOAL:,}); PostgreSQL load "
                f"{pg_rate:,.0f}/s; CPU per resource: client {client:,.0f} µs, Neo4j "
                f"{server:,.0f} µs; load average {os.getloadavg()[0]:.1f}",
            )
        ]  # fmt: skip
        for name, query in traversals(resources).items():
            got = graph.search(ctx, query)
            want = pg.search(ctx, query)
            if sorted(got.ids) != sorted(want.ids) or len(got.included) != len(want.included):
                raise AssertionError(f"{name}: the graph and PostgreSQL disagree on {query}")
            ours = median_seconds(lambda q=query: graph.search(ctx, q), repeat=args.repeat)
            base = median_seconds(lambda q=query: pg.search(ctx, q), repeat=args.repeat)
            note = f"{len(want.ids)} matches, {len(want.included)} included"
            rows.append(Measurement(name, ours * 1000, base * 1000, "ms", note))
        report(
            "neo4j graph vs postgres",
            rows,
            goal=1.0,
            extra={
                "resources": len(resources),
                "sync_rate": sync_rate,
                "pg_load_rate": pg_rate,
                "client_cpu_us_per_resource": client,
                "neo4j_cpu_us_per_resource": server,
                "load_average": os.getloadavg(),
            },
        )
    finally:
        try:
            graph.close()
        finally:
            pg.close()
            with psycopg.connect(args.pg, autocommit=True) as conn:
                drop = sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE")
                conn.execute(drop.format(sql.Identifier(schema)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
