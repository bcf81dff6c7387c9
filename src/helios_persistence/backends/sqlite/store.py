"""The SQLite store: the embedded reference implementation of the storage protocols.

Tenancy strategies:

* ``shared`` (default): one database; every row carries the tenant key and every statement
  filters by it.
* ``database``: one SQLite file per tenant in a directory, named by
  :func:`~helios_persistence.tenancy.tenant_file_name` (the tenant column is still filled, as
  a second guard). With no directory, each tenant gets its own in-memory database.

Every public method runs in one transaction (writes: ``BEGIN IMMEDIATE``, one writer at a
time). ``store.registry`` is the store's shared SearchParameter registry (R4);
``store.registry_for(ctx)`` is a tenant's: an ``active`` SearchParameter resource a tenant
writes registers in that tenant's overlay once its transaction commits, and unregisters when
deleted or retired; standard R4 parameters are never replaced, shadowed or removed.
Definitions already stored are registered (each in its tenant's overlay) when a database is
opened (for database-per-tenant: when that tenant's file is first opened). Resources written
before a parameter existed are not re-indexed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from helios_persistence.registry import Registry, default_registry
from helios_persistence.storage.api import StoreAPI
from helios_persistence.storage.protocols import Capability
from helios_persistence.storage.types import MonotonicClock
from helios_persistence.storage.validation import DEFAULT_MAX_BYTES, resource_keys
from helios_persistence.tenancy import (
    TenantContext,
    TenantId,
    tenant_file_name,
    tenant_from_file_name,
)

from .bulk import BulkWriter
from .connection import DEFAULT_BUSY_TIMEOUT_MS, ConnectionPool
from .operations import Session, SQLiteOperations
from .reindex_target import SQLiteReindex
from .schema import defer_indexes, migrate, restore_indexes
from .tx import Tx

__all__ = ["SQLiteStore"]


class SQLiteStore(StoreAPI, SQLiteOperations):
    """FHIR resource storage on SQLite (see the module docstring)."""

    dialect = "sqlite"
    capabilities = frozenset(Capability) - {Capability.MULTI_TENANT_DATABASE}

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        tenancy: str = "shared",
        registry: Registry | None = None,
        base_url: str | None = None,
        busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
        max_resource_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        if tenancy not in ("shared", "database"):
            raise ValueError(f"tenancy must be 'shared' or 'database', not {tenancy!r}")
        self.tenancy = tenancy
        self.path = Path(path) if path is not None else None
        self._init_registries(registry if registry is not None else default_registry().copy())
        self.base_url = base_url
        self.busy_timeout_ms = busy_timeout_ms
        self.max_resource_bytes = max_resource_bytes
        self._clock = MonotonicClock()
        self._pools: dict[str, ConnectionPool] = {}
        self._empty: ConnectionPool | None = None  # what never-seen tenants read
        self._loads: dict[int, int] = {}  # bulk loads running, per pool
        self._closed = False
        if tenancy == "database":
            self.capabilities = (self.capabilities - {Capability.MULTI_TENANT_SHARED}) | {
                Capability.MULTI_TENANT_DATABASE
            }
            if self.path is not None:
                self.path.mkdir(parents=True, exist_ok=True)
        else:
            self._pools[""] = self._open_pool(self.path)

    # -- databases ------------------------------------------------------------------------------
    def _open_pool(self, path: Path | None) -> ConnectionPool:
        pool = ConnectionPool(path, busy_timeout_ms=self.busy_timeout_ms)
        try:
            with pool.connection() as conn:
                migrate(conn)
                if conn.execute("SELECT 1 FROM deferred_indexes LIMIT 1").fetchall():
                    with pool.write() as tx:  # a bulk load that did not finish (a crash)
                        restore_indexes(tx)
                stored = [
                    (str(row[0]), str(row[1]))
                    for row in conn.execute(
                        "SELECT tenant, json FROM resources WHERE type = 'SearchParameter' "
                        "AND deleted = 0 ORDER BY last_updated"
                    )
                ]
        except BaseException:
            pool.close()
            raise
        self._register_stored(stored)
        return pool

    def _pool(self, ctx: TenantContext, *, create: bool = True) -> ConnectionPool:
        """The tenant's database; with ``create`` False, a tenant that has none yet (database
        per tenant) reads an empty database instead, so reads never create tenants."""
        key = "" if self.tenancy == "shared" else ctx.tenant_key
        with self._lock:
            if self._closed:
                raise RuntimeError("the store is closed")
            pool = self._pools.get(key)
            if pool is None:
                path = None if self.path is None else self.path / tenant_file_name(ctx.tenant)
                if not create and (path is None or not path.exists()):
                    if self._empty is None:
                        self._empty = self._open_pool(None)
                    return self._empty
                pool = self._pools[key] = self._open_pool(path)
            return pool

    def tenants(self) -> list[TenantId]:
        """The tenants that have data (database per tenant: that have a database file)."""
        if self.tenancy == "database":
            if self.path is None:
                return sorted(TenantId(k) for k in self._pools)
            found = (tenant_from_file_name(p.name) for p in self.path.iterdir())
            return sorted(t for t in found if t is not None)
        with self._pool(TenantContext.for_tenant("any")).read() as conn:
            return [
                TenantId(r[0])
                for r in conn.execute("SELECT DISTINCT tenant FROM resources ORDER BY tenant")
            ]

    def close(self) -> None:
        with self._lock:
            self._closed = True
            pools, self._pools = list(self._pools.values()), {}
            if self._empty is not None:
                pools.append(self._empty)
                self._empty = None
        for pool in pools:
            pool.close()

    def __enter__(self) -> SQLiteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- sessions -------------------------------------------------------------------------------
    @contextmanager
    def write_session(self, ctx: TenantContext) -> Iterator[Session]:
        """One write transaction; registry changes apply after it commits."""
        if not isinstance(ctx, TenantContext):
            raise TypeError("a TenantContext is required")
        with self._pool(ctx).write() as conn:
            session = Session(Tx(conn, ctx.tenant_key), ctx)
            yield session
            session.conn.flush()
        self._apply_pending(ctx.tenant_key, session.pending)

    @contextmanager
    def read_session(self, ctx: TenantContext) -> Iterator[Session]:
        if not isinstance(ctx, TenantContext):
            raise TypeError("a TenantContext is required")
        with self._pool(ctx, create=False).read() as conn:
            yield Session(Tx(conn, ctx.tenant_key), ctx)

    # -- maintenance ----------------------------------------------------------------------------
    def _start_bulk(self, s: Session, resources: list[dict[str, Any]]) -> None:
        s.conn = BulkWriter(s.conn.conn, s.tenant, resource_keys(resources))

    @contextmanager
    def _bulk_loading(self, ctx: TenantContext) -> Iterator[None]:
        """Drop the index tables' indexes for a bulk load and build them once at the end
        (the first of concurrent loads drops them, the last builds them)."""
        pool = self._pool(ctx)
        with self._lock:
            first = self._loads.get(id(pool), 0) == 0
            self._loads[id(pool)] = self._loads.get(id(pool), 0) + 1
        try:
            if first:
                with pool.write() as conn:
                    defer_indexes(conn)
            yield
        finally:
            with self._lock:
                self._loads[id(pool)] -= 1
                last = self._loads[id(pool)] == 0
            if last:
                with pool.write() as conn:
                    restore_indexes(conn)
                self.optimize(ctx)

    def optimize(self, ctx: TenantContext) -> None:
        """Refresh query-planner statistics (run after a bulk load; also done on close)."""
        with self._pool(ctx).connection() as conn:
            ConnectionPool.optimize(conn)

    def _reindex_target(self, ctx: TenantContext, resource_type: str | None) -> SQLiteReindex:
        return SQLiteReindex(self, ctx, resource_type)
