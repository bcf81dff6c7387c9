"""The terminology tables of an export (layout version 2), and their reader.

An export of a SQL store carries the tenant's terminology as the store holds it, so that
``:below``/``:above``/``:in``/``:not-in`` (and ``_filter`` ``sb``/``ss``/``in``/``ni``) run on
DuckDB through the same SQL lowering (:mod:`helios_persistence.compilers.sql_terminology`)::

    terminology/term_closure.parquet     tenant, system, ancestor, descendant, distance
    terminology/term_expansion.parquet   tenant, valueset, system, code, display
    terminology/term_valueset.parquet    tenant, id, url, version, last_updated, total,
                                         error_code, error_message

``term_closure`` is the store's closure table (every stored CodeSystem's is-a pairs, each
concept with itself). Every live ValueSet of the tenant is expanded (through the store's
expansion cache, so the codes are the ones a search of the store matches) and its codes go to
``term_expansion`` under the key ``ValueSet/<id>``; ``term_valueset`` lists every live ValueSet
with its canonical url and version (how a search value names it) and, when it cannot be
expanded, the error the store raises for it (so the export answers ``:in`` with the same
error). Stores without terminology tables export none: their exports answer these modifiers
with ``not-found``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from helios_persistence import ir
from helios_persistence.analytics.datasets import json_rows_table
from helios_persistence.analytics.export import placeholder
from helios_persistence.errors import TerminologyError
from helios_persistence.tenancy import TenantContext
from helios_persistence.terminology.tables import (
    ExpansionNeeded,
    StoreSource,
    ensure_expansion,
    prepare_query,
)

__all__ = ["FOLDER", "SCHEMAS", "LakeTerminology", "export_terminology"]

FOLDER = "terminology"
_S = pa.string()
SCHEMAS: dict[str, pa.Schema] = {
    "term_closure": pa.schema(
        [("tenant", _S), ("system", _S), ("ancestor", _S), ("descendant", _S),
         ("distance", pa.int64())]
    ),
    "term_expansion": pa.schema(
        [("tenant", _S), ("valueset", _S), ("system", _S), ("code", _S), ("display", _S)]
    ),
    "term_valueset": pa.schema(
        [("tenant", _S), ("id", _S), ("url", _S), ("version", _S), ("last_updated", pa.int64()),
         ("total", pa.int64()), ("error_code", _S), ("error_message", _S)]
    ),
}  # fmt: skip
#: rows per record batch written
_BATCH = 50_000


def _valuesets_sql(mark: str) -> str:
    """Every live ValueSet of a tenant: id, url, version (from the store's own index, as
    ``StoreSource.locate`` reads them), last_updated, and its cached expansion's size."""
    return (
        "SELECT r.id, u.uri, v.code, r.last_updated, s.total FROM resources r "
        "LEFT JOIN idx_uri u ON u.tenant = r.tenant AND u.type = r.type AND u.id = r.id "
        "AND u.param = 'url' "
        "LEFT JOIN idx_token v ON v.tenant = r.tenant AND v.type = r.type AND v.id = r.id "
        "AND v.param = 'version' "
        "LEFT JOIN term_expansion_state s ON s.tenant = r.tenant "
        "AND s.valueset = 'ValueSet/' || r.id "
        f"WHERE r.tenant = {mark} AND r.type = 'ValueSet' AND r.deleted = 0 "
        "ORDER BY r.last_updated, r.id"
    )


def _write(
    fs: pafs.FileSystem, path: str, schema: pa.Schema, rows: Iterator[tuple[Any, ...]]
) -> int:
    """``rows`` as one Parquet file, a record batch at a time; returns how many."""
    total = 0
    with pq.ParquetWriter(path, schema, filesystem=fs, compression="zstd") as out:
        batch: list[tuple[Any, ...]] = []
        for row in rows:
            batch.append(row)
            if len(batch) >= _BATCH:
                out.write_batch(_batch(schema, batch))
                total, batch = total + len(batch), []
        if batch or not total:
            out.write_batch(_batch(schema, batch))
            total += len(batch)
    return total


def _batch(schema: pa.Schema, rows: list[tuple[Any, ...]]) -> pa.RecordBatch:
    if not rows:  # (pa.array, even of nothing, would import pandas)
        return pa.RecordBatch.from_arrays([pa.nulls(0, f.type) for f in schema], schema=schema)
    return json_rows_table(rows, schema).combine_chunks().to_batches()[0]


def export_terminology(store: Any, ctx: TenantContext, fs: pafs.FileSystem, base: str) -> bool:
    """Write the tenant's terminology tables under ``base/terminology`` (False: the store has
    none). ValueSets not expanded yet are expanded into the store's cache first."""
    binding = getattr(store, "_terminology", None)
    if binding is None:
        return False
    mark, tenant = placeholder(store), ctx.tenant_key
    with store.read_session(ctx) as s:
        valuesets = [tuple(r) for r in s.conn.execute(_valuesets_sql(mark), [tenant])]
    failed: dict[str, tuple[str, str]] = {}
    for id, *_, total in valuesets:
        if total is not None:
            continue
        try:
            with store.write_session(ctx) as s:
                ensure_expansion(binding(s.conn), s.tenant, f"ValueSet/{id}")
        except TerminologyError as exc:  # exported as the error a search of it raises
            failed[str(id)] = (exc.issue_code, exc.message)
    fs.create_dir(f"{base}/{FOLDER}", recursive=True)
    path = f"{base}/{FOLDER}/%s.parquet"
    with store.read_session(ctx) as s:
        listed = [tuple(r) for r in s.conn.execute(_valuesets_sql(mark), [tenant])]
        rows = (
            (tenant, str(id), url, version, updated, total, *failed.get(str(id), (None, None)))
            for id, url, version, updated, total in listed
        )
        _write(fs, path % "term_valueset", SCHEMAS["term_valueset"], rows)
        closure = s.conn.execute(
            "SELECT tenant, system, ancestor, descendant, distance FROM term_closure "
            f"WHERE tenant = {mark} ORDER BY system, ancestor, descendant",
            [tenant],
        )
        _write(fs, path % "term_closure", SCHEMAS["term_closure"], (tuple(r) for r in closure))
        expansion = s.conn.execute(
            "SELECT tenant, valueset, system, code, display FROM term_expansion "
            f"WHERE tenant = {mark} ORDER BY valueset, system, code",
            [tenant],
        )
        _write(
            fs, path % "term_expansion", SCHEMAS["term_expansion"], (tuple(r) for r in expansion)
        )
    return True


# -- reading ------------------------------------------------------------------------------------
class _LakeDB:
    """:class:`~helios_persistence.terminology.tables.TermDB` over the analytics connection:
    read only (every expansion an export has is already there)."""

    writable = False

    def __init__(self, execute: Any) -> None:
        self._execute = execute

    def rows(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        rows: list[tuple[Any, ...]] = self._execute(sql, list(params))
        return rows

    def run(self, sql: str, params: tuple[Any, ...]) -> None:  # pragma: no cover - read only
        raise TypeError("an export is read only")

    def lock(self, tenant: str) -> None:  # pragma: no cover - read only
        raise TypeError("an export is read only")

    def insert_many(  # pragma: no cover - read only
        self, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]
    ) -> None:
        raise TypeError("an export is read only")


class _LakeSource(StoreSource):
    """The exported ValueSets, found as the store finds them (``term_valueset``)."""

    def locate(self, kind: str, url: str, version: str | None) -> str | None:
        rows = self.db.rows(
            "SELECT id, version FROM term_valueset WHERE tenant = ? AND url = ? "
            "ORDER BY last_updated, id",
            (self.tenant, url),
        )
        if version is not None:
            rows = [r for r in rows if r[1] == version]
        return str(rows[-1][0]) if rows else None

    def exists(self, kind: str, id: str) -> bool:
        sql = "SELECT 1 FROM term_valueset WHERE tenant = ? AND id = ?"
        return bool(self.db.rows(sql, (self.tenant, id)))


class LakeTerminology:
    """The ``prepare`` step of a search over an export: ``:in``/``:not-in`` ValueSets resolved
    to their exported expansions, or the error the store raised expanding them."""

    def __init__(self, execute: Any, tenant: str) -> None:
        self.db, self.tenant = _LakeDB(execute), tenant

    def prepare(self, query: ir.Query) -> ir.Query:
        try:
            return prepare_query(
                self.db, self.tenant, query, source=_LakeSource(self.db, self.tenant)
            )
        except ExpansionNeeded as need:
            raise self._error(need.references[0]) from None

    def _error(self, key: str) -> TerminologyError:
        rows = self.db.rows(
            "SELECT error_code, error_message FROM term_valueset WHERE tenant = ? AND id = ?",
            (self.tenant, key[len("ValueSet/") :]),
        )
        if rows and rows[0][0]:
            return TerminologyError(str(rows[0][1]), issue_code=str(rows[0][0]))
        return TerminologyError(f"{key} has no expansion in this export", issue_code="not-found")


def duckdb_type(field: pa.Field) -> str:
    """The DuckDB type of an Arrow field of :data:`SCHEMAS`."""
    return "BIGINT" if pa.types.is_integer(field.type) else "VARCHAR"
