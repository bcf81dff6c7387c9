"""DuckDB analytics benchmark: export throughput, searches over an export, analytic shapes.

    python -m bench.bench_duckdb [--patients 5000] [--path /tmp/helios-duck] [--repeat 7]

All in one run, on generated resources (5,000 patients: about 106,000 resources) in a
file-backed SQLite store:

* **Export**: ``store.export(format="parquet")`` of the whole store (bulk reads of each type's
  tables, typed rows by DuckDB, the index, text and JSON rows, zstd Parquet) as a ratio to
  DuckDB's own ``COPY (SELECT * FROM read_json('same.ndjson')) TO 'x.parquet'`` of the same
  resources (written beforehand as NDJSON; the baseline's time is the COPY alone). Goal:
  ≥ 1/2 of the baseline's throughput (ratio ≤ 2). The export's peak memory (max RSS of a
  process doing only the export, and of the process reading the store for it) is reported
  against its goal, 512 MB. A second row holds the goal against the export's floor
  (``bench/export_floor.py``): the CPU time of reading every row the layout holds and writing
  the datasets besides the typed rows, each at its cheapest, plus the COPY's own CPU time for
  the typed rows, spread over the machine's cores (at most 2). A floor ratio above 2 means no
  export of this layout reaches the goal on this machine.
* **Searches**: each query class through ``open_analytics(...).search`` (parse, compile,
  DuckDB over the views, decode) as a ratio to a hand-written DuckDB query over the same
  Parquet files answering the same question and decoding the same rows. Goal: ≤ 1.5×.
* **Analytic shapes** (count by code over all Observations, observations per month, a join of
  Observations to their Patients' gender): DuckDB SQL over the export vs the same question in
  SQL on the SQLite store's file. Goal: DuckDB ≥ 10× faster (ratio ≤ 0.1).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import apsw
import duckdb

import helios_persistence as hp
from bench.harness import Measurement, median_seconds, report
from helios_persistence.generator import generate
from helios_persistence.testing.export_peak import export_peak

TENANT = "bench"
#: the cores the export can use (its floor is its cheapest CPU time spread over them)
CORES = min(2, os.cpu_count() or 1)

#: (class, FHIR query, hand-written DuckDB SQL over the export's files)
SEARCHES: list[tuple[str, str, str]] = [
    (
        "token",
        "Observation?code=http://loinc.org|8867-4&_count=50",
        """SELECT o.json FROM read_parquet('{d}/stored/type=Observation/*.parquet') o
           WHERE o.id IN (SELECT id FROM
           read_parquet('{d}/index/idx_token/type=Observation/*.parquet')
           WHERE param = 'code' AND system = 'http://loinc.org' AND code = '8867-4')
           ORDER BY o.id LIMIT 51""",
    ),
    (
        "string",
        "Patient?name=gar&_count=50",
        """SELECT p.json FROM read_parquet('{d}/stored/type=Patient/*.parquet') p
           WHERE p.id IN (SELECT id FROM
           read_parquet('{d}/index/idx_string/type=Patient/*.parquet')
           WHERE param = 'name' AND norm >= 'gar' AND norm < 'gar' || chr(1114111))
           ORDER BY p.id LIMIT 51""",
    ),
    (
        "date",
        "Observation?date=ge2022-01-01&date=lt2022-02-01&_count=50",
        """SELECT o.json FROM read_parquet('{d}/stored/type=Observation/*.parquet') o
           WHERE o.id IN (SELECT id FROM
           read_parquet('{d}/index/idx_date/type=Observation/*.parquet')
           WHERE param = 'date' AND high > epoch_us(TIMESTAMPTZ '2022-01-01 00:00:00+00')
           AND low < epoch_us(TIMESTAMPTZ '2022-02-01 00:00:00+00'))
           ORDER BY o.id LIMIT 51""",
    ),
    (
        "reference + _include",
        "Observation?subject=Patient/p-000042&_include=Observation:patient",
        """SELECT o.json FROM read_parquet('{d}/stored/type=Observation/*.parquet') o
           WHERE o.id IN (SELECT id FROM
           read_parquet('{d}/index/idx_reference/type=Observation/*.parquet')
           WHERE param = 'subject' AND target_type = 'Patient' AND target_id = 'p-000042')
           UNION ALL SELECT p.json FROM read_parquet('{d}/stored/type=Patient/*.parquet') p
           WHERE p.id = 'p-000042'""",
    ),
    (
        # the same search against a hand-written query that follows the page's `patient`
        # references through the index, as `_include` asks (the one above takes the patient's
        # id from the search's own criterion: the same answer here, by knowing the data)
        "reference + _include, references followed",
        "Observation?subject=Patient/p-000042&_include=Observation:patient",
        """WITH page AS (SELECT o.id, o.json FROM
           read_parquet('{d}/stored/type=Observation/*.parquet') o
           WHERE o.id IN (SELECT id FROM
           read_parquet('{d}/index/idx_reference/type=Observation/*.parquet')
           WHERE param = 'subject' AND target_type = 'Patient' AND target_id = 'p-000042'))
           SELECT json FROM page UNION ALL
           SELECT p.json FROM read_parquet('{d}/stored/type=Patient/*.parquet') p
           WHERE p.id IN (SELECT target_id FROM
           read_parquet('{d}/index/idx_reference/type=Observation/*.parquet')
           WHERE param = 'patient' AND target_type = 'Patient' AND id IN (SELECT id FROM page))""",
    ),
]

#: (shape, DuckDB SQL over the export's views, the same question on the SQLite store)
SHAPES: list[tuple[str, str, str]] = [
    (
        "count by code",
        # (unnest in the select list: DuckDB's lateral ``FROM t, unnest(...)`` join costs
        # ≈ 30× more over the wide typed rows)
        """SELECT c.code, count(*) FROM (SELECT unnest(code.coding) AS c FROM observation)
           GROUP BY 1 ORDER BY 1""",
        """SELECT json_extract(c.value, '$.code'), count(*) FROM resources r,
           json_each(r.json, '$.code.coding') c WHERE r.tenant = :t AND r.type = 'Observation'
           AND r.deleted = 0 GROUP BY 1 ORDER BY 1""",
    ),
    (
        "observations per month",
        """SELECT substr(effectiveDateTime, 1, 7) AS month, count(*),
           avg(valueQuantity.value::DOUBLE) FROM observation GROUP BY 1 ORDER BY 1""",
        """SELECT substr(json_extract(json, '$.effectiveDateTime'), 1, 7) AS month, count(*),
           avg(json_extract(json, '$.valueQuantity.value')) FROM resources
           WHERE tenant = :t AND type = 'Observation' AND deleted = 0 GROUP BY 1 ORDER BY 1""",
    ),
    (
        "observations joined to patients",
        """SELECT p.gender, count(*) FROM observation o JOIN patient p
           ON o.subject.reference = 'Patient/' || p.id GROUP BY 1 ORDER BY 1""",
        """SELECT json_extract(p.json, '$.gender'), count(*) FROM resources o JOIN resources p
           ON p.tenant = o.tenant AND p.type = 'Patient'
           AND p.id = substr(json_extract(o.json, '$.subject.reference'), 9)
           WHERE o.tenant = :t AND o.type = 'Observation' AND o.deleted = 0 AND p.deleted = 0
           GROUP BY 1 ORDER BY 1""",
    ),
]


def export_rows(store: Any, db: Path, folder: Path, ctx: hp.TenantContext) -> list[Measurement]:
    """Our export vs DuckDB's COPY of the same resources from NDJSON."""
    start, cpu, child = time.perf_counter(), time.process_time(), _children_cpu()
    job = store.export(ctx, destination=str(folder / "export")).wait()
    ours = time.perf_counter() - start
    cpu, child = time.process_time() - cpu, _children_cpu() - child
    assert job.status == "completed", job.error
    exported = sum(job.counts.values())
    ndjson = folder / "same.ndjson"
    with ndjson.open("w", encoding="utf-8") as out:
        query: str | None = "?_count=1000&_sort=_id"
        for rtype in job.counts:
            query = f"{rtype}?_count=1000&_sort=_id"
            while query:
                page = store.search(ctx, query)
                out.writelines(json.dumps(r) + "\n" for r in page.resources)
                query = page.next
    con = duckdb.connect()
    start, copy_cpu = time.perf_counter(), time.process_time()
    con.execute(
        f"COPY (SELECT * FROM read_json('{ndjson}', format = 'newline_delimited', "
        f"union_by_name = true)) TO '{folder / 'x.parquet'}' (FORMAT parquet, COMPRESSION zstd)"
    )
    baseline = time.perf_counter() - start
    copy_cpu = time.process_time() - copy_cpu
    con.close()
    rate = exported / ours
    floor = json.loads(
        subprocess.run(
            [sys.executable, "-m", "bench.export_floor", str(db), str(folder / "floor"), TENANT],
            check=True, capture_output=True, text=True,
        ).stdout
    )  # fmt: skip
    at_best = (floor["read"] + floor["write"] + copy_cpu) / CORES
    return [
        Measurement(
            "export (resources/s, as time)", ours, baseline, "s",
            f"{exported} resources, {rate:,.0f}/s vs {exported / baseline:,.0f}/s; CPU "
            f"{cpu:.1f} s + {child:.1f} s reading vs {copy_cpu:.1f} s",
        ),
        Measurement(
            "export floor (its cheapest parts' CPU on 2 cores)", at_best, baseline, "s",
            f"reading every row {floor['read']:.2f} s + writing the stored, index and text "
            f"rows {floor['write']:.2f} s + typed rows as the COPY {copy_cpu:.2f} s, "
            f"over {CORES} cores (bench/export_floor.py)",
        ),
    ]  # fmt: skip


def _children_cpu() -> float:
    """CPU seconds of the ended child processes (the export's reading process)."""
    times = os.times()
    return times.children_user + times.children_system


def peak_memory(db: Path, folder: Path) -> tuple[int, int, int]:
    """Resources exported; peak MB of the exporting process and of its reading process."""
    return export_peak(f"sqlite:///{db}", str(folder / "peak"), TENANT)


def search_rows(lake: Any, directory: Path, repeat: int) -> list[Measurement]:
    con = duckdb.connect()
    rows = []
    for name, query, sql in SEARCHES:
        text = sql.format(d=directory)
        ours = lake.search(query)
        hand = [_decode(v) for (v,) in con.execute(text).fetchall()]
        expected = ours.resources + ours.included
        hand_ids = sorted(r["id"] for r in hand[: len(expected)])
        assert hand_ids == sorted(r["id"] for r in expected), f"{name}: answers differ"

        def library(query: str = query) -> None:
            lake.search(query)

        def handwritten(text: str = text) -> None:
            for (v,) in con.execute(text).fetchall():
                _decode(v)

        t_ours = median_seconds(library, repeat=repeat) * 1000
        t_hand = median_seconds(handwritten, repeat=repeat) * 1000
        rows.append(Measurement(name, t_ours, t_hand, "ms", f"{len(expected)} rows"))
    con.close()
    return rows


def _decode(value: str) -> dict[str, Any]:
    resource: dict[str, Any] = json.loads(value)
    return resource


def shape_rows(lake: Any, db: Path, repeat: int) -> list[Measurement]:
    conn = apsw.Connection(str(db), flags=apsw.SQLITE_OPEN_READONLY)
    rows = []
    for name, duck, lite in SHAPES:
        a = sorted(lake.sql(duck).fetchall())
        b = sorted(conn.execute(lite, {"t": TENANT}).fetchall())
        assert [r[:2] for r in a] == [tuple(r[:2]) for r in b], f"{name}: answers differ"

        def ours(duck: str = duck) -> None:
            lake.sql(duck).fetchall()

        def sqlite(lite: str = lite) -> None:
            conn.execute(lite, {"t": TENANT}).fetchall()

        t_duck = median_seconds(ours, repeat=repeat, warmup=1) * 1000
        t_lite = median_seconds(sqlite, repeat=max(3, repeat // 3), warmup=1) * 1000
        rows.append(Measurement(name, t_duck, t_lite, "ms", f"{len(a)} groups"))
    conn.close()
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--patients", type=int, default=5000, help="5,000: about 106,000 resources")
    parser.add_argument("--path", help="folder for the files (default: a temp folder)")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)
    folder = Path(args.path or tempfile.mkdtemp(prefix="helios-duck-"))
    folder.mkdir(parents=True, exist_ok=True)
    resources = list(generate(patients=args.patients, seed=7))
    print(f"{len(resources)} resources from {args.patients} patients, in {folder}")
    db = folder / "helios.db"
    db.unlink(missing_ok=True)
    ctx = hp.TenantContext.for_tenant(TENANT)
    with hp.open_store(f"sqlite:///{db}") as store:
        store.bulk_load(ctx, resources)
        shutil.rmtree(folder / "export", ignore_errors=True)
        rows = export_rows(store, db, folder, ctx)
    exported, peak, reader = peak_memory(db, folder)
    report(
        "duckdb export", rows, goal=2.0,
        extra={"resources": len(resources), "peak_rss_mb": peak, "reader_peak_rss_mb": reader,
               "peak_goal_mb": 512},
    )  # fmt: skip
    print(
        f"peak memory of an export of {exported} resources: {peak} MB, its reading process "
        f"{reader} MB, together {peak + reader} MB (goal: < 512 MB)"
    )
    with hp.open_analytics(str(folder / "export")) as lake:
        report("duckdb searches", search_rows(lake, folder / "export", args.repeat), goal=1.5,
               extra={"resources": len(resources)})  # fmt: skip
        report("duckdb analytics vs sqlite", shape_rows(lake, db, args.repeat), goal=0.1,
               extra={"resources": len(resources)})  # fmt: skip
    if not args.path:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
