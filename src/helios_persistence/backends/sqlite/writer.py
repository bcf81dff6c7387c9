"""Writing a resource's index rows, full-text row and outbox row (inside the caller's txn).

The row model (tables, columns, composites) is :mod:`helios_persistence.backends.sql.index_tables`,
shared with the other SQL backends. A resource's full-text row has its ``resources`` rowid.
"""

from __future__ import annotations

from typing import Any

import apsw

from helios_persistence.backends.sql.index_tables import (
    INDEX_TABLES,
    PARAM_TEXT_SLOTS,
    rows_by_table,
)
from helios_persistence.indexing.rows import ResourceIndex

from .bulk import INSERT_PARAM_TEXT, INSERT_ROWS, INSERT_TEXT, resource_rows
from .tx import Tx

__all__ = [
    "INDEX_TABLES",
    "PARAM_TEXT_SLOTS",
    "IndexBuffer",
    "delete_index",
    "rows_by_table",
    "write_index",
    "write_outbox",
]


class IndexBuffer:
    """Index, full-text and per-parameter text rows waiting to be inserted (one
    ``executemany`` per table at :meth:`flush`)."""

    def __init__(self, *, text: bool = True) -> None:
        #: False: index rows only (a reindex of some parameters keeps the text rows)
        self.with_text = text
        self.tables: dict[str, list[tuple[Any, ...]]] = {}
        self.text: list[tuple[Any, ...]] = []
        self.param_text: list[tuple[Any, ...]] = []

    def add(
        self, tenant: str, resource_type: str, id: str, rowid: int, index: ResourceIndex
    ) -> None:
        tables, text, param_text = resource_rows(
            tenant, resource_type, id, rowid, index, text=self.with_text
        )
        for table, params in tables.items():
            self.tables.setdefault(table, []).extend(params)
        self.text += text
        self.param_text += param_text

    def flush(self, conn: apsw.Connection) -> None:
        for table, params in self.tables.items():
            conn.executemany(INSERT_ROWS[table], params)
        if self.text:
            conn.executemany(INSERT_TEXT, self.text)
        if self.param_text:
            conn.executemany(INSERT_PARAM_TEXT, self.param_text)
        self.tables, self.text, self.param_text = {}, [], []

    def __bool__(self) -> bool:
        return bool(self.tables or self.text or self.param_text)


def delete_index(conn: Tx, tenant: str, resource_type: str, id: str, rowid: int) -> None:
    """Remove every index and text row of a resource (``rowid``: its ``resources`` rowid,
    which is also the rowid of its full-text rows — FTS5 deletes efficiently only by rowid)."""
    conn.delete_index(resource_type, id, rowid)


def write_index(
    conn: Tx,
    tenant: str,
    resource_type: str,
    id: str,
    rowid: int,
    index: ResourceIndex,
    *,
    replace: bool = True,
) -> None:
    """Replace a resource's index and text rows with ``index`` (``replace`` False: the
    resource is new, nothing to delete)."""
    if replace:
        conn.delete_index(resource_type, id, rowid)
    conn.add_index(resource_type, id, rowid, index)


def write_outbox(
    conn: Tx,
    tenant: str,
    resource_type: str,
    id: str,
    version: int,
    operation: str,
    created_at: int,
) -> None:
    """Record a change for the secondaries (``operation``: ``upsert`` or ``delete``)."""
    conn.add_outbox((tenant, resource_type, id, version, operation, created_at))
