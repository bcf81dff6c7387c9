"""SQLite benchmark: ingest rate and query latency against hand-written SQL on the same file.

    python -m bench.bench_sqlite [--patients 5000] [--path /tmp/helios-bench] [--synthea]

* **Ingest**: resources/s into a fresh file (validation, FHIRPath extraction, index rows,
  history, full text, outbox), 1,000 resources per transaction, as a ratio to a plain apsw
  insert of the same JSON into a one-table SQLite database (WAL, 1,000 rows per
  transaction). Goal: at least 1/5 of the plain rate. Two ways in: ``store.bulk_load`` (the
  initial-import path: value indexes built once at the end, that build and the ``ANALYZE``
  after it timed too) and ``store.bulk_update`` per 1,000 (indexes kept up to date as rows
  arrive, as for any later load). Two more rows show the floor under the first, each on
  its own: the index extraction alone (``indexing.extract``, no database), and SQLite's work
  alone (the same rows, already built, written with the bulk writer's statements into a
  fresh file with the store's schema, indexes built at the end). ``--synthea`` repeats the
  ingest rows on the 78 Synthea patients and 2 information Bundles of ``../shared/data``
  (larger, real resources: the issue's own reference for the plain rate).
* **Queries**: for each class, the median time of ``store.search`` (parse, compile — cached
  by shape after the first run —, execute, decode) as a ratio to the median time of a
  hand-written SQL query answering the same question on the same file and decoding the same
  rows. Goal: within 2×.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import apsw

import helios_persistence as hp
from bench.harness import Measurement, median_seconds, report
from helios_persistence import ucum
from helios_persistence.backends.sqlite.bulk import _Chunk, resource_rows
from helios_persistence.backends.sqlite.schema import defer_indexes, restore_indexes
from helios_persistence.generator import generate
from helios_persistence.indexing import extract
from helios_persistence.indexing.decimal_keys import number_key
from helios_persistence.storage.validation import serialize

TENANT = "bench"

#: (class, FHIR query, hand-written SQL, its parameters)
QUERIES: list[tuple[str, str, str, dict[str, Any]]] = [
    (
        "token",
        "Observation?code=http://loinc.org|8867-4&_count=50",
        """SELECT r.json FROM resources r WHERE r.tenant = :t AND r.type = 'Observation'
           AND r.deleted = 0 AND r.id IN (SELECT i.id FROM idx_token i WHERE i.tenant = :t
           AND i.type = 'Observation' AND i.param = 'code'
           AND i.system = 'http://loinc.org' AND i.code = '8867-4')
           ORDER BY r.type, r.id LIMIT 51""",
        {},
    ),
    (
        "string",
        "Patient?name=gar&_count=50",
        """SELECT r.json FROM resources r WHERE r.tenant = :t AND r.type = 'Patient'
           AND r.deleted = 0 AND r.id IN (SELECT i.id FROM idx_string i WHERE i.tenant = :t
           AND i.type = 'Patient' AND i.param = 'name' AND i.norm >= 'gar' AND i.norm < 'gas')
           ORDER BY r.type, r.id LIMIT 51""",
        {},
    ),
    (
        "date range",
        "Observation?date=ge2020-01-01&date=lt2020-02-01&_count=50",
        # two parameters: two conditions that may hold on different values (R4: AND of
        # repeated parameters), written as a person would for these range semantics (ge:
        # some part of the value at or after the search start, as HAPI and IBM FHIR do)
        """SELECT r.json FROM resources r WHERE r.tenant = :t AND r.type = 'Observation'
           AND r.deleted = 0
           AND r.id IN (SELECT i.id FROM idx_date i WHERE i.tenant = :t
             AND i.type = 'Observation' AND i.param = 'date'
             AND i.high > :lo)
           AND r.id IN (SELECT i.id FROM idx_date i WHERE i.tenant = :t
             AND i.type = 'Observation' AND i.param = 'date' AND i.low < :hi)
           ORDER BY r.type, r.id LIMIT 51""",
        {"lo": 1577836800000000, "hi": 1580515200000000},
    ),
    (
        "chain",
        "Observation?subject:Patient.name=smith&_count=50",
        """SELECT r.json FROM resources r WHERE r.tenant = :t AND r.type = 'Observation'
           AND r.deleted = 0 AND r.id IN (SELECT ref.id FROM idx_reference ref
             JOIN idx_string s ON s.tenant = ref.tenant AND s.type = 'Patient'
              AND s.id = ref.target_id AND s.param = 'name'
             WHERE ref.tenant = :t AND ref.type = 'Observation' AND ref.param = 'subject'
              AND ref.target_type = 'Patient' AND s.norm >= 'smith' AND s.norm < 'smiti')
           ORDER BY r.type, r.id LIMIT 51""",
        {},
    ),
    (
        "_has",
        "Patient?_has:Condition:patient:code=http://snomed.info/sct|44054006&_count=50",
        """SELECT r.json FROM resources r WHERE r.tenant = :t AND r.type = 'Patient'
           AND r.deleted = 0 AND r.id IN (SELECT ref.target_id FROM idx_reference ref
             JOIN idx_token c ON c.tenant = ref.tenant AND c.type = ref.type AND c.id = ref.id
              AND c.param = 'code'
             WHERE ref.tenant = :t AND ref.type = 'Condition' AND ref.param = 'patient'
              AND ref.target_type = 'Patient' AND c.system = 'http://snomed.info/sct'
              AND c.code = '44054006')
           ORDER BY r.type, r.id LIMIT 51""",
        {},
    ),
    (
        "_include",
        "Encounter?status=finished&_include=Encounter:subject&_count=50",
        """WITH page AS (SELECT r.id, r.json FROM resources r WHERE r.tenant = :t
             AND r.type = 'Encounter' AND r.deleted = 0 AND r.id IN (SELECT i.id FROM idx_token i
             WHERE i.tenant = :t AND i.type = 'Encounter' AND i.param = 'status'
             AND i.code = 'finished') ORDER BY r.type, r.id LIMIT 50)
           SELECT json FROM page UNION ALL
           SELECT p.json FROM resources p WHERE p.tenant = :t AND p.type = 'Patient'
             AND p.deleted = 0 AND p.id IN (SELECT ref.target_id FROM idx_reference ref
             WHERE ref.tenant = :t AND ref.type = 'Encounter' AND ref.param = 'subject'
             AND ref.id IN (SELECT id FROM page))""",
        {},
    ),
    (
        "quantity",
        "Observation?value-quantity=gt100&_count=50",
        # numbers are exact text keys (indexing/decimal_keys.py): byte order is numeric order
        """SELECT r.json FROM resources r WHERE r.tenant = :t AND r.type = 'Observation'
           AND r.deleted = 0 AND r.id IN (SELECT i.id FROM idx_quantity i WHERE i.tenant = :t
           AND i.type = 'Observation' AND i.param = 'value-quantity' AND i.value > :v)
           ORDER BY r.type, r.id LIMIT 51""",
        {"v": number_key(Decimal(100))},
    ),
    (
        "sort+page",
        "Observation?code=http://loinc.org|8480-6&_sort=-date&_count=20",
        """SELECT r.json FROM resources r WHERE r.tenant = :t AND r.type = 'Observation'
           AND r.deleted = 0 AND r.id IN (SELECT i.id FROM idx_token i WHERE i.tenant = :t
           AND i.type = 'Observation' AND i.param = 'code' AND i.system = 'http://loinc.org'
           AND i.code = '8480-6')
           ORDER BY (SELECT MAX(d.high) FROM idx_date d WHERE d.tenant = r.tenant
             AND d.type = r.type AND d.id = r.id AND d.param = 'date') DESC, r.type, r.id
           LIMIT 21""",
        {},
    ),
]


def plain_insert_rate(resources: list[dict[str, Any]], folder: Path) -> float:
    """Resources/s for a plain insert of the JSON into one table (the ingest baseline)."""
    path = folder / "plain.db"
    path.unlink(missing_ok=True)
    conn = apsw.Connection(str(path))
    conn.execute("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL")
    conn.execute("CREATE TABLE resources (type TEXT, id TEXT, json TEXT, PRIMARY KEY (type, id))")
    start = time.perf_counter()
    for i in range(0, len(resources), 1000):
        with conn:
            conn.executemany(
                "INSERT INTO resources VALUES (?, ?, ?)",
                [(r["resourceType"], r["id"], json.dumps(r)) for r in resources[i : i + 1000]],
            )
    elapsed = time.perf_counter() - start
    conn.close()
    return len(resources) / elapsed


def extraction_rate(resources: list[dict[str, Any]]) -> float:
    """Resources/s of the index extraction alone (what the store does per resource in Python
    before any SQL)."""
    start = time.perf_counter()
    for resource in resources:
        extract(resource)
    return len(resources) / (time.perf_counter() - start)


def sqlite_work_rate(resources: list[dict[str, Any]], folder: Path) -> float:
    """Resources/s of SQLite's own work for the store's rows: every row (current version,
    history, index, full text, outbox) built beforehand, then written with the bulk
    writer's statements, 1,000 resources per transaction, on a fresh file."""
    path = folder / "rows-only.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    with hp.open_store(f"sqlite:///{path}"):
        pass  # creates the schema
    chunks = []
    for start in range(0, len(resources), 1000):
        chunk = _Chunk()
        for n, resource in enumerate(resources[start : start + 1000], start=start + 1):
            rtype, rid = resource["resourceType"], resource["id"]
            text = serialize(resource)
            chunk.upserts.append((n, TENANT, rtype, rid, 1, n, 0, text))
            chunk.history.append((TENANT, rtype, rid, 1, n, "PUT", text))
            chunk.rows[(rtype, rid)] = resource_rows(TENANT, rtype, rid, n, extract(resource))
            chunk.outbox.append((TENANT, rtype, rid, 1, "upsert", n))
        chunks.append(chunk)
    conn = apsw.Connection(str(path))
    conn.execute("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL")
    start_time = time.perf_counter()
    with conn:
        defer_indexes(conn)
    for chunk in chunks:
        with conn:
            chunk.write(conn, TENANT)
    with conn:
        restore_indexes(conn)
    elapsed = time.perf_counter() - start_time
    conn.close()
    return len(resources) / elapsed


def ingest_rows(label: str, resources: list[dict[str, Any]], folder: Path) -> list[Measurement]:
    """The ingest rows of the report for ``resources`` (store, extraction, SQLite's work)."""
    plain = plain_insert_rate(resources, folder)
    rates = {}
    for way in ("bulk_update", "bulk_load"):  # the bulk_load file is the one queried after
        db = folder / f"ingest-{label}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        with hp.open_store(f"sqlite:///{db}") as store:
            rates[way] = store_ingest_rate(store, resources, way)
    extraction = extraction_rate(resources)
    sql = sqlite_work_rate(resources, folder)
    per = 1e6 / plain
    return [
        *(Measurement(f"{way} ({label})", 1e6 / rate, per, "µs/resource",
                      f"{rate:,.0f}/s vs plain {plain:,.0f}/s")
          for way, rate in sorted(rates.items())),
        Measurement(f"  extraction alone ({label})", 1e6 / extraction, per, "µs/resource",
                    f"{extraction:,.0f}/s, no database"),
        Measurement(f"  SQLite work alone ({label})", 1e6 / sql, per, "µs/resource",
                    f"{sql:,.0f}/s, rows built beforehand"),
    ]  # fmt: skip


def synthea_resources() -> list[dict[str, Any]]:
    """The resources of every Synthea Bundle in ``../shared/data/synthea``, as ``helios load``
    streams them (the package's Bundle-to-stream code decides the ids; conditional references
    stay as written); the batch Bundles' resources as they are."""
    from helios_persistence.loading import Source, read
    from helios_persistence.loading.units import units_of

    folder = Path(__file__).resolve().parents[2] / "shared" / "data" / "synthea"
    resources = []
    for path in sorted(folder.glob("*.json")):
        for unit in (u for doc in read(Source(str(path), path)) for u in units_of(doc)):
            if unit.kind == "bundle" and unit.bundle is not None:
                entries = unit.bundle.get("entry", [])
                resources += [e["resource"] for e in entries if e["resource"].get("id")]
            else:
                resources += unit.resources
    return resources


def store_ingest_rate(store: Any, resources: list[dict[str, Any]], way: str) -> float:
    """Resources/s through ``store.bulk_load`` or ``store.bulk_update`` per 1,000."""
    ctx = hp.TenantContext.for_tenant(TENANT)
    # one-time costs of a process (UCUM's unit table, FHIRPath plans) are not timed
    ucum.canonical("mg")
    extract(resources[0])
    start = time.perf_counter()
    if way == "bulk_load":
        store.bulk_load(ctx, resources)  # runs the planner statistics itself
        return len(resources) / (time.perf_counter() - start)
    for i in range(0, len(resources), 1000):
        store.bulk_update(ctx, resources[i : i + 1000])
    rate = len(resources) / (time.perf_counter() - start)
    store.optimize(ctx)  # planner statistics, as after any bulk load
    return rate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--patients", type=int, default=5000, help="5,000: about 106,000 resources")
    parser.add_argument("--synthea", action="store_true", help="ingest rows for Synthea too")
    parser.add_argument("--path", help="folder for the database files (default: a temp folder)")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--reuse", action="store_true", help="query an existing --path database")
    args = parser.parse_args(argv)
    folder = Path(args.path or tempfile.mkdtemp(prefix="helios-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    resources = list(generate(patients=args.patients, seed=7))
    print(f"{len(resources)} resources from {args.patients} patients, in {folder}")

    db = folder / "helios.db"
    if args.reuse and db.exists():
        store = hp.open_store(f"sqlite:///{db}")
    else:
        rows = ingest_rows("generated", resources, folder)
        extra: dict[str, Any] = {"resources": len(resources)}
        if args.synthea:
            synthea = synthea_resources()
            rows += ingest_rows("Synthea", synthea, folder)
            extra["synthea_resources"] = len(synthea)
        report("sqlite ingest", rows, goal=5.0, extra=extra)
        (folder / "ingest-generated.db").rename(db)
        for suffix in ("-wal", "-shm"):
            Path(f"{folder}/ingest-generated.db{suffix}").unlink(missing_ok=True)
        store = hp.open_store(f"sqlite:///{db}")

    ctx = hp.TenantContext.for_tenant(TENANT)
    conn = apsw.Connection(str(db), flags=apsw.SQLITE_OPEN_READONLY)
    measurements = []
    with store:
        for name, query, sql, params in QUERIES:
            ours_result = store.search(ctx, query)
            hand = [json.loads(row[0]) for row in conn.execute(sql, {"t": TENANT, **params})]
            matches = len(ours_result.resources) + len(ours_result.included)
            if name != "_include":
                hand = hand[: len(ours_result.resources)]
            assert sorted(r["id"] for r in hand) == sorted(
                r["id"] for r in ours_result.resources + ours_result.included
            ), f"{name}: the library and the hand-written SQL disagree"

            def library(query: str = query) -> None:
                store.search(ctx, query)

            def handwritten(sql: str = sql, params: dict[str, Any] = params) -> None:
                for row in conn.execute(sql, {"t": TENANT, **params}):
                    json.loads(row[0])

            t_ours = median_seconds(library, repeat=args.repeat) * 1000
            t_hand = median_seconds(handwritten, repeat=args.repeat) * 1000
            measurements.append(Measurement(name, t_ours, t_hand, "ms", f"{matches} rows"))
    report("sqlite queries", measurements, goal=2.0, extra={"resources": len(resources)})
    conn.close()
    if not args.path:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
