"""Connections to one PostgreSQL database: a psycopg_pool pool and store transactions on it.

* Connections are in autocommit mode and the store issues ``BEGIN``/``COMMIT`` itself, so the
  ``BEGIN`` and the per-transaction settings go out in one pipeline (one round trip) and the
  ``COMMIT`` rides on the last write flush.
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
  ``BEGIN``; the pool discards it, checks its other idle connections (a server restart
  kills them all) and the transaction starts on a live one. A
  connection on which any statement failed is closed rather than reused (after an error in a
  pipeline, psycopg's prepared-statement cache may no longer match the server's). Errors
  reach callers as :mod:`helios_persistence.errors` types: :class:`Unavailable` (server
  unreachable, pool exhausted), :class:`QueryTimeout` (statement timeout),
  :class:`TransientConflict` (deadlock or serialization failure; the store retries these).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
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
    ) -> Iterator[Tx]:
        """A store transaction: committed (with the last flush) when the block succeeds,
        rolled back otherwise."""
        if getattr(self._local, "active", False):
            raise RuntimeError("nested store transaction on the same thread")
        self._local.active = True
        try:
            conn = self._begin(tenant, search_path, write, timeout_ms)
            try:
                tx = Tx(conn, tenant, writable=write)
                try:
                    yield tx
                    if write:
                        tx.flush(commit=True)
                    else:
                        conn.execute("COMMIT")
                except psycopg.Error:
                    # a statement failed (possibly inside a pipeline, which can leave psycopg's
                    # prepared-statement cache out of step with the server): never reuse it
                    conn.close()
                    raise
                except BaseException:
                    if not _broken(conn):
                        with suppress(psycopg.Error):
                            conn.execute("ROLLBACK")
                    raise
            finally:
                self.pool.putconn(conn)
        except (psycopg.Error, PoolTimeout) as exc:
            raise map_error(exc, self.where) from exc
        finally:
            self._local.active = False

    def _begin(self, tenant: str, search_path: str, write: bool, timeout_ms: int) -> Any:
        """A pooled connection with the transaction begun. A connection found dead is
        discarded (the pool replaces it), the other idle ones are checked, and the next one
        is tried."""
        settings = (tenant, search_path, str(0 if write else timeout_ms))
        checked = False
        while True:
            conn = self.pool.getconn()
            try:
                with conn.pipeline():
                    conn.execute(_BEGIN_WRITE if write else _BEGIN_READ)
                    conn.execute(_SETTINGS, settings)
                return conn
            except psycopg.OperationalError:
                broken = _broken(conn)
                if not broken:
                    with suppress(psycopg.Error):
                        conn.execute("ROLLBACK")
                self.pool.putconn(conn)  # a broken connection is discarded and replaced
                if not broken or checked:
                    raise
                self.pool.check()  # drop the idle connections that died with it
                checked = True

    def close(self) -> None:
        self.pool.close()
