"""Where a tenant's data lives: the three PostgreSQL tenancy strategies.

* ``shared`` — every tenant in one schema (the store's ``schema``, default ``public``); each
  row carries its tenant, each statement filters by it, and row-level security policies
  (``dialects/postgres/migrations/003_row_level_security.sql``) compare it with the
  transaction's ``helios.tenant`` setting, so a statement that forgets the filter still sees
  only its tenant.
* ``schema`` — one schema per tenant, named by :func:`tenant_name`, created and migrated on
  the tenant's first use (by any process: migrations take an advisory lock); a transaction
  points ``search_path`` at it.
* ``database`` — one database per tenant, created on first use (``CREATE DATABASE``) and
  migrated; one bounded pool per tenant database, at most ``max_pools`` open at once (the
  least recently used idle pool is closed to make room).

Every strategy records its tenants in ``helios_tenants`` of the store's own schema (tenant →
schema or database), which :meth:`Tenancy.tenants` lists.
"""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from hashlib import blake2b
from typing import NamedTuple

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from helios_persistence.tenancy import TenantId

from .connection import Database
from .schema import migrate, sql_path

__all__ = ["STRATEGIES", "Placement", "Tenancy", "make_tenancy", "tenant_name"]

STRATEGIES = ("shared", "schema", "database")
_MAX_IDENTIFIER = 63


class Placement(NamedTuple):
    """The database and ``search_path`` of one tenant's transactions."""

    db: Database
    search_path: str


def tenant_name(prefix: str, tenant: str) -> str:
    """A schema or database name for ``tenant``: ``<prefix>_t_<readable part>_<hash>``, at
    most 63 characters, lowercase letters, digits and ``_`` only, distinct per tenant (the
    hash covers the exact tenant id, so ``Acme`` and ``acme`` differ)."""
    digest = blake2b(tenant.encode("utf-8"), digest_size=6).hexdigest()
    slug = re.sub(r"[^a-z0-9]+", "_", tenant.lower()).strip("_")[:16]
    head = re.sub(r"[^a-z0-9_]+", "_", prefix.lower())[: _MAX_IDENTIFIER - len(digest) - 21]
    return f"{head}_t_{slug}_{digest}" if slug else f"{head}_t_{digest}"


class Tenancy:
    """The shared strategy; the other strategies override :meth:`_place`."""

    name = "shared"

    def __init__(self, main: Database, schema: str) -> None:
        self.main = main
        self.schema = schema
        self.lock = threading.Lock()
        self._ready: set[str] = set()

    @contextmanager
    def placement(self, tenant: str, *, create: bool = True) -> Iterator[Placement]:
        """Where ``tenant``'s transactions run (provisioned on first use). With ``create``
        False (reads), a tenant with no schema or database yet reads the store's own,
        empty, schema instead: reads never create tenants."""
        yield self._place(tenant) if create or self._exists(tenant) else self._nowhere()

    def _place(self, tenant: str) -> Placement:
        return Placement(self.main, sql_path(self.schema))

    def _exists(self, tenant: str) -> bool:
        return True

    def _nowhere(self) -> Placement:
        """The store's own schema: no tenant's resources live there (other strategies)."""
        return Placement(self.main, sql_path(self.schema))

    def register_sql(self) -> str:
        """The statement recording a tenant (``tenant, location, created_at``) in the store's
        schema, whatever the transaction's ``search_path``."""
        table = sql.Identifier(self.schema, "helios_tenants").as_string(None)
        return (
            f"INSERT INTO {table} (tenant, location, created_at) VALUES (%s, %s, %s) "
            "ON CONFLICT (tenant) DO NOTHING"
        )

    def _register(self, tenant: str, location: str | None) -> None:
        with self.main.connection() as conn, conn.transaction():
            # row-level security (008_tenants_rls.sql): a tenant records only itself
            conn.execute("SELECT set_config('helios.tenant', %s, true)", [tenant])
            conn.execute(self.register_sql(), (tenant, location, time.time_ns() // 1000))

    def tenants(self) -> list[TenantId]:
        table = sql.Identifier(self.schema, "helios_tenants")
        with self.main.connection() as conn, conn.transaction():
            # row-level security shows one tenant's row unless a transaction asks for all
            conn.execute("SELECT set_config('helios.list_tenants', 'on', true)")
            query = sql.SQL("SELECT tenant FROM {} ORDER BY tenant").format(table)
            return [TenantId(row[0]) for row in conn.execute(query)]

    def close(self) -> None:
        self.main.close()


class SchemaTenancy(Tenancy):
    """One schema per tenant, created and migrated on first use."""

    name = "schema"

    def _place(self, tenant: str) -> Placement:
        name = tenant_name(self.schema if self.schema != "public" else "helios", tenant)
        if tenant not in self._ready:
            with self.main.connection() as conn:
                migrate(conn, name)
            self._register(tenant, name)
            self._ready.add(tenant)
        return Placement(self.main, sql_path(name))

    def _exists(self, tenant: str) -> bool:
        if tenant in self._ready:
            return True
        name = tenant_name(self.schema if self.schema != "public" else "helios", tenant)
        with self.main.connection() as conn:
            found = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [name])
            return found.fetchone() is not None


class DatabaseTenancy(Tenancy):
    """One database per tenant, created on first use, with a bounded pool each."""

    name = "database"

    def __init__(
        self, main: Database, schema: str, *, max_pools: int = 8, pool_size: int = 4
    ) -> None:
        super().__init__(main, schema)
        self.max_pools = max_pools
        self.pool_size = pool_size
        self._pools: OrderedDict[str, Database] = OrderedDict()
        self._leases: dict[str, int] = {}
        self._creating = threading.Lock()
        base = conninfo_to_dict(main.conninfo).get("dbname") or "helios"
        self.prefix = str(base)

    def database_name(self, tenant: str) -> str:
        return tenant_name(self.prefix, tenant)

    @contextmanager
    def placement(self, tenant: str, *, create: bool = True) -> Iterator[Placement]:
        if not create and not self._exists(tenant):
            yield self._nowhere()
            return
        db = self._lease(tenant)
        try:
            yield Placement(db, sql_path(self.schema))
        finally:
            with self.lock:
                self._leases[tenant] -= 1

    def _lease(self, tenant: str) -> Database:
        with self.lock:
            db = self._pools.get(tenant)
            if db is not None:
                self._pools.move_to_end(tenant)
                self._leases[tenant] = self._leases.get(tenant, 0) + 1
                return db
        with self._creating:  # one tenant database created at a time
            with self.lock:
                db = self._pools.get(tenant)
            if db is None:
                db = self._open(tenant)
            with self.lock:
                self._pools[tenant] = db
                self._pools.move_to_end(tenant)
                self._leases[tenant] = self._leases.get(tenant, 0) + 1
                self._evict()
        return db

    def _open(self, tenant: str) -> Database:
        name = self.database_name(tenant)
        if tenant not in self._ready:
            self._create_database(name)
            self._register(tenant, name)
        conninfo = make_conninfo(self.main.conninfo, dbname=name)
        db = Database(conninfo, min_size=1, max_size=self.pool_size, name=f"helios-{name}")
        if tenant not in self._ready:
            conn = db.connect()
            try:
                migrate(conn, self.schema)
            finally:
                conn.close()
            self._ready.add(tenant)
        db.open()
        return db

    def _exists(self, tenant: str) -> bool:
        with self.lock:
            if tenant in self._pools or tenant in self._ready:
                return True
        with self.main.connection() as conn:
            found = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [self.database_name(tenant)]
            )
            return found.fetchone() is not None

    def _create_database(self, name: str) -> None:
        with self.main.connection() as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if exists.fetchone():
                return
            for attempt in range(10):
                try:
                    conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
                    return
                except psycopg.errors.DuplicateDatabase:
                    return  # another process made it first
                except psycopg.errors.ObjectInUse:  # template1 busy: another CREATE DATABASE
                    time.sleep(0.05 * (attempt + 1))
            raise RuntimeError(f"could not create the tenant database {name}")

    def _evict(self) -> None:
        """Close least recently used idle pools beyond ``max_pools`` (caller holds the lock)."""
        for tenant in list(self._pools):
            if len(self._pools) <= self.max_pools:
                return
            if self._leases.get(tenant, 0) == 0:
                self._pools.pop(tenant).close()
                self._leases.pop(tenant, None)

    def open_pools(self) -> int:
        with self.lock:
            return len(self._pools)

    def close(self) -> None:
        with self.lock:
            pools, self._pools = list(self._pools.values()), OrderedDict()
        for db in pools:
            db.close()
        super().close()


def make_tenancy(
    strategy: str, main: Database, schema: str, *, max_pools: int = 8, pool_size: int = 4
) -> Tenancy:
    if strategy == "shared":
        return Tenancy(main, schema)
    if strategy == "schema":
        return SchemaTenancy(main, schema)
    if strategy == "database":
        return DatabaseTenancy(main, schema, max_pools=max_pools, pool_size=pool_size)
    raise ValueError(f"tenancy must be one of {', '.join(STRATEGIES)}, not {strategy!r}")
