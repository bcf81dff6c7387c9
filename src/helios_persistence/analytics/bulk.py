"""Bulk reads for an export: a type's live resources straight from a SQLite store's tables, in
chunks of :data:`CHUNK`, with their index and text rows, instead of search pages.

Used by system-level exports of a SQLite store (file or memory) for the types exported whole
or since an instant (no ``_typeFilter``), when the context has no compartment restriction: the
resources are exactly those a search of the type returns (the tenant's live rows, the tenant
bound), and the JSON text is the stored one (which the store wrote with ``serialize``, so it is
the search path's bytes). Index rows are the store's own; the text rows are its FTS5 rows (keyed
by the resource's rowid), which hold the text as the store indexes it (``fts_text``-folded:
the words are the same). Every other export reads by search (:mod:`.export`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import accumulate, islice
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from helios_persistence.analytics.datasets import INDEX_SCHEMAS, TEXT_SCHEMAS, table_of
from helios_persistence.analytics.sqlite_arrow import ArrowReadError, SQLiteArrow, available
from helios_persistence.backends.sql.index_tables import COLUMNS, INDEX_TABLES, PARAM_TEXT_SLOTS
from helios_persistence.storage.types import parse_period_micros
from helios_persistence.tenancy import TenantContext

__all__ = ["CHUNK", "ArrowSource", "Chunk", "bulk_readable", "chunks", "since_micros"]

#: resources per chunk (each chunk's datasets are written as files of their own)
CHUNK = 8192
#: JSON text per chunk at most (characters; large resources make short chunks)
CHUNK_BYTES = 16 << 20
#: rows made Arrow at a time (Python tuples take ten times the memory)
_SLICE = 4096
_STORED = pa.schema(
    [("tenant", pa.string()), ("id", pa.string()), ("version", pa.int64()),
     ("last_updated", pa.int64()), ("json", pa.string())]
)  # fmt: skip
_SIZES = pa.schema([("id", pa.string()), ("size", pa.int64())])


@dataclass
class Chunk:
    """Up to :data:`CHUNK` live resources of one type, in id order, and their rows."""

    resource_type: str
    #: ``tenant, id, version, last_updated (µs), json`` (the stored text)
    stored: pa.Table
    #: the index rows (:data:`.datasets.INDEX_SCHEMAS`) and text rows
    #: (:data:`.datasets.TEXT_SCHEMAS`) per dataset (``index/idx_token``, ``text/param_text``)
    rows: dict[str, pa.Table]

    @property
    def last_id(self) -> str:
        return str(self.stored.column("id")[-1].as_py())

    def __len__(self) -> int:
        return int(self.stored.num_rows)


def bulk_readable(store: Any, ctx: TenantContext) -> bool:
    """True for a SQLite store and a context without a compartment restriction."""
    return (
        type(store).__module__.startswith("helios_persistence.backends.sqlite")
        and ctx.permissions.compartment is None
    )


def since_micros(since: str | None) -> int:
    """The smallest ``last_updated`` a ``_since`` keeps (``_lastUpdated=gt``: the resource's
    instant after the whole of ``since``'s precision)."""
    if since is None:
        return -(2**63)
    return parse_period_micros(since)[1]


def chunks(
    store: Any,
    ctx: TenantContext,
    resource_type: str,
    since: str | None,
    after: str = "",
    *,
    with_rows: bool = True,
    source: ArrowSource | None = None,
) -> Iterator[Chunk]:
    """The type's live resources updated since ``since``, after id ``after``, chunk by chunk
    (each chunk read in one read transaction; keyset-paged on id). ``with_rows`` False: without
    their index and text rows (an NDJSON export).

    A store in a file is read through ADBC (:mod:`.sqlite_arrow`: Arrow without Python rows,
    by ``source``'s reading process, which an export keeps across its types); an in-memory
    store, or one whose values the driver cannot type, through apsw."""
    floor = since_micros(since)
    key = [ctx.tenant_key, resource_type]
    own = source is None
    source = source if source is not None else ArrowSource(store, ctx)
    try:
        while True:
            chunk = None
            arrow = source.get()
            if arrow is not None:
                try:
                    chunk = _arrow_chunk(arrow, resource_type, key, floor, after, with_rows, since)
                except ArrowReadError:  # (values of mixed types) apsw from here on
                    source.drop()
                    arrow = None
            if arrow is None:
                chunk = _python_chunk(
                    store, ctx, resource_type, key, floor, after, with_rows, since
                )
            if chunk is None:
                return
            yield chunk
            after = chunk.last_id
    finally:
        if own:
            source.close()


class ArrowSource:
    """The reading process (:class:`.sqlite_arrow.SQLiteArrow`) of the tenant's database
    file, started on first use and kept until :meth:`close` (none: a store in memory, or no
    driver; or one that failed, :meth:`drop`)."""

    def __init__(self, store: Any, ctx: TenantContext) -> None:
        self.store, self.ctx = store, ctx
        self._reader: SQLiteArrow | None = None
        self._tried = False

    def get(self) -> SQLiteArrow | None:
        if not self._tried:
            self._tried = True
            if available():
                with self.store.read_session(self.ctx) as s:
                    path = s.conn.conn.filename
                if path:
                    timeout = getattr(self.store, "busy_timeout_ms", 30_000)
                    with contextlib.suppress(ArrowReadError):  # (then apsw reads)
                        self._reader = SQLiteArrow(path, timeout)
        return self._reader

    def drop(self) -> None:
        """Read through apsw from here on."""
        self.close()
        self._tried = True

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None


def _arrow_chunk(
    arrow: SQLiteArrow,
    resource_type: str,
    key: list[Any],
    floor: int,
    after: str,
    with_rows: bool,
    since: str | None,
) -> Chunk | None:
    """The next chunk, read in one read transaction through ADBC (None: no more)."""
    arrow.begin()
    try:
        sizes = arrow.read(
            f"SELECT r.id, octet_length(r.json) FROM resources r WHERE {_LIVE} AND r.id > ? "
            f"ORDER BY r.id LIMIT {CHUNK}",
            [*key, floor, after], _SIZES,
        )  # fmt: skip
        if sizes.num_rows == 0:
            return None
        # the chunk ends with the resource that reaches CHUNK_BYTES of JSON
        ends = accumulate(sizes.column("size").to_pylist())
        reached = next((i for i, total in enumerate(ends) if total >= CHUNK_BYTES), -1)
        last = sizes.column("id")[reached].as_py()
        stored = arrow.read(
            "SELECT r.tenant, r.id, r.version, r.last_updated, r.json FROM resources r "
            f"WHERE {_LIVE} AND r.id > ? AND r.id <= ? ORDER BY r.id",
            [*key, floor, after, last], _STORED,
        )  # fmt: skip
        if stored.num_rows == 0:
            return None
        tables = _arrow_rows(arrow, key, floor, stored, since is not None) if with_rows else {}
    finally:
        arrow.end()
    return Chunk(resource_type, stored, tables)


def _arrow_rows(
    arrow: SQLiteArrow, key: list[Any], floor: int, stored: pa.Table, since: bool
) -> dict[str, pa.Table]:
    """:func:`_rows` through ADBC."""
    ids = stored.column("id")
    first, last = ids[0].as_py(), ids[len(ids) - 1].as_py()
    out: dict[str, pa.Table] = {}
    for table_name in INDEX_TABLES:
        table = arrow.read(_INDEX_ROWS[table_name], [*key, first, last], INDEX_SCHEMAS[table_name])
        if since:  # only the rows of the chunk's resources
            table = table.filter(pc.is_in(table.column("id"), value_set=ids))
        if table.num_rows:
            out[f"index/{table_name}"] = table
    for name, sql in _TEXT_QUERIES.items():
        table = arrow.read(sql, [*key, floor, first, last], TEXT_SCHEMAS[name])
        if table.num_rows:
            out[f"text/{name}"] = table
    return out


def _python_chunk(
    store: Any,
    ctx: TenantContext,
    resource_type: str,
    key: list[Any],
    floor: int,
    after: str,
    with_rows: bool,
    since: str | None,
) -> Chunk | None:
    """The next chunk, read in one read transaction through apsw (None: no more)."""
    with store.read_session(ctx) as s:
        conn = s.conn
        cursor = conn.execute(
            f"SELECT r.tenant, r.id, r.version, r.last_updated, r.json FROM resources r "
            f"WHERE {_LIVE} AND r.id > ? ORDER BY r.id LIMIT {CHUNK}",
            [*key, floor, after],
        )
        rows, size = [], 0
        for row in cursor:  # (a chunk ends early past CHUNK_BYTES of JSON)
            rows.append(row)
            size += len(row[4])
            if size >= CHUNK_BYTES:
                break
        if not rows:
            return None
        tables = _rows(conn, key, floor, rows, since is not None) if with_rows else {}
    return Chunk(resource_type, table_of(rows, _STORED), tables)


_LIVE = "r.tenant = ? AND r.type = ? AND r.deleted = 0 AND r.last_updated >= ?"
_SPAN = f"{_LIVE} AND r.id >= ? AND r.id <= ?"
#: each index table's rows of a span of ids (parameters: tenant, type, first id, last id), in
#: the columns of :data:`.datasets.INDEX_SCHEMAS`
_INDEX_ROWS = {
    table: f"SELECT {', '.join(('tenant', 'id', 'param', 'grp', *COLUMNS[table]))} "
    f"FROM {table} WHERE tenant = ? AND type = ? AND id >= ? AND id <= ?"
    for table in INDEX_TABLES
}
#: the text rows of a span of resources (parameters: ``_SPAN``'s)
_TEXT_QUERIES = {
    "resource_text": "SELECT r.tenant, r.id, t.narrative, t.content FROM resources r CROSS "
    f"JOIN resource_text t ON t.rowid = r.rowid WHERE {_SPAN} ORDER BY r.id",
    "param_text": "SELECT r.tenant, r.id, p.param, p.text FROM resources r CROSS JOIN "
    f"param_text p ON p.rowid >= r.rowid * {PARAM_TEXT_SLOTS} "
    f"AND p.rowid < (r.rowid + 1) * {PARAM_TEXT_SLOTS} WHERE {_SPAN} ORDER BY p.rowid",
}


def _rows(
    conn: Any, key: list[str], floor: int, rows: list[Any], since: bool
) -> dict[str, pa.Table]:
    """The index rows, text rows and per-parameter text rows of a chunk's resources (each
    table's rows made Arrow at once: Python tuples take ten times the memory)."""
    first, last = rows[0][1], rows[-1][1]
    ids = {r[1] for r in rows} if since else None
    out: dict[str, pa.Table] = {}
    for table_name in INDEX_TABLES:
        found = conn.execute(_INDEX_ROWS[table_name], [*key, first, last])
        table = _arrow(found, INDEX_SCHEMAS[table_name], ids)
        if table is not None:
            out[f"index/{table_name}"] = table
    params = [*key, floor, first, last]
    for name, sql in _TEXT_QUERIES.items():
        table = _arrow(conn.execute(sql, params), TEXT_SCHEMAS[name], None)
        if table is not None:
            out[f"text/{name}"] = table
    return out


def _arrow(cursor: Any, schema: pa.Schema, ids: set[str] | None) -> pa.Table | None:
    """A cursor's rows (of the resources ``ids`` when given) as Arrow, a slice at a time."""
    tables = []
    while piece := list(islice(cursor, _SLICE)):
        if ids is not None:
            piece = [r for r in piece if r[1] in ids]
        if piece:
            tables.append(table_of(piece, schema))
    return pa.concat_tables(tables) if tables else None
