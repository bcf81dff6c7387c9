"""SQLite benchmark: ingest rate and query latency against hand-written SQL on the same file.

    python -m bench.bench_sqlite [--patients 4000] [--path /tmp/helios-bench]

* **Ingest**: resources/s through the store (validation, FHIRPath extraction, index rows,
  history, full text, outbox), 1,000 resources per transaction, as a ratio to a plain apsw
  insert of the same JSON into a one-table SQLite database (WAL, 1,000 rows per
  transaction). Goal: at least 1/5 of the plain rate.
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
from pathlib import Path
from typing import Any

import apsw

import helios_persistence as hp
from bench.harness import Measurement, median_seconds, report
from helios_persistence.generator import generate

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
        # repeated parameters), written as a person would for these R4 range semantics
        """SELECT r.json FROM resources r WHERE r.tenant = :t AND r.type = 'Observation'
           AND r.deleted = 0
           AND r.id IN (SELECT i.id FROM idx_date i WHERE i.tenant = :t
             AND i.type = 'Observation' AND i.param = 'date'
             AND (i.high > :lo_high OR (i.low >= :lo AND i.high <= :lo_high)))
           AND r.id IN (SELECT i.id FROM idx_date i WHERE i.tenant = :t
             AND i.type = 'Observation' AND i.param = 'date' AND i.low < :hi)
           ORDER BY r.type, r.id LIMIT 51""",
        {"lo": 1577836800000000, "lo_high": 1577923200000000, "hi": 1580515200000000},
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


def store_ingest_rate(store: Any, resources: list[dict[str, Any]]) -> float:
    ctx = hp.TenantContext.for_tenant(TENANT)
    start = time.perf_counter()
    for i in range(0, len(resources), 1000):
        store.bulk_update(ctx, resources[i : i + 1000])
    rate = len(resources) / (time.perf_counter() - start)
    store.optimize(ctx)  # planner statistics, as after any bulk load
    return rate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--patients", type=int, default=4000)
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
        plain = plain_insert_rate(resources, folder)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        store = hp.open_store(f"sqlite:///{db}")
        ours = store_ingest_rate(store, resources)
        rows = [Measurement("ingest", 1 / ours * 1e6, 1 / plain * 1e6, "µs/resource",
                            f"{ours:,.0f}/s vs plain {plain:,.0f}/s")]  # fmt: skip
        report("sqlite ingest", rows, goal=5.0, extra={"resources": len(resources)})

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
