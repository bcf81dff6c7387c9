"""The SQLite store: the embedded reference implementation of the storage protocols.

Tenancy strategies:

* ``shared`` (default): one database; every row carries the tenant key and every statement
  filters by it.
* ``database``: one SQLite file per tenant in a directory, named by
  :func:`~helios_persistence.tenancy.tenant_file_name` (the tenant column is still filled, as
  a second guard). With no directory, each tenant gets its own in-memory database.

Every public method runs in one transaction (writes: ``BEGIN IMMEDIATE``, one writer at a
time). ``store.registry`` is this store's copy of the SearchParameter registry: an ``active``
SearchParameter resource written to the store (any tenant) registers there once its
transaction commits, and unregisters when deleted or retired; standard R4 parameters are
never replaced or removed. Definitions already stored are registered when a database is opened
(for database-per-tenant: when that tenant's file is first opened). Resources written before a
parameter existed are not re-indexed.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import is_dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, parse_qsl

from helios_persistence.errors import InvalidResource, NotFound, PermissionDenied
from helios_persistence.indexing.reindex import Progress
from helios_persistence.registry import Registry, default_registry
from helios_persistence.registry.validate import validate as validate_search_parameter
from helios_persistence.storage.bundles import process_bundle
from helios_persistence.storage.protocols import Capability
from helios_persistence.storage.types import (
    MonotonicClock,
    StoredResource,
    WriteOutcome,
    history_bundle,
    parse_instant_micros,
    parse_period_micros,
)
from helios_persistence.storage.validation import DEFAULT_MAX_BYTES
from helios_persistence.tenancy import (
    Operation,
    TenantContext,
    TenantId,
    compartment_params,
    tenant_file_name,
    tenant_from_file_name,
)

from . import records, writer
from .connection import DEFAULT_BUSY_TIMEOUT_MS, ConnectionPool
from .operations import Session, SQLiteOperations
from .schema import migrate

__all__ = ["SQLiteStore"]


class SQLiteStore(SQLiteOperations):
    """FHIR resource storage on SQLite (see the module docstring)."""

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
        self.registry = registry if registry is not None else default_registry().copy()
        self.base_url = base_url
        self.busy_timeout_ms = busy_timeout_ms
        self.max_resource_bytes = max_resource_bytes
        self._clock = MonotonicClock()
        self._lock = threading.Lock()
        self._custom_urls: set[str] = set()
        self._pools: dict[str, ConnectionPool] = {}
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
                stored = [
                    row[0]
                    for row in conn.execute(
                        "SELECT json FROM resources WHERE type = 'SearchParameter' "
                        "AND deleted = 0 ORDER BY last_updated"
                    )
                ]
        except BaseException:
            pool.close()
            raise
        for text in stored:
            document = json.loads(text)
            if document.get("status") == "active":
                self._apply_pending([("register", document)])
        return pool

    def _pool(self, ctx: TenantContext) -> ConnectionPool:
        key = "" if self.tenancy == "shared" else ctx.tenant_key
        with self._lock:
            if self._closed:
                raise RuntimeError("the store is closed")
            pool = self._pools.get(key)
            if pool is None:
                path = None if self.path is None else self.path / tenant_file_name(ctx.tenant)
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
            session = Session(conn, ctx)
            yield session
            if session.buffer:
                session.buffer.flush(conn)
        self._apply_pending(session.pending)

    @contextmanager
    def read_session(self, ctx: TenantContext) -> Iterator[Session]:
        if not isinstance(ctx, TenantContext):
            raise TypeError("a TenantContext is required")
        with self._pool(ctx).read() as conn:
            yield Session(conn, ctx)

    def _apply_pending(self, pending: list[tuple[str, Any]]) -> None:
        standard = default_registry()
        with self._lock:
            for action, value in pending:
                if action == "register":
                    url = value.get("url")
                    if standard.by_url(url) is not None:
                        continue  # standard parameters are never replaced
                    try:
                        self.registry.from_search_parameter(value)
                    except InvalidResource:  # checked before writing; stored before checks
                        continue
                    self._custom_urls.add(url)
                elif value in self._custom_urls:
                    self.registry.unregister(value)
                    self._custom_urls.discard(value)

    def _check_search_parameter(self, document: dict[str, Any]) -> None:
        """An active SearchParameter must be usable (InvalidResource otherwise)."""
        if document.get("status") == "active":
            validate_search_parameter(document, self.registry)

    def _validate(self, resource: Any, *, require_id: bool = False) -> str:
        resource_type = super()._validate(resource, require_id=require_id)
        if resource_type == "SearchParameter":
            self._check_search_parameter(resource)
        return resource_type

    # -- public API: writes ---------------------------------------------------------------------
    def create(
        self, ctx: TenantContext, resource: dict[str, Any], *, if_none_exist: str | None = None
    ) -> StoredResource:
        """Create with a server-assigned id; with ``if_none_exist``, return the one match."""
        with self.write_session(ctx) as s:
            return self._stored(self.op_create(s, resource, if_none_exist=if_none_exist))

    def update(
        self, ctx: TenantContext, resource: dict[str, Any], *, if_match: str | None = None
    ) -> StoredResource:
        """Update (or create with the given id); ``if_match`` guards against lost updates."""
        with self.write_session(ctx) as s:
            return self._stored(self.op_update(s, resource, if_match=if_match))

    def bulk_update(self, ctx: TenantContext, resources: list[dict[str, Any]]) -> int:
        """Update (or create) many resources with ids in one transaction; all or nothing.

        The loader's fast path: one ``BEGIN IMMEDIATE`` and one commit for the whole list."""
        with self.write_session(ctx) as s:
            s.buffer = writer.IndexBuffer()
            for resource in resources:
                self.op_update(s, resource)
        return len(resources)

    def optimize(self, ctx: TenantContext) -> None:
        """Refresh query-planner statistics (run after a bulk load; also done on close)."""
        with self._pool(ctx).connection() as conn:
            ConnectionPool.optimize(conn)

    def reindex(
        self,
        ctx: TenantContext,
        resource_type: str | None = None,
        params: Collection[str] | None = None,
        **options: Any,
    ) -> Progress:
        """Rebuild index rows of stored resources (all, one type, or some parameters);
        resumable with ``after=progress.last_key``, cancellable with ``cancel=Event``."""
        from .reindex import reindex

        return reindex(self, ctx, resource_type, params, **options)

    def update_conditional(
        self, ctx: TenantContext, resource: dict[str, Any], criteria: str
    ) -> StoredResource:
        with self.write_session(ctx) as s:
            return self._stored(self.op_update_conditional(s, resource, criteria))

    def delete(self, ctx: TenantContext, resource_type: str, id: str) -> StoredResource | None:
        """Soft delete; returns the deletion version, or None if there was nothing to delete."""
        with self.write_session(ctx) as s:
            return self.op_delete(s, resource_type, id).stored

    def delete_conditional(
        self, ctx: TenantContext, resource_type: str, criteria: str
    ) -> StoredResource | None:
        with self.write_session(ctx) as s:
            return self.op_delete_conditional(s, resource_type, criteria).stored

    def patch(
        self,
        ctx: TenantContext,
        resource_type: str,
        id: str,
        patch: Any,
        *,
        if_match: str | None = None,
    ) -> StoredResource:
        """JSON Patch (a list) or FHIRPath Patch (a Parameters resource)."""
        with self.write_session(ctx) as s:
            return self._stored(self.op_patch(s, resource_type, id, patch, if_match=if_match))

    def patch_conditional(
        self, ctx: TenantContext, resource_type: str, criteria: str, patch: Any
    ) -> StoredResource:
        with self.write_session(ctx) as s:
            return self._stored(self.op_patch_conditional(s, resource_type, criteria, patch))

    def delete_history(self, ctx: TenantContext, resource_type: str, id: str) -> int:
        """``$delete-history``: drop every version but the current one; returns the count."""
        with self.write_session(ctx) as s:
            return self.op_delete_history(s, resource_type, id)

    def transaction(self, ctx: TenantContext, bundle: dict[str, Any]) -> dict[str, Any]:
        """Process a ``transaction`` or ``batch`` Bundle; returns the response Bundle."""
        return process_bundle(self, ctx, bundle)

    @staticmethod
    def _stored(outcome: WriteOutcome) -> StoredResource:
        assert outcome.stored is not None
        return outcome.stored

    # -- public API: reads ----------------------------------------------------------------------
    def read(self, ctx: TenantContext, resource_type: str, id: str) -> StoredResource:
        with self.read_session(ctx) as s:
            return self.op_read(s, resource_type, id)

    def vread(
        self, ctx: TenantContext, resource_type: str, id: str, version_id: str | int
    ) -> StoredResource:
        with self.read_session(ctx) as s:
            return self.op_vread(s, resource_type, id, version_id)

    def history(
        self,
        ctx: TenantContext,
        resource_type: str | None = None,
        id: str | None = None,
        *,
        since: str | datetime | None = None,
        at: str | datetime | None = None,
        count: int | None = None,
        offset: int = 0,
    ) -> dict[str, Any]:
        """Instance, type (``id`` None) or system (both None) history, newest first."""
        with self.read_session(ctx) as s:
            return self.op_history(
                s, resource_type, id, since=since, at=at, count=count, offset=offset
            )

    def op_history(
        self,
        s: Session,
        resource_type: str | None = None,
        id: str | None = None,
        *,
        since: str | datetime | None = None,
        at: str | datetime | None = None,
        count: int | None = None,
        offset: int = 0,
    ) -> dict[str, Any]:
        if id is not None and resource_type is None:
            raise ValueError("an instance history needs the resource type")
        s.ctx.check(Operation.HISTORY, resource_type)
        if count is not None and (not isinstance(count, int) or count < 0):
            raise ValueError(f"count must be a non-negative integer, not {count!r}")
        try:
            since_micros = parse_instant_micros(since) if since is not None else None
            at_range = parse_period_micros(at) if at is not None else None
        except ValueError as exc:
            raise InvalidResource(str(exc)) from None
        types = s.ctx.permissions.resource_types if resource_type is None else None
        restricted = s.ctx.permissions.compartment is not None
        if id is not None:
            assert resource_type is not None
            current = records.get_current(s.conn, s.tenant, resource_type, id)
            if current is None:
                raise NotFound(f"{resource_type}/{id} is not known")
            body = json.loads(current.json) if current.json else None
            if restricted and not self._visible(s, resource_type, id, current.version, body):
                raise PermissionDenied(f"{resource_type}/{id} is not in the compartment")
        kw: dict[str, Any] = {"since": since_micros, "at": at_range, "types": types}
        entries = records.history_entries(
            s.conn,
            s.tenant,
            resource_type,
            id,
            **kw,
            count=None if restricted else count,
            offset=0 if restricted else offset,
        )
        if restricted:
            entries = [
                e
                for e in entries
                if self._visible(
                    s,
                    e.stored.resource_type,
                    e.stored.id,
                    int(e.stored.version_id),
                    e.stored.resource,
                )
            ]
            total = len(entries)
            entries = entries[offset : None if count is None else offset + count]
        else:
            total = records.count_history(s.conn, s.tenant, resource_type, id, **kw)
        return history_bundle(entries, total=total, base_url=self.base_url)

    # -- search ---------------------------------------------------------------------------------
    def search(self, ctx: TenantContext, query: str, **kw: Any) -> Any:
        """FHIR search (``Type?params``, or a result's ``next``) in one read transaction.

        Keyword arguments go to ``execute_search`` (e.g. ``limits``). Permissions: the search
        permission for the type (system searches: for every ``_type``); included resources of
        other forbidden types are dropped; a compartment restriction adds the compartment's
        reference parameter to the query (or, for types with several, filters the page).
        """
        with self.read_session(ctx) as s:
            return self.op_search(s, query, **kw)

    def op_match(self, s: Session, resource_type: str, criteria: str) -> list[str]:
        return self._match(s.conn, s.ctx, resource_type, criteria)

    def op_search(self, s: Session, query: str, **kw: Any) -> Any:
        from helios_persistence.backends.sqlite.search import execute_search

        _, query = self._authorize_search(s.ctx, query)
        if self.base_url is not None:
            kw.setdefault("base_url", self.base_url)
        result = execute_search(s.conn, s.tenant, query, self.registry, **kw)
        return self._filter_result(s, result)

    def _authorize_search(self, ctx: TenantContext, query: str) -> tuple[str | None, str]:
        path, _, params = query.partition("?")
        resource_type = path.strip("/").split("/")[0] or None
        ctx.check(Operation.SEARCH, resource_type)
        perms = ctx.permissions
        if resource_type is None and (perms.resource_types is not None or perms.compartment):
            types = [t for v in parse_qs(params).get("_type", []) for t in v.split(",") if t]
            if not types or perms.compartment:
                raise PermissionDenied("this context may only search named resource types")
            for t in types:
                ctx.check(Operation.SEARCH, t)
        if perms.compartment is not None and resource_type is not None:
            kind, owner = perms.compartment
            links = compartment_params(kind, resource_type)
            extra: tuple[str, str] | None = None
            if resource_type == kind:
                extra = ("_id", owner)
            elif not links:
                raise PermissionDenied(f"{resource_type} is not in the {kind} compartment")
            elif len(links) == 1:
                extra = (links[0], f"{kind}/{owner}")
            # (a `next` link already carries the restriction: do not add it twice)
            if extra is not None and extra not in parse_qsl(params, keep_blank_values=True):
                query = f"{path}?{params}&" if params else f"{path}?"
                query += f"{extra[0]}={extra[1]}"
        return resource_type, query

    def _filter_result(self, s: Session, result: Any) -> Any:
        """Drop what the context may not see from a search result (included resources of
        forbidden types; anything outside a compartment)."""
        perms = s.ctx.permissions
        if perms.resource_types is None and perms.compartment is None:
            return result

        def visible(resource: Any) -> bool:
            body = resource if isinstance(resource, dict) else getattr(resource, "resource", None)
            if body is None:
                return True
            rtype, rid = str(body.get("resourceType")), str(body.get("id"))
            if not perms.allows(Operation.SEARCH, rtype):
                return False
            if perms.compartment is None:
                return True
            index = self._extract(body)
            return self._in_compartment(s.ctx, rtype, rid, index)

        changes = {}
        for name in ("resources", "included"):
            items = getattr(result, name, None)
            if items is not None:
                kept = [r for r in items if visible(r)]
                if len(kept) != len(items):
                    changes[name] = type(items)(kept) if isinstance(items, tuple | list) else kept
        if not changes:
            return result
        if is_dataclass(result) and not isinstance(result, type):
            return replace(result, **changes)
        for name, value in changes.items():
            setattr(result, name, value)
        return result
