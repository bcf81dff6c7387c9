"""The Arrow schemas of an export's datasets besides the typed resources (:mod:`.layout`):
the stored JSON, the SQL compiler's index rows and the text rows (``dialects/duckdb/README.md``).
"""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa
import pyarrow.json as pa_json

from helios_persistence.backends.sql.index_tables import COLUMNS

__all__ = [
    "INDEX_SCHEMAS",
    "STORED_SCHEMA",
    "TEXT_SCHEMAS",
    "json_rows_table",
    "read_json_lines",
    "table_of",
]

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


def json_rows_table(rows: list[tuple[Any, ...]], schema: pa.Schema) -> pa.Table:
    """:func:`table_of` by pyarrow's JSON reader: slower per row, but without the import of
    pandas (a second) that ``pa.array`` of Python values makes (for the few rows of an
    export's small tables)."""
    if not rows:
        return pa.Table.from_batches([], schema=schema)
    lines = [json.dumps(dict(zip(schema.names, r, strict=True))) for r in rows]
    return read_json_lines(lines, schema).select(schema.names)


def read_json_lines(lines: list[str], schema: pa.Schema, *, strict: bool = False) -> pa.Table:
    """JSON objects (one per line) as an Arrow table of ``schema``, in one block, in this
    thread (``strict``: a key the schema does not have is an error, else it is dropped)."""
    data = "\n".join(lines).encode()
    return pa_json.read_json(
        pa.BufferReader(data),
        read_options=pa_json.ReadOptions(block_size=len(data) + 1, use_threads=False),
        parse_options=pa_json.ParseOptions(
            explicit_schema=schema, unexpected_field_behavior="error" if strict else "ignore"
        ),
    )
