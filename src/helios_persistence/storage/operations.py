"""The transactional primitives of every relational store, written once for all backends.

Each ``op_*`` method checks the context's permissions, does its reads and writes on an open
:class:`Session` and never commits: the caller (a public store method, or the Bundle processor
for a whole transaction) owns the transaction. These are the primitives
:mod:`helios_persistence.storage.bundles` is written against.

A backend binds :class:`Operations` to its engine with class attributes (as Ibis pairs a
compiler with a driver): ``compiler`` (its dialect), ``_records`` (SQL over the ``resources``
and ``history`` tables), ``_writer`` (index, full-text and outbox rows), and
:meth:`Operations._execute_search`, which runs a :class:`~helios_persistence.pipeline.Plan`.
The records and writer are plain modules or objects whose functions take the session's
connection first; see ``backends/sqlite/records.py`` for the contract. Backends with
concurrent writers override :meth:`Operations._lock_criteria` so that conditional operations
serialise.
"""

from __future__ import annotations

import functools
import json
import re
import uuid
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

from helios_persistence import ir, pipeline
from helios_persistence.compilers.base import BaseCompiler
from helios_persistence.errors import (
    Gone,
    InvalidResource,
    NotFound,
    PermissionDenied,
    PreconditionFailed,
    VersionConflict,
)
from helios_persistence.indexing.rows import ReferenceRow, ResourceIndex
from helios_persistence.parsing import Limits
from helios_persistence.pipeline import Plan
from helios_persistence.registry import Registry
from helios_persistence.results import SearchResult
from helios_persistence.storage import exact_json, validation
from helios_persistence.storage.patch import apply_patch
from helios_persistence.storage.types import (
    Interaction,
    MonotonicClock,
    StoredResource,
    WriteOutcome,
    format_instant,
    micros_to_datetime,
)
from helios_persistence.tenancy import Operation, TenantContext, compartment_params

__all__ = [
    "Current",
    "Operations",
    "Session",
    "normalize_etag",
    "search_parameter_actions",
    "to_stored",
]


@dataclass
class Session:
    """One open transaction of one tenant (``conn``: the backend's connection object)."""

    conn: Any
    ctx: TenantContext
    #: registry changes (``("register", definition)`` / ``("unregister", url)``) to apply
    #: once the transaction has committed
    pending: list[tuple[str, Any]] = field(default_factory=list)

    @property
    def tenant(self) -> str:
        return self.ctx.tenant_key


@dataclass(frozen=True, slots=True)
class Current:
    """The ``resources`` row of a resource (``json``: its text, None when deleted)."""

    version: int
    last_updated: int
    deleted: bool
    json: str | None


def to_stored(
    resource_type: str,
    id: str,
    version: int,
    last_updated: int,
    text: str | None,
    resource: dict[str, Any] | None = None,
) -> StoredResource:
    """A version as stored; ``resource``: ``text`` already decoded (else decoded here)."""
    if resource is None and text is not None:
        resource = json.loads(text)
    return StoredResource(
        resource_type=resource_type,
        id=id,
        version_id=str(version),
        last_updated=micros_to_datetime(last_updated),
        resource=resource,
        deleted=text is None,
        json=text,
    )


def normalize_etag(value: str | int) -> str:
    """``W/"3"``, ``"3"`` and ``3`` all name version ``3``."""
    text = str(value).strip()
    if text.startswith("W/"):
        text = text[2:]
    return text.strip('"')


def _with_meta(
    resource: dict[str, Any], id: str, version: int, last_updated: int
) -> dict[str, Any]:
    meta = dict(resource.get("meta") or {})
    meta["versionId"] = str(version)
    meta["lastUpdated"] = format_instant(last_updated)
    out: dict[str, Any] = {"resourceType": resource["resourceType"], "id": id, "meta": meta}
    for key, value in resource.items():
        if key not in out:
            out[key] = value
    return out


class Operations:
    """Mixin with the transactional primitives; the store provides the attributes below."""

    registry: Registry
    base_url: str | None
    _clock: MonotonicClock
    max_resource_bytes: int
    #: the backend's records and index writer (modules or objects, connection first; see
    #: :mod:`helios_persistence.storage.backend`)
    _records: ClassVar[Any]
    _writer: ClassVar[Any]
    #: the backend's terminology-table binding (``terminology.connections``), or None
    _terminology: ClassVar[Any] = None

    #: the backend's dialect compiler
    compiler: ClassVar[BaseCompiler]

    # -- backend hooks --------------------------------------------------------------------------
    def _execute_search(self, s: Session, plan: Plan) -> SearchResult:  # pragma: no cover
        """Run a planned search on the session's connection (the backend's
        ``execute_search``)."""
        raise NotImplementedError

    def _plan(
        self, s: Session, query: str | ir.Query, *, restrict: bool, limits: Limits | None = None
    ) -> Plan:
        """``query`` through the pipeline for this store (restricted to the session's context
        when ``restrict``)."""
        prepare = None
        if self._terminology is not None:  # :in/:not-in ValueSets → their cached expansions
            from helios_persistence.terminology.tables import prepare_query

            db = self._terminology(s.conn)
            prepare = functools.partial(prepare_query, db, s.tenant)
        return pipeline.plan(
            query,
            self.compiler,
            registry=self.registry_for(s.ctx),
            ctx=s.ctx if restrict else None,
            limits=limits,
            base_url=self.base_url,
            prepare=prepare,
        )

    def _lock_criteria(self, s: Session, resource_type: str, criteria: str) -> None:
        """Serialise conditional operations on the same criteria (no-op for one writer)."""

    def _check_document(self, text: str) -> None:
        """Backend-specific checks of a serialised document (InvalidResource)."""

    # -- helpers ------------------------------------------------------------------------------
    def registry_for(self, ctx: TenantContext) -> Registry:  # pragma: no cover
        """The registry of ``ctx``'s tenant (the store's, with that tenant's parameters)."""
        raise NotImplementedError

    def _extract(self, resource: dict[str, Any], ctx: TenantContext | None = None) -> ResourceIndex:
        """The resource's index rows (with ``ctx``'s tenant's parameters; the shared ones when
        None); absolute references to this store's base are local."""
        from helios_persistence.indexing import extract
        from helios_persistence.indexing.references import localize

        try:
            registry = self.registry if ctx is None else self.registry_for(ctx)
            return localize(extract(resource, registry), self.base_url)
        except (ValueError, RecursionError) as exc:
            raise InvalidResource(f"cannot index the resource: {exc}") from None

    def _match(self, s: Session, resource_type: str, criteria: str) -> list[str]:
        """Ids of the resources of ``resource_type`` matching search ``criteria``."""
        if not isinstance(criteria, str):
            raise InvalidResource(
                f"search criteria must be a string, not {type(criteria).__name__}"
            )
        criteria = criteria.lstrip("?")
        prefix, sep, rest = criteria.partition("?")
        if sep and re.fullmatch(r"[A-Z][A-Za-z]*", prefix):  # the ``Type?criteria`` form
            if prefix != resource_type:
                raise InvalidResource(
                    f"the criteria {criteria!r} name {prefix}, not {resource_type}"
                )
            criteria = rest
        self._lock_criteria(s, resource_type, criteria)
        if "_count=" not in criteria:  # two matches are enough to tell one from many
            criteria = f"{criteria}&_count=2" if criteria else "_count=2"
        # run as the context may search (the types the criteria read, its compartment); the
        # interaction itself (create, update, delete, patch) is checked by the caller
        perms = s.ctx.permissions
        searcher = s.ctx.with_permissions(
            replace(perms, operations=perms.operations | Operation.SEARCH)
        )
        plan = self._plan(Session(s.conn, searcher), f"{resource_type}?{criteria}", restrict=True)
        return [r["id"] for r in self._execute_search(s, plan).resources]

    def _hidden(self, s: Session, resource_type: str, id: str, current: Current | None) -> bool:
        """Whether a compartment-restricted context must see ``current`` as nonexistent."""
        if current is None or s.ctx.permissions.compartment is None:
            return False
        body = json.loads(current.json) if current.json else None
        return not self._visible(s, resource_type, id, current.version, body)

    def _in_compartment(
        self, ctx: TenantContext, resource_type: str, id: str, index: ResourceIndex | None
    ) -> bool:
        compartment = ctx.permissions.compartment
        if compartment is None:
            return True
        kind, owner = compartment
        if resource_type == kind and id == owner:
            return True
        params = compartment_params(kind, resource_type)
        if not params or index is None:
            return False
        return any(
            isinstance(row, ReferenceRow)
            and row.param in params
            and row.target_type == kind
            and row.target_id == owner
            for row in index.rows
        )

    def _check_compartment(
        self, ctx: TenantContext, resource: dict[str, Any] | None, resource_type: str, id: str
    ) -> None:
        """PermissionDenied unless ``resource`` (a stored version) is in the compartment."""
        if ctx.permissions.compartment is None:
            return
        index = self._extract(resource, ctx) if resource is not None else None
        if not self._in_compartment(ctx, resource_type, id, index):
            kind, owner = ctx.permissions.compartment
            raise PermissionDenied(f"{resource_type}/{id} is not in the {kind}/{owner} compartment")

    def _visible(
        self, s: Session, resource_type: str, id: str, version: int, resource: dict[str, Any] | None
    ) -> bool:
        """Whether a stored version may be shown to a compartment-restricted context (a
        deletion is judged by the last version before it)."""
        if s.ctx.permissions.compartment is None:
            return True
        if resource is None:
            text = self._records.previous_resource(s.conn, s.tenant, resource_type, id, version)
            if text is None:
                return False
            resource = json.loads(text)
        return self._in_compartment(s.ctx, resource_type, id, self._extract(resource, s.ctx))

    def _validate(self, resource: Any, *, require_id: bool = False) -> str:
        # the size limit is checked on the serialised document in _write (one json.dumps)
        return validation.validate_resource(
            resource, self.registry, require_id=require_id, max_bytes=None
        )

    def _write(
        self,
        s: Session,
        resource_type: str,
        id: str,
        resource: dict[str, Any] | None,
        method: Interaction,
        current: Current | None,
    ) -> StoredResource:
        """Write the next version (``resource`` None: a deletion) with every index row."""
        records, writer = self._records, self._writer
        version = current.version + 1 if current else 1
        last_updated = self._clock.now(current.last_updated + 1 if current else 0)
        if resource is None:
            key = records.put_version(
                s.conn, s.tenant, resource_type, id, version, last_updated, method, None
            )
            writer.delete_index(s.conn, s.tenant, resource_type, id, key)
            writer.write_outbox(
                s.conn, s.tenant, resource_type, id, version, "delete", last_updated
            )
            if resource_type == "SearchParameter" and current and current.json:
                s.pending.append(("unregister", json.loads(current.json).get("url")))
            self._terminology_written(s, resource_type, id, None, current)
            return to_stored(resource_type, id, version, last_updated, None)
        document = _with_meta(resource, id, version, last_updated)
        text = validation.serialize(document)
        size = len(text.encode("utf-8"))
        if size > self.max_resource_bytes:
            raise InvalidResource(
                f"resource is {size} bytes, over the limit of {self.max_resource_bytes}"
            )
        self._check_document(text)
        index = self._extract(document, s.ctx)
        if not self._in_compartment(s.ctx, resource_type, id, index):
            kind, owner = s.ctx.permissions.compartment or ("", "")
            raise PermissionDenied(
                f"{resource_type}/{id} would not be in the {kind}/{owner} compartment"
            )
        key = records.put_version(
            s.conn, s.tenant, resource_type, id, version, last_updated, method, text
        )
        writer.write_index(
            s.conn, s.tenant, resource_type, id, key, index,
            replace=current is not None,
        )  # fmt: skip
        writer.write_outbox(s.conn, s.tenant, resource_type, id, version, "upsert", last_updated)
        if resource_type == "SearchParameter":
            self._queue_search_parameter(s, document, current)
        self._terminology_written(s, resource_type, id, document, current)
        return StoredResource(
            resource_type, id, str(version), micros_to_datetime(last_updated), document, json=text
        )

    def _terminology_written(
        self, s: Session, resource_type: str, id: str, document: Any, current: Current | None
    ) -> None:
        """Keep the CodeSystem closure and the ValueSet expansion cache true (same txn)."""
        from helios_persistence.terminology.tables import TERMINOLOGY_TYPES, on_write

        if resource_type in TERMINOLOGY_TYPES and self._terminology is not None:
            previous = current.json if current else None
            on_write(self._terminology(s.conn), s.tenant, resource_type, id, document, previous)

    @staticmethod
    def _queue_search_parameter(
        s: Session, document: dict[str, Any], current: Current | None
    ) -> None:
        old_url = json.loads(current.json).get("url") if current and current.json else None
        s.pending.extend(search_parameter_actions(document, old_url))

    def _single(self, ids: list[str], what: str) -> str | None:
        if len(ids) > 1:
            raise PreconditionFailed(f"{what} matched {len(ids)} resources")
        return ids[0] if ids else None

    def _current(self, s: Session, resource_type: str, id: str) -> Current | None:
        if not isinstance(id, str):
            raise InvalidResource(f"a resource id is a string, not {type(id).__name__}")
        if not validation.ID_RE.fullmatch(id):
            return None  # no resource has such an id (nor can the database be asked for it)
        current: Current | None = self._records.get_current(s.conn, s.tenant, resource_type, id)
        return current

    # -- writes ---------------------------------------------------------------------------------
    def op_create(
        self,
        s: Session,
        resource: dict[str, Any],
        *,
        if_none_exist: str | None = None,
        assigned_id: str | None = None,
    ) -> WriteOutcome:
        resource_type = self._validate(resource)
        s.ctx.check(Operation.CREATE, resource_type)
        if if_none_exist:
            found = self._single(
                self._match(s, resource_type, if_none_exist),
                f"If-None-Exist {resource_type}?{if_none_exist}",
            )
            if found is not None:
                return WriteOutcome(self.op_read(s, resource_type, found), "200 OK")
        id = assigned_id or str(uuid.uuid4())
        validation.check_id(id)
        current = self._current(s, resource_type, id)
        if current is not None:
            raise InvalidResource(f"{resource_type}/{id} already exists")
        stored = self._write(s, resource_type, id, resource, Interaction.CREATE, None)
        return WriteOutcome(stored, "201 Created")

    def op_update(
        self,
        s: Session,
        resource: dict[str, Any],
        *,
        if_match: str | None = None,
        method: Interaction = Interaction.UPDATE,
    ) -> WriteOutcome:
        resource_type = self._validate(resource, require_id=True)
        id = resource["id"]
        s.ctx.check(Operation.UPDATE, resource_type)
        current = self._current(s, resource_type, id)
        exists = current is not None and not current.deleted
        if if_match is not None:
            wanted = normalize_etag(if_match)
            if self._hidden(s, resource_type, id, current):
                exists = False  # outside the compartment: as if it did not exist
            if current is None or not exists or str(current.version) != wanted:
                have = f"version {current.version}" if current and exists else "no version"
                raise VersionConflict(
                    f"If-Match {wanted} failed for {resource_type}/{id}: it has {have}"
                )
        if exists:
            assert current is not None
            self._check_compartment(s.ctx, json.loads(current.json or "null"), resource_type, id)
        else:
            s.ctx.check(Operation.CREATE, resource_type)
        stored = self._write(s, resource_type, id, resource, method, current)
        return WriteOutcome(stored, "200 OK" if exists else "201 Created")

    def op_update_conditional(
        self, s: Session, resource: dict[str, Any], criteria: str
    ) -> WriteOutcome:
        resource_type = self._validate(resource)
        s.ctx.check(Operation.UPDATE, resource_type)
        found = self._single(
            self._match(s, resource_type, criteria),
            f"conditional update {resource_type}?{criteria}",
        )
        if found is None:
            if resource.get("id"):
                return self.op_update(s, resource)
            return self.op_create(s, resource)
        if resource.get("id") not in (None, found):
            raise InvalidResource(
                f"conditional update matched {resource_type}/{found} but the resource has id "
                f"{resource['id']}"
            )
        return self.op_update(s, {**resource, "id": found})

    def op_delete(self, s: Session, resource_type: str, id: str) -> WriteOutcome:
        validation.check_resource_type(resource_type, self.registry_for(s.ctx))
        s.ctx.check(Operation.DELETE, resource_type)
        validation.check_id(id)
        current = self._current(s, resource_type, id)
        if current is None or current.deleted or self._hidden(s, resource_type, id, current):
            return WriteOutcome(None, "204 No Content")
        self._check_compartment(s.ctx, json.loads(current.json or "null"), resource_type, id)
        stored = self._write(s, resource_type, id, None, Interaction.DELETE, current)
        return WriteOutcome(stored, "204 No Content")

    def op_delete_conditional(self, s: Session, resource_type: str, criteria: str) -> WriteOutcome:
        validation.check_resource_type(resource_type, self.registry_for(s.ctx))
        s.ctx.check(Operation.DELETE, resource_type)
        found = self._single(
            self._match(s, resource_type, criteria),
            f"conditional delete {resource_type}?{criteria}",
        )
        if found is None:
            return WriteOutcome(None, "204 No Content")
        return self.op_delete(s, resource_type, found)

    def op_patch(
        self, s: Session, resource_type: str, id: str, patch: Any, *, if_match: str | None = None
    ) -> WriteOutcome:
        validation.check_resource_type(resource_type, self.registry_for(s.ctx))
        s.ctx.check(Operation.PATCH, resource_type)
        validation.check_id(id)
        current = self._current(s, resource_type, id)
        if current is None or self._hidden(s, resource_type, id, current):
            raise NotFound(f"{resource_type}/{id} does not exist")
        if current.deleted or current.json is None:
            raise Gone(f"{resource_type}/{id} was deleted")
        if if_match is not None and normalize_etag(if_match) != str(current.version):
            raise VersionConflict(
                f"If-Match {normalize_etag(if_match)} failed for {resource_type}/{id}: it has "
                f"version {current.version}"
            )
        existing = exact_json.loads(current.json)  # untouched decimals keep their digits
        self._check_compartment(s.ctx, existing, resource_type, id)
        patched = apply_patch(existing, patch)
        self._validate(patched, require_id=True)
        stored = self._write(s, resource_type, id, patched, Interaction.PATCH, current)
        return WriteOutcome(stored, "200 OK")

    def op_patch_conditional(
        self, s: Session, resource_type: str, criteria: str, patch: Any
    ) -> WriteOutcome:
        validation.check_resource_type(resource_type, self.registry_for(s.ctx))
        s.ctx.check(Operation.PATCH, resource_type)
        found = self._single(
            self._match(s, resource_type, criteria),
            f"conditional patch {resource_type}?{criteria}",
        )
        if found is None:
            raise NotFound(f"conditional patch {resource_type}?{criteria} matched nothing")
        return self.op_patch(s, resource_type, found, patch)

    # -- reads ----------------------------------------------------------------------------------
    def op_read(self, s: Session, resource_type: str, id: str) -> StoredResource:
        validation.check_resource_type(resource_type, self.registry_for(s.ctx))
        s.ctx.check(Operation.READ, resource_type)
        current = self._current(s, resource_type, id)
        if current is None or self._hidden(s, resource_type, id, current):
            raise NotFound(f"{resource_type}/{id} is not known")
        if current.deleted or current.json is None:
            raise Gone(f"{resource_type}/{id} was deleted")
        stored = to_stored(resource_type, id, current.version, current.last_updated, current.json)
        self._check_compartment(s.ctx, stored.resource, resource_type, id)
        return stored

    def op_vread(
        self, s: Session, resource_type: str, id: str, version_id: str | int
    ) -> StoredResource:
        validation.check_resource_type(resource_type, self.registry_for(s.ctx))
        s.ctx.check(Operation.VREAD, resource_type)
        if not isinstance(id, str) or not isinstance(version_id, str | int):
            raise InvalidResource("vread needs a string id and a string or integer version")
        wanted = normalize_etag(version_id)
        if not (wanted.isascii() and wanted.isdigit()) or len(wanted) > 18:  # 64-bit versions
            raise NotFound(f"{resource_type}/{id} has no version {validation.brief(wanted)}")
        if not validation.ID_RE.fullmatch(id):
            raise NotFound(f"{resource_type}/{validation.brief(id)} has no version {wanted}")
        found = self._records.get_version(s.conn, s.tenant, resource_type, id, int(wanted))
        if found is None:
            raise NotFound(f"{resource_type}/{id} has no version {wanted}")
        last_updated, method, text = found
        if not self._visible(
            s, resource_type, id, int(wanted), json.loads(text) if text is not None else None
        ):  # outside the compartment: as if it did not exist
            raise NotFound(f"{resource_type}/{id} has no version {wanted}")
        if method is Interaction.DELETE or text is None:
            raise Gone(f"version {wanted} of {resource_type}/{id} is a deletion")
        return to_stored(resource_type, id, int(wanted), last_updated, text)

    def op_delete_history(self, s: Session, resource_type: str, id: str) -> int:
        validation.check_resource_type(resource_type, self.registry_for(s.ctx))
        s.ctx.check(Operation.DELETE, resource_type)
        current = self._current(s, resource_type, id)
        if current is None or self._hidden(s, resource_type, id, current):
            raise NotFound(f"{resource_type}/{id} is not known")
        count: int = self._records.delete_old_versions(
            s.conn, s.tenant, resource_type, id, current.version
        )
        return count


def search_parameter_actions(
    document: dict[str, Any], old_url: str | None
) -> list[tuple[str, Any]]:
    """What a new version of a SearchParameter (``old_url``: the previous version's url)
    does to its tenant's registry: ``("register", document)`` / ``("unregister", url)``
    actions for :meth:`~helios_persistence.storage.api.TenantRegistries._apply_pending`."""
    actions: list[tuple[str, Any]] = []
    if old_url and old_url != document.get("url"):
        actions.append(("unregister", old_url))
    if document.get("status") == "active":
        actions.append(("register", document))
    elif document.get("url"):
        actions.append(("unregister", document["url"]))
    return actions
