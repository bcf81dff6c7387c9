"""Writing a resource's index rows, full-text row and outbox row (inside the caller's txn).

Each :mod:`helios_persistence.indexing.rows` type maps to its ``idx_*`` table. A
:class:`~helios_persistence.indexing.rows.CompositeRow`'s components go to their own type's
table under the parameter ``<composite>$<i>`` (``i`` = component position from 0), tied by a
``grp`` number unique per composite row within the resource (plain rows have ``grp`` NULL).
Decimals are stored as floats. The FTS5 row is found again through ``resource_text_rowid``.
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

__all__ = ["INDEX_TABLES", "delete_index", "write_index", "write_outbox"]

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


def delete_index(conn: apsw.Connection, tenant: str, resource_type: str, id: str) -> None:
    """Remove every index and full-text row of a resource."""
    key = (tenant, resource_type, id)
    for table in INDEX_TABLES:
        conn.execute(f"DELETE FROM {table} WHERE tenant = ? AND type = ? AND id = ?", key)
    found = conn.execute(
        "SELECT rid FROM resource_text_rowid WHERE tenant = ? AND type = ? AND id = ?", key
    ).fetchone()
    if found is not None:
        conn.execute("DELETE FROM resource_text WHERE rowid = ?", (found[0],))
        conn.execute(
            "DELETE FROM resource_text_rowid WHERE tenant = ? AND type = ? AND id = ?", key
        )


def write_index(
    conn: apsw.Connection,
    tenant: str,
    resource_type: str,
    id: str,
    index: ResourceIndex,
    *,
    replace: bool = True,
) -> None:
    """Replace a resource's index and full-text rows with ``index`` (``replace`` False: the
    resource is new, there is nothing to delete first)."""
    if replace:
        delete_index(conn, tenant, resource_type, id)
    for table, params in rows_by_table(tenant, resource_type, id, index.rows).items():
        conn.executemany(_INSERT[table], params)
    if index.narrative or index.content:
        conn.execute(
            "INSERT INTO resource_text (tenant, type, id, narrative, content) "
            "VALUES (?, ?, ?, ?, ?)",
            (tenant, resource_type, id, index.narrative or "", index.content or ""),
        )
        conn.execute(
            "INSERT INTO resource_text_rowid (tenant, type, id, rid) VALUES (?, ?, ?, ?)",
            (tenant, resource_type, id, conn.last_insert_rowid()),
        )


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
