"""Index rows, full-text rows and outbox rows of a write (buffered by the transaction).

The same functions as the SQLite backend's ``writer`` module; rows go into the session's
:class:`~.tx.Tx` buffer and reach the database at its next flush (one pipeline, or ``COPY``
for large batches). Full text is ``tsvector`` values built by :mod:`.text`.

A btree index entry holds at most about 2.7 kB, so a text value in a btree-indexed column is
stored cut to its first :data:`MAX_INDEXED_BYTES` bytes (``:exact`` compares the uncut
``exact`` column). Searching for a value longer than that therefore finds nothing on
PostgreSQL (a documented limit; SQLite has none).
"""

from __future__ import annotations

from decimal import Decimal
from itertools import chain
from operator import itemgetter
from typing import Any

from helios_persistence.backends.sql.index_tables import (
    COLUMNS,
    INDEX_TABLES,
    KEY,
    param_texts,
    rows_by_table,
)
from helios_persistence.indexing.rows import ResourceIndex

from .text import tsvector
from .tx import TYPES, Key, Tx

__all__ = ["INDEX_TABLES", "MAX_INDEXED_BYTES", "delete_index", "write_index", "write_outbox"]

MAX_INDEXED_BYTES = 1000
#: positions of the btree-indexed text values in each table's rows (not ``exact``, ``text``)
_CLIPPED = {
    table: tuple(
        i
        for i, (column, kind) in enumerate(zip(KEY + cols, TYPES[table], strict=True))
        if i >= len(KEY) and kind == "text" and column not in ("exact", "text")
    )
    for table, cols in COLUMNS.items()
}
#: each table's clipped values as a tuple (the tenant too: a tuple even for one column)
_GET = {table: itemgetter(*at, 0) for table, at in _CLIPPED.items()}


def _exact(value: Decimal) -> Decimal:
    """A number as PostgreSQL's NUMERIC columns take it: the Decimal itself."""
    return value


def _clip(value: Any) -> Any:
    if isinstance(value, str) and len(value) > MAX_INDEXED_BYTES // 4:
        data = value.encode("utf-8")
        if len(data) > MAX_INDEXED_BYTES:
            return data[:MAX_INDEXED_BYTES].decode("utf-8", "ignore")
    return value


def _clipped(table: str, rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """``rows`` with their long indexed values cut (see the module docstring). Nearly always
    no value can be too long (at most ``MAX_INDEXED_BYTES // 4`` characters): one C-level
    pass over the rows' values finds that."""
    positions = _CLIPPED[table]
    limit = MAX_INDEXED_BYTES // 4
    if not positions or not rows:
        return rows
    values = filter(None, chain.from_iterable(map(_GET[table], rows)))
    if max(map(len, values), default=0) <= limit:
        return rows
    for n, row in enumerate(rows):
        if any(isinstance(row[i], str) and len(row[i]) > limit for i in positions):
            rows[n] = tuple(_clip(v) if i in positions else v for i, v in enumerate(row))
    return rows


def delete_index(tx: Tx, tenant: str, resource_type: str, id: str, key: Key) -> None:
    """Remove every index and text row of a resource."""
    tx.drop_index((resource_type, id))


def write_index(
    tx: Tx,
    tenant: str,
    resource_type: str,
    id: str,
    key: Key,
    index: ResourceIndex,
    *,
    replace: bool = True,
    text: bool = True,
) -> None:
    """Replace a resource's index and text rows with ``index`` (``replace`` False: the
    resource is new, nothing to delete; ``text`` False: index rows only)."""
    key = (resource_type, id)
    if replace:
        tx.drop_index(key)
    for table, rows in rows_by_table(tenant, resource_type, id, index.rows, number=_exact).items():
        tx.add_rows(key, table, _clipped(table, rows))
    if not text:
        return
    if index.narrative or index.content:
        row = (tenant, resource_type, id, tsvector(index.narrative), tsvector(index.content))
        tx.add_rows(key, "resource_text", [row])
    texts = [
        (tenant, resource_type, id, param, tsvector(value))
        for param, value in param_texts(index.rows)
    ]
    if texts:
        tx.add_rows(key, "param_text", texts)


def write_outbox(
    tx: Tx,
    tenant: str,
    resource_type: str,
    id: str,
    version: int,
    operation: str,
    created_at: int,
) -> None:
    """Record a change for the secondaries (``operation``: ``upsert`` or ``delete``)."""
    tx.add_outbox((tenant, resource_type, id, version, operation, created_at))
