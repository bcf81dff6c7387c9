"""Connections to one PostgreSQL database: a psycopg_pool pool and store transactions on it.

* Connections are in autocommit mode and the store issues ``BEGIN``/``COMMIT`` itself, so the
  ``BEGIN`` and the per-transaction settings go out in one pipeline (one round trip) and the
  ``COMMIT`` rides on the last write flush. A read transaction's ``BEGIN`` and settings go
  out with its first statement instead, and a search's read transaction ends with its last
  statement (:class:`~.tx.Tx`): a search answered by one statement (a page, with its
  non-iterating includes) is one pipeline — ``BEGIN``, settings, statement, ``COMMIT`` —
  and one round trip. The settings run before the statement in the same transaction, so
  the tenant, search path and statement timeout apply to it exactly as before.
* Every transaction sets, with ``set_config(..., is_local => true)``, the tenant
  (``helios.tenant``, which the row-level security policies compare with), the
  ``search_path`` (the shared schema, or the tenant's schema) and, for reads, the
  ``statement_timeout`` of a search.
* Write transactions run at READ COMMITTED (each statement sees the latest commits, after the
  advisory locks of :mod:`.tx` are granted); read transactions at REPEATABLE READ READ ONLY
  (count, page and includes of one search from one snapshot).
* psycopg prepares a statement on a connection the ``prepare_threshold``-th time it runs there:
  compiled searches have one text per query shape, so each shape is parsed and analysed once
  per connection. Plans, though, are made for each execution's values
  (``plan_cache_mode = force_custom_plan``): a generic plan cannot tell a rare code from a
  common one, and measured 40× slower than the custom plan on the benchmark's token search.
* A connection that the server dropped (restart, ``pg_terminate_backend``, network) fails at
  the transaction's first round trip; the pool discards it, checks its other idle
  connections (a server restart kills them all) and the transaction starts on a live one
  (for a read transaction, the first round trip runs again whole, statement included: it
  changed nothing). A
  connection on which any statement failed is closed rather than reused (after an error in a
  pipeline, psycopg's prepared-statement cache may no longer match the server's). Errors
  reach callers as :mod:`helios_persistence.errors` types: :class:`Unavailable` (server
  unreachable, pool exhausted), :class:`QueryTimeout` (statement timeout),
  :class:`TransientConflict` (deadlock or serialization failure; the store retries these).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from helios_persistence.errors import (
    Conflict,
    InvalidResource,
    QueryTimeout,
    TransientConflict,
    Unavailable,
)

from .tx import Tx, adapt

__all__ = ["Database", "map_error", "redact"]

_BEGIN_WRITE = "BEGIN ISOLATION LEVEL READ COMMITTED"
_BEGIN_READ = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
_SETTINGS = (
    "SELECT set_config('helios.tenant', %s, true), set_config('search_path', %s, true), "
    "set_config('statement_timeout', %s, true), "
    "set_config('plan_cache_mode', 'force_custom_plan', true)"
)


def redact(conninfo: str) -> str:
    """``conninfo`` without its password (for messages)."""
    try:
        params = psycopg.conninfo.conninfo_to_dict(conninfo)
    except psycopg.ProgrammingError:
        return "<invalid connection string>"
    params.pop("password", None)
    host = params.get("host", "localhost")
    port = params.get("port", 5432)
    return f"postgresql://{params.get('user', '')}@{host}:{port}/{params.get('dbname', '')}"


def map_error(exc: BaseException, where: str) -> BaseException:
    """The library error for a driver error (other exceptions unchanged)."""
    if isinstance(exc, psycopg.errors.QueryCanceled):
        return QueryTimeout(f"the statement was cancelled (statement timeout) on {where}")
    if isinstance(exc, psycopg.errors.DeadlockDetected | psycopg.errors.SerializationFailure):
        return TransientConflict(f"concurrent transactions conflicted on {where}: {exc}")
    if isinstance(exc, psycopg.errors.ProgramLimitExceeded | psycopg.errors.DataError):
        return InvalidResource(f"PostgreSQL cannot store a value: {exc}")
    if isinstance(exc, psycopg.errors.IntegrityError):
        return Conflict(f"the write conflicts with stored data: {exc}")
    if isinstance(exc, PoolTimeout):
        return Unavailable(f"no PostgreSQL connection available for {where}: {exc}")
    if isinstance(exc, psycopg.OperationalError):
        return Unavailable(f"PostgreSQL at {where} is unavailable: {exc}")
    return exc


def _broken(conn: psycopg.Connection) -> bool:
    return bool(conn.closed or conn.broken)


class Database:
    """The pool of one database and transactions on it (see the module docstring)."""

    def __init__(
        self,
        conninfo: str,
        *,
        min_size: int = 1,
        max_size: int = 10,
        timeout: float = 30.0,
        prepare_threshold: int = 2,
        name: str = "helios",
    ) -> None:
        self.conninfo = conninfo
        self.where = redact(conninfo)
        self._local = threading.local()
        self.pool = ConnectionPool(
            conninfo,
            min_size=min_size,
            max_size=max_size,
            timeout=timeout,
            kwargs={"autocommit": True, "prepare_threshold": prepare_threshold},
            configure=adapt,
            open=False,
            name=name,
            reconnect_timeout=max(timeout, 5.0),
        )

    def open(self) -> None:
        """Start the pool (its connections are made in the background)."""
        self.pool.open(wait=False)

    def connect(self) -> psycopg.Connection:
        """A direct connection (for migrations and maintenance), failing fast and clearly."""
        try:
            return psycopg.connect(self.conninfo, autocommit=True)
        except psycopg.Error as exc:
            raise Unavailable(f"cannot connect to PostgreSQL at {self.where}: {exc}") from None

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection]:
        """A pooled connection in autocommit mode (maintenance statements)."""
        try:
            with self.pool.connection() as conn:
                yield conn
        except (psycopg.Error, PoolTimeout) as exc:
            raise map_error(exc, self.where) from exc

    @contextmanager
    def transaction(
        self,
        tenant: str,
        search_path: str,
        *,
        write: bool,
        timeout_ms: int = 0,
        ends_with_search: bool = False,
    ) -> Iterator[Tx]:
        """A store transaction: committed (with the last flush) when the block succeeds,
        rolled back otherwise. A read transaction begins with its first statement
        (``ends_with_search``: one search, whose last statement carries the ``COMMIT``)."""
        if getattr(self._local, "active", False):
            raise RuntimeError("nested store transaction on the same thread")
        self._local.active = True
        try:
            if write:
                tx = Tx(self._begin(tenant, search_path), tenant, writable=True)
            else:
                settings = (tenant, search_path, str(timeout_ms))
                tx = Tx(
                    self.pool.getconn(),
                    tenant,
                    writable=False,
                    opening=((_BEGIN_READ, None), (_SETTINGS, settings)),
                    replace=self._replacement(),
                    ends_with_search=ends_with_search,
                )
            try:
                try:
                    yield tx
                    tx.end()
                except psycopg.Error:
                    # a statement failed (possibly inside a pipeline, which can leave psycopg's
                    # prepared-statement cache out of step with the server): never reuse it
                    if tx.held is not None:
                        tx.held.close()
                    raise
                except BaseException:
                    held = tx.held
                    if tx.open and held is not None and not _broken(held):
                        with suppress(psycopg.Error):
                            held.execute("ROLLBACK")
                    raise
            finally:
                if tx.held is not None:
                    self.pool.putconn(tx.held)
        except (psycopg.Error, PoolTimeout) as exc:
            raise map_error(exc, self.where) from exc
        finally:
            self._local.active = False

    def _begin(self, tenant: str, search_path: str) -> Any:
        """A pooled connection with a write transaction begun (a connection found dead is
        replaced: :meth:`_replacement`)."""
        replace = self._replacement()
        conn = self.pool.getconn()
        while True:
            try:
                with conn.pipeline():
                    conn.execute(_BEGIN_WRITE)
                    conn.execute(_SETTINGS, (tenant, search_path, "0"))
                return conn
            except psycopg.Error:
                fresh = replace(conn)
                if fresh is None:
                    if not _broken(conn):
                        with suppress(psycopg.Error):
                            conn.execute("ROLLBACK")
                    self.pool.putconn(conn)
                    raise
                conn = fresh

    def _replacement(self) -> Callable[[psycopg.Connection], psycopg.Connection | None]:
        """For one transaction: given the connection its first statements failed on, another
        pooled connection to run them on, or None (the error stands). Only a dead connection
        is replaced: it goes back to the pool (which discards it), the pool's other idle
        connections are checked (a server restart kills them all), and the next one is
        taken (a connection whose server process is still ending may pass the check: a
        transaction moves at most as many times as the pool has connections)."""
        moves = self.pool.max_size

        def replace(conn: psycopg.Connection) -> psycopg.Connection | None:
            nonlocal moves
            if moves == 0 or not _broken(conn):
                return None
            moves -= 1
            self.pool.putconn(conn)
            self.pool.check()  # drop the idle connections that died with it
            return self.pool.getconn()

        return replace

    def close(self) -> None:
        self.pool.close()
