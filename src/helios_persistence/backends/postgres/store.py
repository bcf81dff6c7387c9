"""The PostgreSQL store: the production primary, with every storage feature of SQLite's.

Resources are ``jsonb``; search uses the same per-type index tables as SQLite (btree value
indexes, trigram GIN for ``:contains``, ``tsvector`` GIN for full text), compiled by
:mod:`helios_persistence.compilers.postgres`. Tenancy strategies (:mod:`.tenancy`):
``shared`` (tenant column + row-level security), ``schema`` (a schema per tenant) and
``database`` (a database per tenant).

Transactions: one per public call (a whole ``transaction`` Bundle in one); writes are
buffered and flushed in pipelines (:mod:`.tx`). Every writer of a resource holds an advisory
lock on it, conditional operations one on their criteria; deadlocks and serialization
failures (possible only between multi-resource transactions) are retried up to ``retries``
times with a randomised backoff before :class:`~helios_persistence.errors.TransientConflict`
reaches the caller. ``store.registry`` is the store's shared SearchParameter registry and
``store.registry_for(ctx)`` a tenant's: a tenant's active SearchParameter resources register
in its own overlay when their transaction commits, and its stored definitions register the
first time this store touches that tenant.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from helios_persistence import ir
from helios_persistence.errors import TransientConflict
from helios_persistence.registry import Registry, default_registry
from helios_persistence.results import SearchResult
from helios_persistence.storage.api import Resource, StoreAPI
from helios_persistence.storage.bundles import process_bundle
from helios_persistence.storage.exact_json import parse_resource
from helios_persistence.storage.operations import Session
from helios_persistence.storage.protocols import Capability
from helios_persistence.storage.types import MonotonicClock
from helios_persistence.storage.validation import DEFAULT_MAX_BYTES, resource_keys
from helios_persistence.tenancy import TenantContext, TenantId

from .connection import Database
from .operations import PostgresOperations
from .reindex_target import PostgresReindex
from .schema import migrate
from .statistics import Statistics
from .tenancy import STRATEGIES, Tenancy, make_tenancy

__all__ = ["PostgresStore"]

T = TypeVar("T")
_SCHEMA = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,40}")
_RLS_TABLES = (
    "resources", "history", "idx_string", "idx_token", "idx_date", "idx_number",
    "idx_quantity", "idx_reference", "idx_uri", "resource_text", "param_text", "outbox",
    "term_closure", "term_expansion", "term_expansion_state", "term_expansion_dep",
    "export_jobs",
)  # fmt: skip
_STORED_PARAMETERS = (
    "SELECT json::text FROM resources WHERE tenant = %s AND type = 'SearchParameter' "
    "AND deleted = 0 ORDER BY last_updated"
)


class PostgresStore(StoreAPI, PostgresOperations):
    """FHIR resource storage on PostgreSQL (see the module docstring)."""

    dialect = "postgres"

    def __init__(
        self,
        conninfo: str,
        *,
        tenancy: str = "shared",
        schema: str = "public",
        registry: Registry | None = None,
        base_url: str | None = None,
        pool_min: int = 1,
        pool_size: int = 10,
        pool_timeout: float = 30.0,
        statement_timeout_ms: int = 30_000,
        connect_timeout: int = 5,
        force_rls: bool = False,
        max_tenant_pools: int = 8,
        tenant_pool_size: int = 4,
        prepare_threshold: int = 2,
        retries: int = 5,
        max_resource_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        if tenancy not in STRATEGIES:
            raise ValueError(f"tenancy must be one of {', '.join(STRATEGIES)}, not {tenancy!r}")
        if not _SCHEMA.fullmatch(schema):
            raise ValueError(
                f"schema must be a plain identifier of at most 41 characters: {schema!r}"
            )
        try:
            params = conninfo_to_dict(conninfo)
            if "connect_timeout" not in params:
                conninfo = make_conninfo(conninfo, connect_timeout=connect_timeout)
        except psycopg.ProgrammingError as exc:
            raise ValueError(f"invalid PostgreSQL connection parameters: {exc}") from None
        self.conninfo = conninfo
        self.tenancy = tenancy
        self.schema = schema
        self._init_registries(registry if registry is not None else default_registry().copy())
        self.base_url = base_url
        self.statement_timeout_ms = statement_timeout_ms
        self.retries = max(1, retries)
        self.max_resource_bytes = max_resource_bytes
        self._clock = MonotonicClock()
        self._registered: set[str] = set()
        self._prepared: set[str] = set()
        self._closed = False
        caps = frozenset(Capability)
        self.capabilities = (
            caps - {Capability.MULTI_TENANT_SHARED}
            if tenancy == "database"
            else caps - {Capability.MULTI_TENANT_DATABASE}
        )
        main = Database(
            conninfo, min_size=pool_min, max_size=pool_size, timeout=pool_timeout,
            prepare_threshold=prepare_threshold,
        )  # fmt: skip
        conn = main.connect()  # fails fast, and clearly, when the server is unreachable
        try:
            migrate(conn, schema)
            if force_rls:
                self._force_rls(conn)
        finally:
            conn.close()
        main.open()
        self._tenancy: Tenancy = make_tenancy(
            tenancy, main, schema, max_pools=max_tenant_pools, pool_size=tenant_pool_size
        )
        self._statistics = Statistics(self._maintenance)

    def _force_rls(self, conn: Any) -> None:
        """Make the policies bind the tables' owner too (FORCE ROW LEVEL SECURITY)."""
        for table in (*_RLS_TABLES, "helios_tenants"):
            name = sql.Identifier(self.schema, table)
            conn.execute(sql.SQL("ALTER TABLE {} FORCE ROW LEVEL SECURITY").format(name))

    # -- tenants --------------------------------------------------------------------------------
    def tenants(self) -> list[TenantId]:
        """The tenants that have data (or, per schema/database, a schema/database)."""
        return self._tenancy.tenants()

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._tenancy.close()

    def __enter__(self) -> PostgresStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- sessions -------------------------------------------------------------------------------
    def _check(self, ctx: TenantContext) -> None:
        if not isinstance(ctx, TenantContext):
            raise TypeError("a TenantContext is required")
        if self._closed:
            raise RuntimeError("the store is closed")
        key = ctx.tenant_key
        if key not in self._prepared:  # this store's first use of the tenant
            with self._transaction(key, write=False) as tx:
                texts = [row[0] for row in tx.execute(_STORED_PARAMETERS, [key])]
            self._register_stored((key, text) for text in texts)
            self._prepared.add(key)

    @contextmanager
    def _transaction(
        self,
        tenant: str,
        *,
        write: bool,
        timeout_ms: int | None = None,
        ends_with_search: bool = False,
    ) -> Any:
        with self._tenancy.placement(tenant, create=write) as place:
            timeout = self.statement_timeout_ms if timeout_ms is None else timeout_ms
            with place.db.transaction(
                tenant,
                place.search_path,
                write=write,
                timeout_ms=timeout,
                ends_with_search=ends_with_search,
            ) as tx:
                yield tx

    @contextmanager
    def _maintenance(self, tenant: str) -> Iterator[tuple[psycopg.Connection, str]]:
        """An autocommit connection of ``tenant``'s database and the name of its schema."""
        with self._tenancy.placement(tenant) as place, place.db.connection() as conn:
            yield conn, place.search_path[1:-1].replace('""', '"')

    @contextmanager
    def write_session(self, ctx: TenantContext) -> Iterator[Session]:
        """One write transaction; registry changes apply after it commits, and the planner
        statistics of the tables it made stale are refreshed (:mod:`.statistics`)."""
        self._check(ctx)
        key = ctx.tenant_key
        with self._transaction(key, write=True) as tx:
            if key not in self._registered and self._tenancy.name == "shared":
                tx.before.append(
                    (self._tenancy.register_sql(), (key, None, time.time_ns() // 1000))
                )
            session = Session(tx, ctx)
            yield session
        self._registered.add(key)
        self._apply_pending(key, session.pending)
        self._statistics.written(key, tx.written, tx.written_types)

    @contextmanager
    def read_session(
        self, ctx: TenantContext, *, timeout_ms: int | None = None
    ) -> Iterator[Session]:
        """One read-only transaction (one snapshot); statements time out after
        ``timeout_ms`` (default: the store's ``statement_timeout_ms``; 0: never)."""
        self._check(ctx)
        with self._transaction(ctx.tenant_key, write=False, timeout_ms=timeout_ms) as tx:
            yield Session(tx, ctx)

    def _in_write(self, ctx: TenantContext, work: Callable[[Session], T]) -> T:
        return self._retrying(lambda: StoreAPI._in_write(self, ctx, work))

    def _retrying(self, run: Callable[[], T]) -> T:
        for attempt in range(self.retries):
            try:
                return run()
            except TransientConflict:
                if attempt == self.retries - 1:
                    raise
                time.sleep(random.uniform(0.001, 0.02 * 2**attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    def _start_bulk(self, s: Session, resources: list[dict[str, Any]]) -> None:
        """Lock and read every target of a bulk load in two statements."""
        s.conn.prefetch(resource_keys(resources))

    # -- public API additions -------------------------------------------------------------------
    def transaction(self, ctx: TenantContext, bundle: Resource) -> dict[str, Any]:
        """Process a ``transaction`` (atomic; retried on a transient conflict) or ``batch``
        Bundle (a dict, or JSON text or bytes); returns the response Bundle."""
        document: dict[str, Any] = parse_resource(bundle)
        if isinstance(document, dict) and document.get("type") == "transaction":
            return self._retrying(lambda: process_bundle(self, ctx, document))
        return process_bundle(self, ctx, document)

    def search(self, ctx: TenantContext, query: str | ir.Query, **kw: Any) -> SearchResult:
        """FHIR search in one read transaction; ``timeout_ms`` overrides the store's statement
        timeout for this search (:class:`~helios_persistence.errors.QueryTimeout`)."""
        timeout_ms = kw.pop("timeout_ms", None)

        def run() -> SearchResult:
            self._check(ctx)
            # the search's last statement ends the transaction (one round trip for a page)
            with self._transaction(
                ctx.tenant_key, write=False, timeout_ms=timeout_ms, ends_with_search=True
            ) as tx:
                return self.op_search(Session(tx, ctx), query, **kw)

        return self._expanding(ctx, run)

    def optimize(self, ctx: TenantContext) -> None:
        """Refresh planner statistics and the visibility map (``VACUUM (ANALYZE)``) of the
        tenant's tables: run after a bulk load so index-only scans apply."""
        with self._maintenance(ctx.tenant_key) as (conn, schema):
            for table in ("resources", "history", *_RLS_TABLES[2:]):
                conn.execute(sql.SQL("VACUUM (ANALYZE) {}").format(sql.Identifier(schema, table)))

    def _reindex_target(self, ctx: TenantContext, resource_type: str | None) -> PostgresReindex:
        return PostgresReindex(self, ctx, resource_type)
