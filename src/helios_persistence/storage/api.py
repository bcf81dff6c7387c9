"""The public store API over the ``op_*`` primitives, shared by every relational backend.

:class:`StoreAPI` turns each primitive of :class:`~helios_persistence.storage.operations.
Operations` into a public method running in one transaction (``write_session`` /
``read_session``, which the backend provides), adds history and search with their permission
rules, and keeps the store's SearchParameter registry in step with committed writes: an
``active`` SearchParameter resource registers once its transaction commits, and unregisters
when deleted or retired; standard R4 parameters are never replaced or removed.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import replace
from datetime import datetime
from typing import Any, TypeVar

from helios_persistence import ir
from helios_persistence.backends.sql.reindex_loop import ReindexTarget, run_reindex
from helios_persistence.errors import InvalidResource, InvalidSearch, NotFound, PermissionDenied
from helios_persistence.indexing.reindex_plan import Progress
from helios_persistence.parsing import Limits
from helios_persistence.registry import Registry
from helios_persistence.registry.validate import validate as validate_search_parameter
from helios_persistence.results import SearchResult
from helios_persistence.storage.bundles import process_bundle
from helios_persistence.storage.exact_json import parse_resource
from helios_persistence.storage.operations import Operations, Session, search_parameter_actions
from helios_persistence.storage.sync import Change
from helios_persistence.storage.types import (
    Create,
    HistoryEntry,
    StoredResource,
    WriteOutcome,
    history_bundle,
    parse_instant_micros,
    parse_period_micros,
)
from helios_persistence.storage.validation import brief
from helios_persistence.tenancy import Operation, TenantContext
from helios_persistence.terminology.store_api import TerminologyAPI

__all__ = ["Resource", "StoreAPI"]

T = TypeVar("T")
#: a resource as the write methods take it: a dict, or its JSON text or bytes
Resource = dict[str, Any] | str | bytes


def _returned(stored: StoredResource, *, given_text: bool) -> StoredResource:
    """What a write returns: a text caller gets ``resource`` as a read would give it (what
    ``json.loads`` makes of the stored text) and the exact digits in ``json``; a dict caller
    gets its own document back, as before."""
    if not given_text or stored.json is None:
        return stored
    return replace(stored, resource=json.loads(stored.json))


def _id_of(resource: Any) -> str:
    """The id a :class:`Create` carries (validation rejects anything else)."""
    id = resource.get("id") if isinstance(resource, dict) else None
    if not isinstance(id, str) or not id:
        raise InvalidResource("a bulk create needs the resource's id")
    return id


class TenantRegistries:
    """Per-tenant SearchParameter registries: a store's shared base registry plus, for each
    tenant that stored custom SearchParameters, an overlay with them (the SQL stores, and the
    secondaries that receive those resources from a primary's outbox)."""

    registry: Registry
    _lock: threading.Lock
    #: tenant key → that tenant's registry (see :meth:`registry_for`)
    _overlays: dict[str, Registry]
    #: a secondary's (tenant key, SearchParameter id) → (newest version applied, its url)
    _search_parameters: dict[tuple[str, str], tuple[int, str | None]]

    def _init_registries(self, registry: Registry) -> None:
        """The shared base ``registry`` and no tenant's overlay yet (each store's constructor)."""
        self.registry = registry
        self._lock = threading.Lock()
        self._overlays = {}
        self._search_parameters = {}

    def registry_for(self, ctx: TenantContext) -> Registry:
        """The SearchParameter registry of ``ctx``'s tenant: the store's shared base
        (``store.registry``: R4 and whatever the store was opened with) plus the custom
        parameters that tenant stored, which no other tenant sees."""
        return self._overlays.get(ctx.tenant_key, self.registry)

    def _apply_pending(self, tenant: str, pending: list[tuple[str, Any]]) -> None:
        """Apply a committed transaction's SearchParameter changes to ``tenant``'s overlay
        (created on its first custom parameter). A url of the base is never registered nor
        unregistered, and a definition whose code a base parameter of one of its types
        already has is skipped, so no tenant shadows or removes a standard parameter."""
        base = self.registry
        with self._lock:
            overlay = self._overlays.get(tenant)
            for action, value in pending:
                if action == "register":
                    if base.by_url(value.get("url")) is not None or _shadows(base, value):
                        continue
                    if overlay is None:
                        overlay = base.copy()
                    try:
                        overlay.from_search_parameter(value)
                    except InvalidResource:  # checked before writing; stored before checks
                        continue
                elif overlay is not None and base.by_url(value) is None:
                    overlay.unregister(value)
            if overlay is not None:
                self._overlays[tenant] = overlay

    def _apply_search_parameter(self, change: Change) -> None:
        """A secondary's SearchParameter version from a primary's outbox, applied to its
        tenant's registry (an older version than one already applied changes nothing)."""
        key = (change.tenant, change.id)
        seen = self._search_parameters.get(key)
        if seen is not None and change.version <= seen[0]:
            return
        old_url = seen[1] if seen else None
        resource = change.resource if change.operation != "delete" else None
        if resource is None:
            actions: list[tuple[str, Any]] = [("unregister", old_url)] if old_url else []
            url = None
        else:
            actions = search_parameter_actions(resource, old_url)
            url = resource.get("url")
        self._search_parameters[key] = (change.version, url)
        self._apply_pending(change.tenant, actions)

    def _register_secondary(self, found: Iterable[tuple[str, str, int, dict[str, Any]]]) -> None:
        """A secondary's live SearchParameters as it stores them (``(tenant key, id, version,
        resource)``, oldest first): their versions recorded, their tenants' overlays made."""
        rows: list[tuple[str, str | dict[str, Any]]] = []
        for tenant, sp_id, version, resource in found:
            self._search_parameters[(tenant, sp_id)] = (version, resource.get("url"))
            rows.append((tenant, resource))
        self._register_stored(rows)

    def _register_stored(self, rows: Iterable[tuple[str, str | dict[str, Any]]]) -> None:
        """Register stored SearchParameter definitions (``(tenant, JSON text)``, oldest
        first) in their tenants' overlays."""
        for tenant, text in rows:
            document = json.loads(text) if isinstance(text, str) else text
            if document.get("status") == "active":
                self._apply_pending(tenant, [("register", document)])


class StoreAPI(TenantRegistries, TerminologyAPI, Operations):
    """Public methods; the backend provides ``write_session``/``read_session`` and binds
    :class:`Operations`."""

    def write_session(self, ctx: TenantContext) -> AbstractContextManager[Session]:
        raise NotImplementedError  # pragma: no cover

    def read_session(self, ctx: TenantContext) -> AbstractContextManager[Session]:
        raise NotImplementedError  # pragma: no cover

    def _start_bulk(self, s: Session, resources: list[dict[str, Any]]) -> None:
        """Prepare a session for many writes (buffers, prefetching); see :meth:`bulk_update`."""

    def _in_write(self, ctx: TenantContext, work: Callable[[Session], T]) -> T:
        """Run ``work`` in one write transaction (backends with concurrent writers retry it
        when the database reports a transient conflict)."""
        with self.write_session(ctx) as s:
            return work(s)

    # -- the registry (TenantRegistries) and its checks ------------------------------------
    def _check_search_parameter(self, document: dict[str, Any]) -> None:
        """An active SearchParameter must be usable and must not shadow a standard
        parameter (InvalidResource otherwise)."""
        if document.get("status") == "active":
            validate_search_parameter(document, self.registry)
            standard = self.registry.by_url(str(document.get("url")))
            if standard is None and _shadows(self.registry, document):
                raise InvalidResource(
                    f"SearchParameter {document.get('code')!r} would shadow the standard "
                    f"parameter of that code of {', '.join(document.get('base') or [])}",
                    expression="SearchParameter.code",
                )

    def _validate(self, resource: Any, *, require_id: bool = False) -> str:
        resource_type = super()._validate(resource, require_id=require_id)
        if resource_type == "SearchParameter":
            self._check_search_parameter(resource)
        return resource_type

    # -- public API: writes ---------------------------------------------------------------------
    def create(
        self, ctx: TenantContext, resource: Resource, *, if_none_exist: str | None = None
    ) -> StoredResource:
        """Create with a server-assigned id; with ``if_none_exist``, return the one match.

        ``resource`` is a dict, or JSON text or bytes (decimals kept as written: see
        :mod:`~helios_persistence.storage.exact_json`)."""
        document = parse_resource(resource)
        outcome = self._in_write(
            ctx, lambda s: self.op_create(s, document, if_none_exist=if_none_exist)
        )
        return _returned(self._stored(outcome), given_text=document is not resource)

    def update(
        self, ctx: TenantContext, resource: Resource, *, if_match: str | None = None
    ) -> StoredResource:
        """Update (or create with the given id); ``if_match`` guards against lost updates.
        ``resource`` as for :meth:`create`."""
        document = parse_resource(resource)
        outcome = self._in_write(ctx, lambda s: self.op_update(s, document, if_match=if_match))
        return _returned(self._stored(outcome), given_text=document is not resource)

    def _reindex_target(self, ctx: TenantContext, resource_type: str | None) -> ReindexTarget:
        raise NotImplementedError  # pragma: no cover - every backend provides one

    def reindex(
        self,
        ctx: TenantContext,
        resource_type: str | None = None,
        params: Collection[str] | None = None,
        **options: Any,
    ) -> Progress:
        """Rebuild index rows of stored resources (all, one type, or some parameters) with
        the current registry; resumable with ``after=progress.last_key``, cancellable with
        ``cancel=Event``, ``on_progress`` and ``batch`` as in :func:`run_reindex`. Needs the
        update permission."""
        ctx.check(Operation.UPDATE, resource_type)
        if ctx.permissions.compartment is not None:  # its counts would describe the tenant
            raise PermissionDenied("reindex is not permitted to a compartment-restricted context")
        allowed = ctx.permissions.resource_types
        if resource_type is not None or allowed is None:
            target = self._reindex_target(ctx, resource_type)
            return run_reindex(target, self.registry_for(ctx), params, **options)
        return self._reindex_types(ctx, sorted(allowed), params, **options)

    def _reindex_types(
        self, ctx: TenantContext, types: list[str], params: Any, **options: Any
    ) -> Progress:
        """Reindex each permitted type in key order (``after`` resumes across them)."""
        after = options.pop("after", None)
        done = failed = 0
        progress = Progress(last_key=after, finished=True)
        for name in types:
            if after is not None and name < after[0]:
                continue
            start = after if after is not None and after[0] == name else None
            target = self._reindex_target(ctx, name)
            registry = self.registry_for(ctx)
            progress = run_reindex(target, registry, params, after=start, **options)
            done, failed = done + progress.done, failed + progress.failed
            if progress.cancelled:
                break
        return replace(progress, done=done, failed=failed)

    def bulk_update(self, ctx: TenantContext, resources: list[dict[str, Any] | Create]) -> int:
        """Update (or create) many resources with ids in one transaction; all or nothing.

        The loader's fast path: one transaction and one commit for the whole list. A
        :class:`Create` is written as a create (history ``POST``), as a transaction's POST
        entry is."""

        def load(s: Session) -> int:
            self._start_bulk(s, [r.resource if isinstance(r, Create) else r for r in resources])
            for resource in resources:
                if isinstance(resource, Create):
                    document = resource.resource
                    self.op_create(s, document, assigned_id=_id_of(document))
                else:
                    self.op_update(s, resource)
            return len(resources)

        return self._in_write(ctx, load)

    def bulk_load(
        self,
        ctx: TenantContext,
        resources: Iterable[dict[str, Any] | Create | list[dict[str, Any] | Create]],
        *,
        batch: int = 1000,
        on_progress: Callable[[int], None] | None = None,
    ) -> int:
        """Update (or create) a stream of resources with ids, ``batch`` per transaction.

        For initial imports: each batch is one :meth:`bulk_update` (all or nothing), and a
        failure stops the load after the batches already committed. Backends that can defer
        index maintenance do so for the duration (SQLite drops the value indexes and builds
        them once at the end, several times cheaper than keeping them up to date row by
        row); searches meanwhile return the same results, only more slowly. ``on_progress``
        gets the number of resources written so far after every batch. Returns that number.
        An item may be a list of resources: a group (a transaction Bundle's entries) that is
        never split across transactions, so it is written whole or not at all.
        """
        if batch < 1:
            raise ValueError("batch must be at least 1")
        written = 0
        with self._bulk_loading(ctx):
            chunk: list[dict[str, Any] | Create] = []
            for item in resources:
                group = item if isinstance(item, list) else [item]
                if chunk and len(chunk) + len(group) > batch:
                    written += self.bulk_update(ctx, chunk)
                    chunk = []
                    if on_progress is not None:
                        on_progress(written)
                chunk.extend(group)
            if chunk:
                written += self.bulk_update(ctx, chunk)
                if on_progress is not None:
                    on_progress(written)
        return written

    def _bulk_loading(self, ctx: TenantContext) -> AbstractContextManager[None]:
        """The backend's preparation for a :meth:`bulk_load` (none by default)."""
        return nullcontext()

    def update_conditional(
        self, ctx: TenantContext, resource: Resource, criteria: str
    ) -> StoredResource:
        document = parse_resource(resource)
        outcome = self._in_write(ctx, lambda s: self.op_update_conditional(s, document, criteria))
        return _returned(self._stored(outcome), given_text=document is not resource)

    def delete(self, ctx: TenantContext, resource_type: str, id: str) -> StoredResource | None:
        """Soft delete; returns the deletion version, or None if there was nothing to delete."""
        return self._in_write(ctx, lambda s: self.op_delete(s, resource_type, id)).stored

    def delete_conditional(
        self, ctx: TenantContext, resource_type: str, criteria: str
    ) -> StoredResource | None:
        return self._in_write(
            ctx, lambda s: self.op_delete_conditional(s, resource_type, criteria)
        ).stored

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
        return self._stored(
            self._in_write(
                ctx, lambda s: self.op_patch(s, resource_type, id, patch, if_match=if_match)
            )
        )

    def patch_conditional(
        self, ctx: TenantContext, resource_type: str, criteria: str, patch: Any
    ) -> StoredResource:
        return self._stored(
            self._in_write(
                ctx, lambda s: self.op_patch_conditional(s, resource_type, criteria, patch)
            )
        )

    def delete_history(self, ctx: TenantContext, resource_type: str, id: str) -> int:
        """``$delete-history``: drop every version but the current one; returns the count."""
        return self._in_write(ctx, lambda s: self.op_delete_history(s, resource_type, id))

    def transaction(self, ctx: TenantContext, bundle: Resource) -> dict[str, Any]:
        """Process a ``transaction`` or ``batch`` Bundle (a dict, or JSON text or bytes whose
        decimals are kept as written); returns the response Bundle."""
        document = parse_resource(bundle)
        if not isinstance(document, dict):
            raise InvalidResource("a Bundle must be a JSON object")
        return process_bundle(self, ctx, document)

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

    def history_entries(
        self,
        ctx: TenantContext,
        resource_type: str | None = None,
        id: str | None = None,
        *,
        since: str | datetime | None = None,
        at: str | datetime | None = None,
        count: int | None = None,
        offset: int = 0,
    ) -> tuple[list[HistoryEntry], int]:
        """:meth:`history` as its entries and total: each entry's ``stored.json`` is the
        version's stored text, FHIR decimals as written (``1.50``)."""
        with self.read_session(ctx) as s:
            return self.op_history_entries(
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
        entries, total = self.op_history_entries(
            s, resource_type, id, since=since, at=at, count=count, offset=offset
        )
        return history_bundle(entries, total=total, base_url=self.base_url)

    def op_history_entries(
        self,
        s: Session,
        resource_type: str | None = None,
        id: str | None = None,
        *,
        since: str | datetime | None = None,
        at: str | datetime | None = None,
        count: int | None = None,
        offset: int = 0,
    ) -> tuple[list[HistoryEntry], int]:
        if id is not None and resource_type is None:
            raise InvalidResource("an instance history needs the resource type")
        s.ctx.check(Operation.HISTORY, resource_type)
        offset = 0 if offset is None else offset
        for name, value in (("count", count), ("offset", offset)):
            if value is not None and (
                not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**62
            ):
                raise InvalidResource(f"{name} must be a non-negative integer, not {brief(value)}")
        try:
            since_micros = parse_instant_micros(since) if since is not None else None
            at_range = parse_period_micros(at) if at is not None else None
        except ValueError as exc:
            raise InvalidResource(str(exc)) from None
        records = self._records
        types = s.ctx.permissions.resource_types if resource_type is None else None
        restricted = s.ctx.permissions.compartment is not None
        if id is not None:
            assert resource_type is not None
            current = self._current(s, resource_type, id)
            if current is None or self._hidden(s, resource_type, id, current):
                raise NotFound(f"{resource_type}/{id} is not known")
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
        return entries, total

    # -- the outbox (storage.sync.OutboxReader) ------------------------------------------------
    def read_outbox(self, ctx: TenantContext, after: int = 0, limit: int = 1000) -> list[Change]:
        """The tenant's committed changes after sequence number ``after``, oldest first, each
        with the version it announces (for secondaries; needs the read permission)."""
        ctx.check(Operation.READ, None)
        if isinstance(after, bool) or not isinstance(after, int) or after < 0:
            raise ValueError(f"after must be a non-negative integer, not {after!r}")
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValueError(f"limit must be a positive integer, not {limit!r}")
        with self.read_session(ctx) as s:
            rows = self._records.read_outbox(s.conn, s.tenant, after, limit)
        return [
            Change(int(seq), tenant, rtype, rid, int(version), operation, int(created),
                   json.loads(text) if text is not None and operation != "delete" else None)
            for seq, tenant, rtype, rid, version, operation, created, text in rows
        ]  # fmt: skip

    def trim_outbox(self, ctx: TenantContext, up_to: int) -> None:
        """Forget the tenant's changes up to ``up_to`` (every secondary has applied them)."""
        ctx.check(Operation.DELETE, None)
        self._in_write(ctx, lambda s: self._records.trim_outbox(s.conn, s.tenant, up_to))

    # -- bulk export ----------------------------------------------------------------------------
    def export(self, ctx: TenantContext, **kw: Any) -> Any:
        """Start a Bulk Data ``$export`` job (``analytics.jobs.start_export``)."""
        from helios_persistence.analytics.jobs import start_export

        return start_export(self, ctx, **kw)

    def export_jobs(self, ctx: TenantContext) -> list[Any]:
        """The tenant's export jobs (``ExportJob``), oldest first."""
        from helios_persistence.analytics.jobs import export_jobs

        return export_jobs(self, ctx)

    # -- search ---------------------------------------------------------------------------------
    def search(self, ctx: TenantContext, query: str | ir.Query, **kw: Any) -> SearchResult:
        """FHIR search (``Type?params``, a result's ``next`` or absolute ``next_url``, or a bound
        query) in one read transaction. ``limits`` bounds the query's size.

        Permissions are part of the query (:func:`helios_persistence.pipeline.restrict`): the
        search permission for the type (system searches: for every ``_type``), and a
        compartment restriction as a predicate, so pages and ``_total`` count only what the
        context may see. Included resources of forbidden types or outside the compartment are
        left out of ``included``.
        """

        def run() -> SearchResult:
            with self.read_session(ctx) as s:
                result: SearchResult = self.op_search(s, query, **kw)
                return result

        return self._expanding(ctx, run)

    def search_pages(self, ctx: TenantContext, query: str, **kw: Any) -> Iterator[SearchResult]:
        """Every page of a search, following ``next`` (each page in its own read transaction;
        keyset paging keeps pages consistent while writes go on)."""
        page = self.search(ctx, query, **kw)
        yield page
        while page.next is not None:
            page = self.search(ctx, page.next, **kw)
            yield page

    def iter_search(self, ctx: TenantContext, query: str, **kw: Any) -> Iterator[dict[str, Any]]:
        """Every match of a search across its pages (not the included resources)."""
        for page in self.search_pages(ctx, query, **kw):
            yield from page.resources

    def _relative(self, query: str) -> str:
        """``query`` relative to the store's base: an absolute URL must start with it."""
        if "://" not in query.partition("?")[0]:
            return query
        base = (self.base_url or "").rstrip("/")
        if base and query.startswith(base + "/"):
            return query[len(base) + 1 :]
        raise InvalidSearch(
            f"{query.partition('?')[0]} is not under this store's base URL "
            f"({base or 'none set: open the store with base_url'})"
        )

    def _expanding(self, ctx: TenantContext, run: Callable[[], T]) -> T:
        """Run a read-only search; when it needs ValueSet expansions not cached yet, cache
        them in one write transaction and run it again."""
        from helios_persistence.terminology.tables import ExpansionNeeded

        for _ in range(3):  # (a concurrent write may drop the expansion again meanwhile)
            try:
                return run()
            except ExpansionNeeded as need:
                self.cache_expansions(ctx, need.references)
        return run()

    def op_match(self, s: Session, resource_type: str, criteria: str) -> list[str]:
        return self._match(s, resource_type, criteria)

    def op_search(
        self,
        s: Session,
        query: str | ir.Query,
        *,
        limits: Limits | None = None,
        as_asked: ir.Query | None = None,
    ) -> SearchResult:
        """``as_asked``: the query the page's links name (the composite layer runs a rewrite
        of what was asked: its ``next`` continues what was asked)."""
        if isinstance(query, str):
            query = self._relative(query)
        plan = self._plan(s, query, restrict=True, limits=limits)
        if as_asked is not None:
            plan = replace(plan, query=as_asked)
        result = self._execute_search(s, plan)
        result.query, result.base_url = _query_text(query, plan.query), self.base_url
        perms = s.ctx.permissions
        if result.included and (perms.resource_types is not None or perms.compartment):
            result.included = [r for r in result.included if self._may_include(s, r)]
            shown = {(r["resourceType"], r["id"]) for r in result.included}
            result.included_stored = [
                x for x in result.included_stored if (x.resource_type, x.id) in shown
            ]
        return result

    def _may_include(self, s: Session, resource: dict[str, Any]) -> bool:
        """Whether an included resource may be shown to the session's context."""
        rtype, rid = str(resource.get("resourceType")), str(resource.get("id"))
        if not s.ctx.permissions.allows(Operation.SEARCH, rtype):
            return False
        return self._in_compartment(s.ctx, rtype, rid, self._extract(resource, s.ctx))


def _query_text(query: str | ir.Query, bound: ir.Query) -> str | None:
    """The query string of a page (its Bundle's ``self`` link)."""
    if isinstance(query, str):
        return query
    from helios_persistence.parsing.render import Unrenderable, render

    try:
        return render(bound)
    except Unrenderable:
        return None


def _shadows(base: Registry, definition: dict[str, Any]) -> bool:
    """Whether ``definition`` names a code ``base`` already has for one of its types."""
    code = definition.get("code")
    return isinstance(code, str) and any(
        isinstance(t, str) and base.get(t, code) is not None for t in definition.get("base") or []
    )
