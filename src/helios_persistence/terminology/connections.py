"""The SQLite and PostgreSQL bindings of :class:`~.tables.TermDB` (a session's ``conn``).

SQLite: the session's ``Tx``, or the :class:`BulkWriter` of a bulk load (whose ``execute``
writes its buffered rows first); a transaction is writable once it holds the write lock.
PostgreSQL: the session's :class:`Tx` (buffered writes are flushed before any statement);
many rows go by ``COPY``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["PostgresTermDB", "SQLiteTermDB"]

#: apsw's ``txn_state`` of a connection holding the write lock
_SQLITE_TXN_WRITE = 2


class SQLiteTermDB:
    def __init__(self, conn: Any) -> None:
        from helios_persistence.backends.sqlite.bulk import BulkWriter

        self.conn = conn  # the session's Tx, or a bulk session's BulkWriter
        self.raw = getattr(conn, "conn", conn)  # the apsw connection
        bulk = isinstance(conn, BulkWriter)
        self.writable = bulk or self.raw.txn_state("main") == _SQLITE_TXN_WRITE

    def rows(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        return list(self.conn.execute(sql, params).fetchall())

    def run(self, sql: str, params: tuple[Any, ...]) -> None:
        self.conn.execute(sql, params)

    def lock(self, tenant: str) -> None:
        """(SQLite has one writer at a time: a write transaction already excludes others.)"""

    def insert_many(
        self, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]
    ) -> None:
        flush = getattr(self.conn, "flush", None)
        if flush is not None:  # (a bulk session's buffered rows first)
            flush()
        marks = ", ".join("?" for _ in columns)
        self.raw.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)


class PostgresTermDB:
    #: a read-only search resolves its ValueSets in the statement (``helios_valueset_key``)
    resolves_in_statement = True

    def __init__(self, tx: Any) -> None:
        self.tx = tx
        self.writable = bool(tx.writable)

    @staticmethod
    def _sql(sql: str) -> str:
        return sql.replace("%", "%%").replace("?", "%s")

    def rows(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        return list(self.tx.execute(self._sql(sql), params).fetchall())

    def run(self, sql: str, params: tuple[Any, ...]) -> None:
        self.tx.execute(self._sql(sql), params)

    def lock(self, tenant: str) -> None:
        """Serialise the tenant's terminology writers (CodeSystem/ValueSet writes and
        expansions) until the transaction ends, so that an expansion is never cached from a
        CodeSystem that a concurrent write has just replaced."""
        from helios_persistence.backends.postgres.locks import lock_key

        self.tx.lock(lock_key("terminology", tenant))

    def insert_many(
        self, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]
    ) -> None:
        self.tx.flush()
        statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
        with self.tx.conn.cursor() as cur, cur.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
