"""apsw connections for one SQLite database: a pool, one writer at a time, parallel readers.

* **File databases** run in WAL mode (``synchronous=NORMAL``): readers never block the writer
  and see the last committed state; writers are serialised by an in-process lock and
  ``BEGIN IMMEDIATE`` (which also serialises writers of other processes, with the busy
  timeout as their queue).
* **In-memory databases** (``sqlite://``) use SQLite's ``memdb`` VFS under a unique name
  (``file:/helios-<uuid>?vfs=memdb``), so every pooled connection, from any thread, sees the
  same database. memdb has no WAL: a reader waits (busy timeout) while a write transaction
  commits, and the writer waits for running reads to end — correct, only less parallel. One
  connection is kept open for the pool's lifetime, because memdb frees the database when its
  last connection closes.

Every borrowed connection is used by one thread at a time. :meth:`ConnectionPool.read` runs a
deferred transaction (one consistent snapshot for every statement in it);
:meth:`ConnectionPool.write` an immediate one, committed on success and rolled back on any
exception.
"""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import apsw

__all__ = ["DEFAULT_BUSY_TIMEOUT_MS", "ConnectionPool"]

DEFAULT_BUSY_TIMEOUT_MS = 30_000
_FLAGS = apsw.SQLITE_OPEN_READWRITE | apsw.SQLITE_OPEN_CREATE | apsw.SQLITE_OPEN_URI


class ConnectionPool:
    """Connections to one database (a file path, or None for a private in-memory one)."""

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
        max_idle: int = 8,
        on_connect: Callable[[apsw.Connection], None] | None = None,
    ) -> None:
        self.memory = path is None
        if path is None:
            self.target = f"file:/helios-{uuid.uuid4().hex}?vfs=memdb"
        else:
            self.target = str(Path(path))
        self.busy_timeout_ms = busy_timeout_ms
        self.max_idle = max_idle
        self._on_connect = on_connect
        self._idle: list[apsw.Connection] = []
        self._lock = threading.Lock()
        self._writer = threading.Lock()
        self._local = threading.local()
        self._closed = False
        # The keeper holds memdb databases alive; for files it is simply the first idle one.
        self._keeper = self._open()
        self._idle.append(self._keeper)

    # -- connections ------------------------------------------------------------------------
    def _open(self) -> apsw.Connection:
        conn = apsw.Connection(self.target, flags=_FLAGS)
        conn.set_busy_timeout(self.busy_timeout_ms)
        if not self.memory:
            conn.execute("PRAGMA journal_mode=WAL").fetchall()
            conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA temp_store=MEMORY")
        conn.execute("PRAGMA foreign_keys=OFF")
        if self._on_connect is not None:
            self._on_connect(conn)
        return conn

    def _acquire(self) -> apsw.Connection:
        with self._lock:
            if self._closed:
                raise RuntimeError("the store is closed")
            if self._idle:
                return self._idle.pop()
        return self._open()

    def _release(self, conn: apsw.Connection) -> None:
        if conn.in_transaction:  # never hand out a connection in a dangling transaction
            with suppress(apsw.Error):
                conn.execute("ROLLBACK")
        with self._lock:
            if not self._closed and len(self._idle) < self.max_idle:
                self._idle.append(conn)
                return
        if conn is not self._keeper:
            conn.close()

    @contextmanager
    def connection(self) -> Iterator[apsw.Connection]:
        """A connection in autocommit mode (for maintenance statements)."""
        conn = self._acquire()
        try:
            yield conn
        finally:
            self._release(conn)

    # -- transactions -----------------------------------------------------------------------
    def _guard(self) -> None:
        if getattr(self._local, "active", False):
            raise RuntimeError("nested store transaction on the same thread")

    @contextmanager
    def read(self) -> Iterator[apsw.Connection]:
        """A read transaction (one snapshot)."""
        self._guard()
        conn = self._acquire()
        self._local.active = True
        try:
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                if conn.in_transaction:
                    conn.execute("COMMIT")
        finally:
            self._local.active = False
            self._release(conn)

    @contextmanager
    def write(self) -> Iterator[apsw.Connection]:
        """A write transaction: committed if the block succeeds, rolled back otherwise."""
        self._guard()
        with self._writer:
            conn = self._acquire()
            self._local.active = True
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield conn
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
            finally:
                self._local.active = False
                self._release(conn)

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            if conn is not self._keeper:
                conn.close()
        if not self.memory:
            self.optimize(self._keeper)
        self._keeper.close()

    @staticmethod
    def optimize(conn: apsw.Connection) -> None:
        """Refresh the planner's statistics where they are missing or stale (SQLite's
        recommended ``PRAGMA optimize``; 0x10002 also covers never-analysed tables)."""
        with contextlib.suppress(apsw.Error):  # best effort: statistics only help the planner
            conn.execute("PRAGMA optimize=0x10002")
