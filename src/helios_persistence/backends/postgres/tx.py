"""One PostgreSQL transaction of one tenant: write buffering, resource locks, flushing.

A :class:`Tx` is the ``conn`` of a store session. Writes are **buffered** (current rows,
history, index rows, full text, outbox) and sent together: every statement of a flush goes
out in one pipeline (one network round trip), large row sets by binary ``COPY`` (each column
in its type's binary form, :data:`TYPES`: no text to parse on the server, documents parsed
once as ``jsonb``, tsvectors built by :mod:`.text`), and the ``COMMIT`` rides on the last
flush. Any read flushes first, so a transaction always sees its own writes
(a transaction Bundle's searches and GETs included).

Concurrency: in a write transaction, the first look at a resource takes a transaction-scoped
advisory lock on ``(tenant, type, id)`` *before* reading its current row (two pipelined
statements: under READ COMMITTED the read takes its snapshot after the lock is granted, so it
sees the last committed version). Every writer of a resource therefore runs one at a time, so
If-Match has exactly one winner, an update never overwrites a version it did not read, and
two creates of one id cannot both succeed. The locked row is then cached for the rest of the
transaction. :meth:`Tx.prefetch` locks and reads a whole batch (bulk loads) in two statements,
taking the locks in key order so that concurrent batches cannot deadlock each other.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import psycopg
from psycopg.adapt import Dumper
from psycopg.pq import Format

from helios_persistence.backends.sql.index_tables import COLUMNS, INDEX_TABLES, KEY
from helios_persistence.storage.operations import Current

from .locks import lock_key
from .logged import LoggedCursor
from .text import TsVector

__all__ = ["COPY_THRESHOLD", "TYPES", "Tx", "adapt"]

#: a table's buffered rows go by COPY from this many on (executemany below it)
COPY_THRESHOLD = 64

Key = tuple[str, str]

_COLUMNS = {
    **{table: KEY + cols for table, cols in COLUMNS.items()},
    "resource_text": ("tenant", "type", "id", "narrative", "content"),
    "param_text": ("tenant", "type", "id", "param", "text"),
    "history": ("tenant", "type", "id", "version", "last_updated", "method", "json"),
    "outbox": ("tenant", "type", "id", "version", "operation", "created_at"),
    "resources": ("tenant", "type", "id", "version", "last_updated", "deleted", "json"),
}
_T, _I4, _I8, _N = "text", "int4", "int8", "numeric"
_VALUE_TYPES = {
    "idx_string": (_T, _T),
    "idx_token": (_T,) * 5,
    "idx_date": (_I8, _I8),
    "idx_number": (_N,) * 3,
    "idx_quantity": (_N, _N, _N, _T, _T, _T, _N, _N, _N, _T),
    "idx_reference": (_T,) * 6,
    "idx_uri": (_T,),
}
#: the PostgreSQL type of every column of ``_COLUMNS``: binary COPY applies no casts, so these
#: must be the columns' own types (``tests/integration/postgres`` checks them against the
#: schema)
TYPES: dict[str, tuple[str, ...]] = {
    **{table: (_T, _T, _T, _T, _I4, *values) for table, values in _VALUE_TYPES.items()},
    "resource_text": (_T, _T, _T, "tsvector", "tsvector"),
    "param_text": (_T, _T, _T, _T, "tsvector"),
    "history": (_T, _T, _T, _I4, _I8, _T, "jsonb"),
    "outbox": (_T, _T, _T, _I4, _T, _I8),
    "resources": (_T, _T, _T, _I4, _I8, "int2", "jsonb"),
}
assert all(len(TYPES[t]) == len(cols) for t, cols in _COLUMNS.items())


def _insert(table: str) -> str:
    cols = _COLUMNS[table]
    values = ", ".join("%s::jsonb" if c == "json" else "%s" for c in cols)
    return f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({values})"


_INSERT = {table: _insert(table) for table in _COLUMNS}
_COPY = {
    table: f"COPY {table} ({', '.join(cols)}) FROM STDIN (FORMAT BINARY)"
    for table, cols in _COLUMNS.items()
}
_UPSERT = (
    "INSERT INTO resources (tenant, type, id, version, last_updated, deleted, json) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s::jsonb) "
    "ON CONFLICT (tenant, type, id) DO UPDATE SET version = excluded.version, "
    "last_updated = excluded.last_updated, deleted = excluded.deleted, json = excluded.json"
)
_DELETE_ROWS = {
    table: (
        f"DELETE FROM {table} WHERE tenant = %s "
        "AND (type, id) IN (SELECT * FROM unnest(%s::text[], %s::text[]))"
    )
    for table in (*INDEX_TABLES, "resource_text", "param_text")
}
_CURRENT = (
    "SELECT version, last_updated, deleted, json::text FROM resources "
    "WHERE tenant = %s AND type = %s AND id = %s"
)
_CURRENTS = (
    "SELECT type, id, version, last_updated, deleted, json::text FROM resources "
    "WHERE tenant = %s AND (type, id) IN (SELECT * FROM unnest(%s::text[], %s::text[]))"
)
_LOCK = "SELECT pg_advisory_xact_lock(%s)"
_LOCK_MANY = "SELECT pg_advisory_xact_lock(k) FROM unnest(%s::bigint[]) AS k ORDER BY k"


class _JsonText(Dumper):
    """Binary COPY of ``jsonb`` from the serialised document (a ``str``): ``jsonb_recv``'s
    input is a version byte (1) and the JSON text, which the server parses once."""

    format = Format.BINARY
    oid = 3802  # jsonb

    def dump(self, obj: str) -> bytes:
        return b"\x01" + obj.encode("utf-8")


class _TsVectorDumper(Dumper):
    """A :class:`~.text.TsVector` (already in ``tsvector``'s binary form), as a parameter or a
    binary COPY field."""

    format = Format.BINARY
    oid = 3614  # tsvector

    def dump(self, obj: Any) -> Any:
        return obj


def adapt(conn: psycopg.Connection) -> None:
    """Configure a connection of the store (the pool's ``configure``): serialised documents
    go to binary COPY as ``jsonb`` (this replaces, on the store's connections only, the
    dumper COPY uses for ``jsonb``, which expects Python objects), and
    :class:`~.text.TsVector` values go as they are, to COPY and as parameters."""
    conn.adapters.register_dumper(None, _JsonText)  # by oid only: COPY with set_types
    conn.adapters.register_dumper(TsVector, _TsVectorDumper)
    conn.cursor_factory = LoggedCursor  # statement text and timing at DEBUG


#: a read transaction's opening statements (``BEGIN`` and its settings), not sent yet
Opening = Sequence[tuple[str, Sequence[Any] | None]]
#: given the connection a read transaction's first statements failed on, a live one to run
#: them again on (it took the failed one back, also when it raises), or None when they must
#: not run again
Replace = Callable[[psycopg.Connection], psycopg.Connection | None]


class Tx:
    """An open transaction on ``conn`` for ``tenant`` (see the module docstring).

    A read transaction may start *deferred*: its ``opening`` statements go out with its first
    statement, in one pipeline (one round trip). Touching :attr:`conn` sends them first; the
    search path (:meth:`rows`) sends them with its statement and, in a transaction that ends
    with one search (``ends_with_search``), the ``COMMIT`` after the search's last statement
    too, so a search of one statement is one round trip. A read transaction's first round
    trip changed nothing, so when its connection turns out dead it runs again on another
    (``replace``); later statements are never retried (they must see the same snapshot).
    """

    def __init__(
        self,
        conn: psycopg.Connection,
        tenant: str,
        *,
        writable: bool,
        opening: Opening | None = None,
        replace: Replace | None = None,
        ends_with_search: bool = False,
    ) -> None:
        self._conn = conn
        self._given_back = False  # (after the connection failed: see :meth:`rows`)
        #: sent whenever the transaction is not open (also after a search's early COMMIT)
        self._opening = opening or ()
        self._replace = replace
        self.ends_with_search = ends_with_search and not writable
        #: whether ``BEGIN`` went out and no ``COMMIT`` after it
        self.open = opening is None
        self.tenant = tenant
        self.writable = writable
        #: rows this transaction has locked (or written): their current state
        self.known: dict[Key, Current | None] = {}
        #: statements to run before everything else at the next flush (e.g. registrations)
        self.before: list[tuple[str, Sequence[Any]]] = []
        self._upserts: dict[Key, tuple[Any, ...]] = {}
        #: locked keys with no ``resources`` row in the database (yet): plain inserts
        self._absent: set[Key] = set()
        self._history: list[tuple[Any, ...]] = []
        self._stale: dict[Key, None] = {}
        self._rows: dict[Key, dict[str, list[tuple[Any, ...]]]] = {}
        self._outbox: list[tuple[Any, ...]] = []
        #: rows written per table, and resources written per type (planner statistics)
        self.written: dict[str, int] = {}
        self.written_types: dict[str, int] = {}

    @property
    def conn(self) -> psycopg.Connection:
        """The transaction's connection, the transaction begun."""
        if not self.open:
            self.rows([])
        return self._conn

    @property
    def held(self) -> psycopg.Connection | None:
        """The connection held, whether or not the transaction has begun (None: given back
        to the pool after it failed)."""
        return None if self._given_back else self._conn

    def end(self) -> None:
        """``COMMIT`` (unless nothing was sent, or a search's last statement carried it)."""
        if self.writable:
            self.flush(commit=True)
        elif self.open:
            self._conn.execute("COMMIT")
            self.open = False

    # -- reads ----------------------------------------------------------------------------------
    def rows(
        self,
        statements: Sequence[tuple[str, Any]],
        *,
        last: bool = False,
        prepare: Callable[[psycopg.Cursor[Any]], None] | None = None,
    ) -> list[list[Any]]:
        """The rows of each of ``statements``, sent in one pipeline after buffered writes (and
        after a deferred ``BEGIN``; ``last``: the search's last statements, followed by the
        ``COMMIT`` in a transaction that ``ends_with_search``). ``prepare`` sets up each
        statement's cursor."""
        self.flush()
        opening = () if self.open else self._opening
        end = last and self.ends_with_search
        first = not self.open
        while True:
            conn = self._conn
            try:
                with conn.pipeline():
                    for statement, params in opening:
                        conn.execute(statement, params)
                    cursors = []
                    for statement, params in statements:
                        cur = conn.cursor()
                        if prepare is not None:
                            prepare(cur)
                        cursors.append(cur.execute(statement, params))
                    if end:
                        conn.execute("COMMIT")
                break
            except psycopg.Error:
                fresh = None
                if first and self._replace is not None:
                    try:
                        fresh = self._replace(conn)
                    except BaseException:
                        self._given_back = True
                        raise
                if fresh is None:
                    # (after an error in a pipeline, psycopg's prepared-statement cache may no
                    # longer match the server's: the connection is not reused)
                    conn.close()
                    raise
                self._conn = fresh
        self.open = not end
        found = [cur.fetchall() for cur in cursors]
        for cur in cursors:
            cur.close()
        return found

    def execute(self, query: Any, params: Any = None) -> psycopg.Cursor[Any]:
        """Run a statement after flushing buffered writes."""
        self.flush()
        return self.conn.execute(query, params)

    def current(self, resource_type: str, id: str) -> Current | None:
        """The ``resources`` row (locked first in a write transaction; then cached)."""
        key = (resource_type, id)
        if key in self.known:
            return self.known[key]
        params = (self.tenant, resource_type, id)
        if not self.writable:
            return _to_current(self.conn.execute(_CURRENT, params).fetchone())
        with self.conn.pipeline():
            self.conn.execute(_LOCK, [lock_key("resource", *params)])
            cur = self.conn.execute(_CURRENT, params)
        found = _to_current(cur.fetchone())
        self.known[key] = found
        if found is None:
            self._absent.add(key)
        return found

    def prefetch(self, keys: Iterable[Key]) -> None:
        """Lock and read many resources at once (in key order, so batches never deadlock)."""
        wanted = [k for k in dict.fromkeys(keys) if k not in self.known]
        if not wanted or not self.writable:
            return
        locks = sorted({lock_key("resource", self.tenant, t, i) for t, i in wanted})
        types, ids = [t for t, _ in wanted], [i for _, i in wanted]
        with self.conn.pipeline():
            self.conn.execute(_LOCK_MANY, [locks])
            cur = self.conn.execute(_CURRENTS, [self.tenant, types, ids])
        for key in wanted:
            self.known[key] = None
        for rtype, rid, version, last_updated, deleted, text in cur.fetchall():
            self.known[(rtype, rid)] = Current(int(version), int(last_updated), bool(deleted), text)
        self._absent.update(k for k in wanted if self.known[k] is None)

    def lock(self, key: int) -> None:
        """Take a transaction-scoped advisory lock (a write transaction only)."""
        if self.writable:
            self.conn.execute(_LOCK, [key])

    # -- buffered writes ------------------------------------------------------------------------
    def put_version(
        self,
        resource_type: str,
        id: str,
        version: int,
        last_updated: int,
        method: str,
        text: str | None,
    ) -> Key:
        key = (resource_type, id)
        deleted = int(text is None)
        self._upserts[key] = (self.tenant, resource_type, id, version, last_updated, deleted, text)
        self._history.append((self.tenant, resource_type, id, version, last_updated, method, text))
        self.known[key] = Current(version, last_updated, bool(deleted), text)
        return key

    def drop_index(self, key: Key) -> None:
        """Remove a resource's index, text and per-parameter text rows."""
        self._rows.pop(key, None)
        self._stale[key] = None

    def add_rows(self, key: Key, table: str, rows: Iterable[tuple[Any, ...]]) -> None:
        self._rows.setdefault(key, {}).setdefault(table, []).extend(rows)

    def add_outbox(self, row: tuple[Any, ...]) -> None:
        self._outbox.append(row)

    def pending(self) -> bool:
        return bool(
            self.before or self._upserts or self._history or self._stale or self._rows
            or self._outbox
        )  # fmt: skip

    # -- flushing -------------------------------------------------------------------------------
    def flush(self, *, commit: bool = False) -> None:
        """Send every buffered write (and ``COMMIT`` with the last of them)."""
        if not self.pending():
            if commit:
                self.conn.execute("COMMIT")
            return
        # rows of resources absent from the database are inserted (COPY when many); the
        # others are upserted
        inserts = [row for key, row in self._upserts.items() if key in self._absent]
        upserts = [row for key, row in self._upserts.items() if key not in self._absent]
        self._absent.difference_update(self._upserts)
        tables: dict[str, list[tuple[Any, ...]]] = {"resources": inserts, "history": self._history}
        for per_table in self._rows.values():
            for table, rows in per_table.items():
                tables.setdefault(table, []).extend(rows)
        tables["outbox"] = self._outbox
        copies = {t: rows for t, rows in tables.items() if len(rows) >= COPY_THRESHOLD}
        self._count(tables, upserts)
        conn = self.conn
        with conn.pipeline(), conn.cursor() as cur:
            for statement, params in self.before:
                cur.execute(statement, params)
            if upserts:
                cur.executemany(_UPSERT, upserts)
            if self._stale:
                types = [t for t, _ in self._stale]
                ids = [i for _, i in self._stale]
                for statement in _DELETE_ROWS.values():
                    cur.execute(statement, (self.tenant, types, ids))
            for table, rows in tables.items():
                if rows and table not in copies:
                    cur.executemany(_INSERT[table], rows)
            if commit and not copies:
                cur.execute("COMMIT")
        for table, rows in copies.items():
            with conn.cursor() as cur, cur.copy(_COPY[table]) as copy:
                copy.set_types(TYPES[table])
                write = copy.write_row
                for row in rows:
                    write(row)
        self.before, self._upserts, self._history = [], {}, []
        self._stale, self._rows, self._outbox = {}, {}, []
        if commit and copies:
            conn.execute("COMMIT")

    def _count(self, tables: dict[str, list[tuple[Any, ...]]], upserts: list[Any]) -> None:
        written, types = self.written, self.written_types
        for table, rows in tables.items():
            if rows:
                written[table] = written.get(table, 0) + len(rows)
        if upserts:
            written["resources"] = written.get("resources", 0) + len(upserts)
        for rtype, _ in self._upserts:
            types[rtype] = types.get(rtype, 0) + 1


def _to_current(row: Any) -> Current | None:
    if row is None:
        return None
    return Current(int(row[0]), int(row[1]), bool(row[2]), row[3])
