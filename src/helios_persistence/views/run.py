"""Running views: into Arrow, into a DuckDB table or Parquet file, and ``$viewdefinition-run``."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from helios_persistence.errors import InvalidViewDefinition
from helios_persistence.views.sources import as_source
from helios_persistence.views.view import compile_view

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

    from helios_persistence.tenancy import TenantContext

__all__ = ["FORMATS", "OperationResult", "materialize", "run", "run_operation", "serialize"]

#: ``_format`` values of ``$viewdefinition-run`` and their media types
FORMATS = {
    "csv": "text/csv",
    "ndjson": "application/x-ndjson",
    "json": "application/json",
    "parquet": "application/vnd.apache.parquet",
}
_FORMAT_ALIASES = {
    "text/csv": "csv",
    "application/x-ndjson": "ndjson",
    "application/fhir+ndjson": "ndjson",
    "application/json": "json",
    "application/vnd.apache.parquet": "parquet",
}


def run(
    view: Any,
    source: Any,
    ctx: TenantContext | None = None,
    *,
    dialect: str | None = None,
    limit: int | None = None,
) -> pa.Table:
    """Run ``view`` over ``source`` (see :func:`helios_persistence.views.sources.as_source`).

    ``dialect`` is the source's own (given only to check it); ``limit`` caps the rows.
    """
    src = as_source(source, ctx)
    if dialect is not None and dialect.replace("postgresql", "postgres") != src.dialect:
        raise InvalidViewDefinition(
            f"this source runs {src.dialect} SQL, not {dialect}", not_supported=True
        )
    compiled = compile_view(view, src.dialect, table=src.table, tenant=src.tenant_scoped)
    table = src.execute(compiled)
    return table.slice(0, limit) if limit is not None else table


def materialize(
    view: Any,
    source: Any,
    ctx: TenantContext | None = None,
    *,
    parquet: str | Path | None = None,
    duckdb_conn: duckdb.DuckDBPyConnection | None = None,
    table: str | None = None,
) -> pa.Table:
    """Run ``view`` and keep the rows: as a Parquet file and/or a DuckDB table ``table``
    (replaced if it exists) on ``duckdb_conn``. Returns the rows."""
    rows = run(view, source, ctx)
    if parquet is not None:
        import pyarrow.parquet as pq

        pq.write_table(rows, str(parquet))
    if table is not None:
        if duckdb_conn is None:
            raise InvalidViewDefinition("materialising into a DuckDB table needs duckdb_conn")
        duckdb_conn.register("__helios_view_rows", rows)
        try:
            duckdb_conn.execute(
                f"CREATE OR REPLACE TABLE {_quote(table)} AS SELECT * FROM __helios_view_rows"
            )
        finally:
            duckdb_conn.unregister("__helios_view_rows")
    return rows


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True, slots=True)
class OperationResult:
    """The answer of ``$viewdefinition-run``: ``body`` bytes of ``content_type``."""

    body: bytes
    content_type: str
    rows: int


def serialize(rows: pa.Table, fmt: str) -> bytes:
    """``rows`` as csv, ndjson, json (an array of objects) or parquet bytes."""
    fmt = _FORMAT_ALIASES.get(fmt, fmt)
    if fmt == "parquet":
        import pyarrow.parquet as pq

        sink = io.BytesIO()
        pq.write_table(rows, sink)
        return sink.getvalue()
    records = rows.to_pylist()
    if fmt == "json":
        return orjson.dumps(records)
    if fmt == "ndjson":
        return b"".join(orjson.dumps(r) + b"\n" for r in records)
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(rows.column_names)
        for record in records:
            writer.writerow([_csv_cell(v) for v in record.values()])
        return out.getvalue().encode()
    raise InvalidViewDefinition(
        f"_format {fmt!r} is not supported; use one of {', '.join(FORMATS)}", not_supported=True
    )


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return orjson.dumps(value).decode()
    return str(value)


def run_operation(
    view: Any,
    *,
    resources: list[dict[str, Any]] | None = None,
    source: Any = None,
    ctx: TenantContext | None = None,
    _format: str = "json",
    _limit: int | None = None,
) -> OperationResult:
    """``$viewdefinition-run``: ``view`` over inline ``resources`` or a ``source``."""
    if (resources is None) == (source is None):
        raise InvalidViewDefinition("give either resources or source (not both)")
    fmt = _FORMAT_ALIASES.get(_format, _format)
    if fmt not in FORMATS:
        raise InvalidViewDefinition(
            f"_format {_format!r} is not supported; use one of {', '.join(FORMATS)}",
            not_supported=True,
        )
    if _limit is not None and (not isinstance(_limit, int) or _limit < 0):
        raise InvalidViewDefinition("_limit must be a non-negative integer")
    rows = run(view, resources if resources is not None else source, ctx, limit=_limit)
    return OperationResult(serialize(rows, fmt), FORMATS[fmt], rows.num_rows)
