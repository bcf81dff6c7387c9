"""The connection object of a SQLite session: what the records and index writers write through.

:class:`Tx` runs each write at once; :class:`~.bulk.BulkWriter` (a bulk session) is the same
interface with every row buffered and written in batches. The records (:mod:`.records`) and
writers (:mod:`.writer`) call these methods and never ask which one they have, as the
PostgreSQL backend's :class:`~helios_persistence.backends.postgres.tx.Tx` is used.
"""

from __future__ import annotations

from typing import Any

import apsw

from helios_persistence.backends.sql.index_tables import INDEX_TABLES, PARAM_TEXT_SLOTS
from helios_persistence.indexing.rows import ResourceIndex
from helios_persistence.storage.operations import Current

__all__ = ["Tx"]


class Tx:
    """One SQLite transaction (or read) of one tenant on an apsw connection."""

    def __init__(self, conn: apsw.Connection, tenant: str) -> None:
        self.conn = conn
        self.tenant = tenant

    def execute(self, statement: str, params: Any = None) -> apsw.Cursor:
        return self.conn.execute(statement, params)

    def executemany(self, statement: str, rows: Any) -> apsw.Cursor:
        self.flush()
        return self.conn.executemany(statement, rows)

    def changes(self) -> int:
        """Rows changed by the last statement."""
        return int(self.conn.changes())

    def flush(self) -> None:
        """Write what is buffered (nothing: every write runs at once)."""

    # -- records --------------------------------------------------------------------------------
    def current(self, resource_type: str, id: str) -> Current | None:
        row = self.execute(
            "SELECT version, last_updated, deleted, json FROM resources "
            "WHERE tenant = ? AND type = ? AND id = ?",
            (self.tenant, resource_type, id),
        ).fetchone()
        if row is None:
            return None
        return Current(int(row[0]), int(row[1]), bool(row[2]), row[3])

    def put_version(
        self,
        resource_type: str,
        id: str,
        version: int,
        last_updated: int,
        method: str,
        text: str | None,
    ) -> int:
        """Make ``version`` current (``text`` None: a deletion) and append it to the history;
        returns the resource's ``resources`` rowid (stable across versions)."""
        key = (self.tenant, resource_type, id)
        row = self.execute(
            "INSERT INTO resources (tenant, type, id, version, last_updated, deleted, json) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (tenant, type, id) DO UPDATE SET version = excluded.version, "
            "last_updated = excluded.last_updated, deleted = excluded.deleted, "
            "json = excluded.json RETURNING rowid",
            (*key, version, last_updated, int(text is None), text),
        ).fetchone()
        assert row is not None  # RETURNING always yields the upserted row
        self.execute(
            "INSERT INTO history (tenant, type, id, version, last_updated, method, json) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (*key, version, last_updated, method, text),
        )
        return int(str(row[0]))

    # -- index, text and outbox rows ------------------------------------------------------------
    def delete_index(self, resource_type: str, id: str, rowid: int) -> None:
        """Remove every index and text row of a resource (``rowid`` keys its text rows)."""
        key = (self.tenant, resource_type, id)
        for table in INDEX_TABLES:
            self.execute(f"DELETE FROM {table} WHERE tenant = ? AND type = ? AND id = ?", key)
        self.execute("DELETE FROM resource_text WHERE rowid = ?", (rowid,))
        base = rowid * PARAM_TEXT_SLOTS
        self.execute(
            "DELETE FROM param_text WHERE rowid BETWEEN ? AND ?",
            (base, base + PARAM_TEXT_SLOTS - 1),
        )

    def add_index(self, resource_type: str, id: str, rowid: int, index: ResourceIndex) -> None:
        from .writer import IndexBuffer

        buffer = IndexBuffer()
        buffer.add(self.tenant, resource_type, id, rowid, index)
        buffer.flush(self.conn)

    def add_outbox(self, row: tuple[Any, ...]) -> None:
        self.execute(
            "INSERT INTO outbox (tenant, type, id, version, operation, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            row,
        )
