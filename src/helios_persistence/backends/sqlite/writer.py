"""Writing a resource's index rows, full-text row and outbox row (inside the caller's txn).

Each :mod:`helios_persistence.indexing.rows` type maps to its ``idx_*`` table. A
:class:`~helios_persistence.indexing.rows.CompositeRow`'s components go to their own type's
table under the parameter ``<composite>$<i>`` (``i`` = component position from 0), tied by a
``grp`` number unique per composite row within the resource (plain rows have ``grp`` NULL).
Decimals are stored as floats. A resource's full-text row has its ``resources`` rowid.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import apsw

from helios_persistence.indexing.rows import (
    CompositeRow,
    DateRow,
    IndexRow,
    NumberRow,
    QuantityRow,
    ReferenceRow,
    ResourceIndex,
    StringRow,
    TokenRow,
    UriRow,
)

__all__ = ["INDEX_TABLES", "IndexBuffer", "delete_index", "write_index", "write_outbox"]

INDEX_TABLES = (
    "idx_string",
    "idx_token",
    "idx_date",
    "idx_number",
    "idx_quantity",
    "idx_reference",
    "idx_uri",
)

_KEY = ("tenant", "type", "id", "param", "grp")


def _f(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _values(row: IndexRow) -> tuple[str, tuple[Any, ...]]:
    """The table and the non-key column values for ``row``."""
    match row:
        case StringRow():
            return "idx_string", (row.norm, row.exact)
        case TokenRow():
            return "idx_token", (row.system, row.code, row.text, row.type_system, row.type_code)
        case DateRow():
            return "idx_date", (row.low, row.high)
        case NumberRow():
            return "idx_number", (_f(row.value), _f(row.low), _f(row.high))
        case QuantityRow():
            return "idx_quantity", (
                _f(row.value),
                _f(row.low),
                _f(row.high),
                row.system,
                row.code,
                row.unit,
                _f(row.canonical_value),
                _f(row.canonical_low),
                _f(row.canonical_high),
                row.canonical_unit,
            )
        case ReferenceRow():
            return "idx_reference", (
                row.target_type,
                row.target_id,
                row.version,
                row.url,
                row.identifier_system,
                row.identifier_value,
            )
        case UriRow():
            return "idx_uri", (row.uri,)
    raise TypeError(f"not an index row: {row!r}")


_COLUMNS = {
    "idx_string": ("norm", "exact"),
    "idx_token": ("system", "code", "text", "type_system", "type_code"),
    "idx_date": ("low", "high"),
    "idx_number": ("value", "low", "high"),
    "idx_quantity": (
        "value",
        "low",
        "high",
        "system",
        "code",
        "unit",
        "canonical_value",
        "canonical_low",
        "canonical_high",
        "canonical_unit",
    ),
    "idx_reference": (
        "target_type",
        "target_id",
        "version",
        "url",
        "identifier_system",
        "identifier_value",
    ),
    "idx_uri": ("uri",),
}

_INSERT = {
    table: (
        f"INSERT INTO {table} ({', '.join(_KEY + cols)}) "
        f"VALUES ({', '.join('?' for _ in _KEY + cols)})"
    )
    for table, cols in _COLUMNS.items()
}


def rows_by_table(
    tenant: str, resource_type: str, id: str, rows: Iterable[IndexRow | CompositeRow]
) -> dict[str, list[tuple[Any, ...]]]:
    """The insert parameters per table for ``rows``."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    group = 0
    for row in rows:
        if isinstance(row, CompositeRow):
            group += 1
            for i, component in enumerate(row.components):
                table, values = _values(component)
                key = (tenant, resource_type, id, f"{row.param}${i}", group)
                out.setdefault(table, []).append(key + values)
        else:
            table, values = _values(row)
            out.setdefault(table, []).append((tenant, resource_type, id, row.param, None, *values))
    return out


def _param_texts(rows: Iterable[IndexRow | CompositeRow]) -> list[tuple[str, str]]:
    """``(param, text)`` for ``:text-advanced``: token display/text and string values."""
    out: list[tuple[str, str]] = []
    for row in rows:
        if isinstance(row, TokenRow) and row.text:
            out.append((row.param, row.text))
        elif isinstance(row, StringRow):
            out.append((row.param, row.exact))
    return out[:PARAM_TEXT_SLOTS]


class IndexBuffer:
    """Index, full-text and per-parameter text rows waiting to be inserted.

    A bulk load adds every resource of a transaction here and flushes once, so each table
    gets one ``executemany`` per transaction instead of one per resource."""

    def __init__(self, *, text: bool = True) -> None:
        #: False: index rows only (a reindex of some parameters keeps the text rows)
        self.with_text = text
        self.tables: dict[str, list[tuple[Any, ...]]] = {}
        self.text: list[tuple[Any, ...]] = []
        self.param_text: list[tuple[Any, ...]] = []

    def add(
        self, tenant: str, resource_type: str, id: str, rowid: int, index: ResourceIndex
    ) -> None:
        for table, params in rows_by_table(tenant, resource_type, id, index.rows).items():
            self.tables.setdefault(table, []).extend(params)
        if not self.with_text:
            return
        if index.narrative or index.content:
            self.text.append(
                (rowid, tenant, resource_type, id, index.narrative or "", index.content or "")
            )
        base = rowid * PARAM_TEXT_SLOTS
        for n, (param, text) in enumerate(_param_texts(index.rows)):
            self.param_text.append((base + n, tenant, resource_type, id, param, text))

    def flush(self, conn: apsw.Connection) -> None:
        for table, params in self.tables.items():
            conn.executemany(_INSERT[table], params)
        if self.text:
            conn.executemany(_INSERT_TEXT, self.text)
        if self.param_text:
            conn.executemany(_INSERT_PARAM_TEXT, self.param_text)
        self.tables, self.text, self.param_text = {}, [], []

    def __bool__(self) -> bool:
        return bool(self.tables or self.text or self.param_text)


#: rowids of a resource's param_text rows: ``rowid * PARAM_TEXT_SLOTS + n``
PARAM_TEXT_SLOTS = 1024
_INSERT_TEXT = (
    "INSERT INTO resource_text (rowid, tenant, type, id, narrative, content) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)
_INSERT_PARAM_TEXT = (
    "INSERT INTO param_text (rowid, tenant, type, id, param, text) VALUES (?, ?, ?, ?, ?, ?)"
)


def delete_index(
    conn: apsw.Connection, tenant: str, resource_type: str, id: str, rowid: int
) -> None:
    """Remove every index and text row of a resource (``rowid``: its ``resources`` rowid,
    which is also the rowid of its full-text rows — FTS5 deletes efficiently only by rowid)."""
    key = (tenant, resource_type, id)
    for table in INDEX_TABLES:
        conn.execute(f"DELETE FROM {table} WHERE tenant = ? AND type = ? AND id = ?", key)
    conn.execute("DELETE FROM resource_text WHERE rowid = ?", (rowid,))
    base = rowid * PARAM_TEXT_SLOTS
    conn.execute(
        "DELETE FROM param_text WHERE rowid BETWEEN ? AND ?", (base, base + PARAM_TEXT_SLOTS - 1)
    )


def write_index(
    conn: apsw.Connection,
    tenant: str,
    resource_type: str,
    id: str,
    rowid: int,
    index: ResourceIndex,
    *,
    replace: bool = True,
    buffer: IndexBuffer | None = None,
) -> None:
    """Replace a resource's index and text rows with ``index`` (``replace`` False: the
    resource is new, nothing to delete). With ``buffer``, rows wait there for one flush."""
    if replace:
        if buffer:
            buffer.flush(conn)  # the old rows may still be waiting in the buffer
        delete_index(conn, tenant, resource_type, id, rowid)
    target = buffer if buffer is not None else IndexBuffer()
    target.add(tenant, resource_type, id, rowid, index)
    if buffer is None:
        target.flush(conn)


def write_outbox(
    conn: apsw.Connection,
    tenant: str,
    resource_type: str,
    id: str,
    version: int,
    operation: str,
    created_at: int,
) -> None:
    """Record a change for the secondaries (``operation``: ``upsert`` or ``delete``)."""
    conn.execute(
        "INSERT INTO outbox (tenant, type, id, version, operation, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (tenant, resource_type, id, version, operation, created_at),
    )
