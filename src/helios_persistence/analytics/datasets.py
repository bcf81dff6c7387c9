"""The Arrow schemas of an export's datasets besides the typed resources (:mod:`.layout`):
the stored JSON, the SQL compiler's index rows and the text rows (``dialects/duckdb/README.md``).
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from helios_persistence.backends.sql.index_tables import COLUMNS

__all__ = ["INDEX_SCHEMAS", "STORED_SCHEMA", "TEXT_SCHEMAS", "table_of"]

INDEX_SCHEMAS = {
    table: pa.schema(
        [
            ("tenant", pa.string()),
            ("id", pa.string()),
            ("param", pa.string()),
            ("grp", pa.int64()),
            *cols,
        ]
    )
    for table, cols in {
        "idx_string": [("norm", pa.string()), ("exact", pa.string())],
        "idx_token": [(c, pa.string()) for c in COLUMNS["idx_token"]],
        "idx_date": [("low", pa.int64()), ("high", pa.int64())],
        # numbers as their exact text keys (indexing/decimal_keys.py), as SQLite stores them
        "idx_number": [(c, pa.string()) for c in COLUMNS["idx_number"]],
        "idx_quantity": [(c, pa.string()) for c in COLUMNS["idx_quantity"]],
        "idx_reference": [(c, pa.string()) for c in COLUMNS["idx_reference"]],
        "idx_uri": [("uri", pa.string())],
    }.items()
}
TEXT_SCHEMAS = {
    "resource_text": pa.schema(
        [("tenant", pa.string()), ("id", pa.string()), ("narrative", pa.string()),
         ("content", pa.string())]
    ),
    "param_text": pa.schema(
        [("tenant", pa.string()), ("id", pa.string()), ("param", pa.string()),
         ("text", pa.string())]
    ),
}  # fmt: skip


#: the stored resources as JSON, with what a search sorts and pages on (narrow: searches read
#: these, not the typed rows)
STORED_SCHEMA = pa.schema(
    [("tenant", pa.string()), ("id", pa.string()), ("version", pa.int64()),
     ("last_updated", pa.int64()), ("json", pa.large_string())]
)  # fmt: skip


def table_of(rows: list[tuple[Any, ...]], schema: pa.Schema) -> pa.Table:
    """Rows (tuples in the schema's column order) as an Arrow table, column by column."""
    columns = zip(*rows, strict=True)
    arrays = [pa.array(c, type=f.type) for c, f in zip(columns, schema, strict=True)]
    return pa.Table.from_arrays(arrays, schema=schema)
