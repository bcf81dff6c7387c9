"""The cheapest an export of a SQLite store's tenant could be: what ``bench_duckdb`` holds the
export's throughput goal against.

    python -m bench.export_floor DB OUT TENANT      (prints one JSON line)

Measures, in a process of its own (ADBC's SQLite must not share a process with the store's),
the CPU seconds of the parts an export of the layout cannot skip, each at its cheapest:

* ``read``: every live resource's stored JSON and every index and text row of the tenant, read
  as Arrow by ADBC's SQLite driver, one statement per table (no chunks, no keyset pages, no
  process boundary);
* ``write``: those rows written as zstd Parquet by pyarrow (stored JSON, index and text rows:
  the datasets besides the typed resources);
* the typed resources are left to the caller: at their cheapest they cost what DuckDB's own
  ``COPY (SELECT * FROM read_json(...)) TO 'x.parquet'`` costs, the baseline itself.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq

from helios_persistence.backends.sql.index_tables import COLUMNS, INDEX_TABLES, PARAM_TEXT_SLOTS

__all__ = ["floor_seconds"]


def _statements(tenant: str) -> dict[str, tuple[str, list[str]]]:
    live = "tenant = ? AND deleted = 0"
    r_live = "r.tenant = ? AND r.deleted = 0"
    out = {
        "stored": (f"SELECT tenant, id, version, last_updated, json FROM resources WHERE {live}",
                   [tenant]),
        "resource_text": ("SELECT r.tenant, r.id, t.narrative, t.content FROM resources r "
                          "CROSS JOIN resource_text t ON t.rowid = r.rowid "
                          f"WHERE {r_live}", [tenant]),
        "param_text": ("SELECT r.tenant, r.id, p.param, p.text FROM resources r CROSS JOIN "
                       f"param_text p ON p.rowid >= r.rowid * {PARAM_TEXT_SLOTS} AND p.rowid < "
                       f"(r.rowid + 1) * {PARAM_TEXT_SLOTS} WHERE {r_live}",
                       [tenant]),
    }  # fmt: skip
    for table in INDEX_TABLES:
        columns = ", ".join(("tenant", "type", "id", "param", "grp", *COLUMNS[table]))
        out[table] = (f"SELECT {columns} FROM {table} WHERE tenant = ?", [tenant])
    return out


def floor_seconds(db: str, out: str, tenant: str) -> dict[str, float]:
    """CPU seconds of reading (``read``) and writing (``write``) the non-typed datasets."""
    import adbc_driver_sqlite.dbapi as adbc

    Path(out).mkdir(parents=True, exist_ok=True)
    read = write = 0.0
    with adbc.connect(f"file:{db}?mode=ro") as con, con.cursor() as cur:
        cur.adbc_statement.set_options(**{"adbc.sqlite.query.batch_rows": str(1 << 30)})
        for name, (sql, params) in _statements(tenant).items():
            start = time.process_time()
            cur.execute(sql, params)
            table = cur.fetch_arrow_table()
            read += time.process_time() - start
            start = time.process_time()
            rows = 2048 if name == "stored" else 16_384
            pq.write_table(table, f"{out}/{name}.parquet", compression="zstd", row_group_size=rows)
            write += time.process_time() - start
    return {"read": read, "write": write}


if __name__ == "__main__":
    print(json.dumps(floor_seconds(*sys.argv[1:4])))
