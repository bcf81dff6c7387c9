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

**Checkpoints** of a file database's WAL run on a background thread with its own connection
(:class:`_Checkpointer`), not inside the ``COMMIT`` that crossed the threshold as SQLite does
by default: copying the WAL into the database file is most of a large commit's cost, and on
its own thread (apsw releases the GIL while SQLite works) it overlaps the next transaction's
Python work. The WAL hook of every connection wakes the thread once the WAL holds
:data:`CHECKPOINT_PAGES` pages, and checkpoints in the committing thread as SQLite would if
the WAL ever reaches :data:`CHECKPOINT_SAFETY_PAGES` (a checkpointer that cannot keep up).

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

from helios_persistence.logs import trace_sqlite

__all__ = ["CHECKPOINT_PAGES", "CHECKPOINT_SAFETY_PAGES", "DEFAULT_BUSY_TIMEOUT_MS",
           "ConnectionPool"]  # fmt: skip

DEFAULT_BUSY_TIMEOUT_MS = 30_000
#: WAL pages that wake the background checkpointer (SQLite's own default threshold)
CHECKPOINT_PAGES = 1000
#: WAL pages at which a committing connection checkpoints itself
CHECKPOINT_SAFETY_PAGES = 50_000
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
        self._checkpointer = None if self.memory else _Checkpointer(self.target)
        self._keeper = self._open()
        self._idle.append(self._keeper)

    # -- connections ------------------------------------------------------------------------
    def _open(self) -> apsw.Connection:
        conn = apsw.Connection(self.target, flags=_FLAGS)
        trace_sqlite(conn)
        conn.set_busy_timeout(self.busy_timeout_ms)
        if not self.memory:
            conn.execute("PRAGMA journal_mode=WAL").fetchall()
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.set_wal_hook(self._on_wal_commit)
        conn.execute("PRAGMA temp_store=MEMORY")
        conn.execute("PRAGMA foreign_keys=OFF")
        if self._on_connect is not None:
            self._on_connect(conn)
        return conn

    def _on_wal_commit(self, conn: apsw.Connection, name: str, pages: int) -> int:
        if pages >= CHECKPOINT_SAFETY_PAGES:
            # best effort, like SQLite's own: busy while the thread checkpoints (the next
            # commit tries again); an error here would fail a commit that has happened
            with suppress(apsw.BusyError, apsw.LockedError):
                conn.wal_checkpoint(name)
        elif pages >= CHECKPOINT_PAGES and self._checkpointer is not None:
            self._checkpointer.wake()
        return apsw.SQLITE_OK

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
        if self._checkpointer is not None:
            self._checkpointer.stop()
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


class _Checkpointer:
    """A thread that runs passive WAL checkpoints of one database when woken."""

    def __init__(self, target: str) -> None:
        self.target = target
        self._wake = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def wake(self) -> None:
        with self._lock:
            if self._stopping:
                return
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name=f"helios-checkpoint {self.target}", daemon=True
                )
                self._thread.start()
        self._wake.set()

    def _run(self) -> None:
        conn = apsw.Connection(self.target, flags=_FLAGS)
        trace_sqlite(conn)
        conn.set_busy_timeout(DEFAULT_BUSY_TIMEOUT_MS)
        try:
            while True:
                self._wake.wait()
                self._wake.clear()
                if self._stopping:
                    return
                # an error only skips this checkpoint: the next commit wakes the thread again,
                # and the committing connection checkpoints itself past the safety limit
                with suppress(apsw.Error):
                    # a connection learns that the database is in WAL mode when it reads it;
                    # before that, a checkpoint is a no-op
                    conn.execute("SELECT count(*) FROM sqlite_master").fetchall()
                    conn.wal_checkpoint(mode=apsw.SQLITE_CHECKPOINT_PASSIVE)
        finally:
            conn.close()

    def stop(self) -> None:
        with self._lock:
            self._stopping = True
            thread = self._thread
        self._wake.set()
        if thread is not None:
            thread.join()
