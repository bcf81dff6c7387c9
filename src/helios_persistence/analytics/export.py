"""Bulk Data ``$export``: what to export (system, Patient or Group level; ``_type``,
``_since``, ``_typeFilter``) and the loop that streams it from a store into an
:class:`~helios_persistence.analytics.writer.ExportWriter`.

Every read is a FHIR search of the store (``store.search``), so ``_typeFilter`` strings are
compiled by the same spine as any search, tenancy and permission checks apply, and memory
stays bounded: pages of :data:`PAGE_SIZE` resources, keyset-paged on ``_id``. Patient and
Group level exports also keep the keys of resources already written (one ``(type, id)`` per
exported compartment resource), because a resource may link to several of the patients.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from helios_persistence.analytics.bulk import ArrowSource, bulk_readable, chunks
from helios_persistence.analytics.layout import resource_types
from helios_persistence.backends.sql.index_tables import COLUMNS, INDEX_TABLES, KEY
from helios_persistence.errors import HeliosError, InvalidSearch, NotFound
from helios_persistence.parsing import parse
from helios_persistence.storage import exact_json
from helios_persistence.tenancy import Operation, TenantContext, compartment_params

__all__ = [
    "PAGE_SIZE",
    "ExportCancelled",
    "ExportRequest",
    "Position",
    "positioned_pages",
    "stored_documents",
    "stored_index_rows",
    "stream",
]

#: resources per search page read from the store
PAGE_SIZE = 500
#: patients per compartment query (``param=Patient/a,Patient/b,...``)
PATIENT_BATCH = 50
LEVELS = ("system", "patient", "group")
#: the criteria of a type the registry has no search parameters for (read from the table)
UNSEARCHABLE = "\x00unsearchable"
#: a bulk-read type's position: the last id written (not a search)
BULK_AFTER = "\x00after:"
#: a Patient- or Group-level position: the patients done (JSON, see :func:`_patient_batches`)
PATIENTS_AT = "\x00patients:"


class ExportCancelled(HeliosError):
    """The export job was cancelled."""

    issue_code = "incomplete"


@dataclass(frozen=True)
class ExportRequest:
    """What one ``$export`` asks for (the ``request`` of its manifest)."""

    level: str = "system"
    types: tuple[str, ...] = ()
    since: str | None = None
    type_filter: tuple[str, ...] = ()
    output_format: str = "parquet"
    group: str | None = None

    def url(self) -> str:
        """The request as a Bulk Data kick-off URL (relative)."""
        path = {"system": "$export", "patient": "Patient/$export"}.get(
            self.level, f"Group/{self.group}/$export"
        )
        params = [f"_outputFormat={quote(self.output_format)}"]
        if self.types:
            params.append("_type=" + quote(",".join(self.types)))
        if self.since:
            params.append("_since=" + quote(self.since))
        params.extend("_typeFilter=" + quote(f, safe="") for f in self.type_filter)
        return f"{path}?{'&'.join(params)}"

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ExportRequest:
        data = dict(data)
        data["types"] = tuple(data.get("types") or ())
        data["type_filter"] = tuple(data.get("type_filter") or ())
        return cls(**data)


def validate(request: ExportRequest, ctx: TenantContext, registry: Any) -> dict[str, list[str]]:
    """Check the request (raising :class:`InvalidSearch` / ``PermissionDenied``); the search
    criteria per type to export (``""``: every resource of the type)."""
    if request.level not in LEVELS:
        raise InvalidSearch(f"unknown export level {request.level!r}")
    if request.level == "group" and not request.group:
        raise InvalidSearch("a Group-level export names its Group")
    if request.output_format not in ("parquet", "ndjson"):
        raise InvalidSearch(
            f"_outputFormat {request.output_format!r} is not supported (parquet, ndjson)",
            parameter="_outputFormat",
        )
    known = set(resource_types())
    searchable = set(registry.resource_types)
    for t in request.types:
        if t not in known:
            raise InvalidSearch(f"_type: unknown resource type {t!r}", parameter="_type")
    since = ""
    if request.since is not None:
        since = f"_lastUpdated=gt{quote(request.since, safe='')}"
        try:
            parse(f"Patient?{since}", registry=registry)
        except InvalidSearch as exc:
            raise InvalidSearch(f"_since {request.since!r} is not an instant: {exc.message}",
                                parameter="_since") from exc  # fmt: skip
    filters: dict[str, list[str]] = {}
    for text in request.type_filter:
        rtype, _, criteria = text.partition("?")
        if rtype not in known:
            raise InvalidSearch(
                f"_typeFilter {text!r}: unknown resource type", parameter="_typeFilter"
            )
        try:
            parse(text, registry=registry)
        except InvalidSearch as exc:
            raise InvalidSearch(
                f"_typeFilter {text!r}: {exc.message}", parameter="_typeFilter"
            ) from exc
        filters.setdefault(rtype, []).append(criteria)
    wanted = list(request.types) or sorted(known)
    if request.level != "system":
        wanted = [t for t in wanted if t == "Patient" or compartment_params("Patient", t)]
    out: dict[str, list[str]] = {}
    for rtype in wanted:
        if not ctx.permissions.allows(Operation.EXPORT, rtype):
            if request.types:
                ctx.check(Operation.EXPORT, rtype)
            continue
        if rtype not in searchable:  # no search parameters (Binary, ...): read directly
            out[rtype] = [UNSEARCHABLE]
            continue
        out[rtype] = [
            "&".join(p for p in (c, since) if p) for c in filters.get(rtype, [""])
        ]  # several filters of one type are OR'ed
    if not out:
        ctx.check(Operation.EXPORT)
    return out


def placeholder(store: Any) -> str:
    """The SQL stores' positional placeholder: PostgreSQL's ``%s``, SQLite's ``?``."""
    return "%s" if "postgres" in type(store).__module__ else "?"


def _present_types(store: Any, ctx: TenantContext) -> set[str] | None:
    """The types the tenant has live resources of (None: the store cannot tell cheaply).
    The SQL stores share the ``resources`` table; the tenant is a bound parameter."""
    mark = placeholder(store)
    try:
        with store.read_session(ctx) as s:
            rows = s.conn.execute(
                f"SELECT DISTINCT type FROM resources WHERE tenant = {mark} AND deleted = 0",
                [ctx.tenant_key],
            )
            return {str(r[0]) for r in rows}
    except AttributeError:  # not a SQL store
        return None


def stored_documents(
    store: Any, ctx: TenantContext, rtype: str, ids: list[str]
) -> dict[str, dict[str, Any]] | None:
    """The live resources ``ids`` of ``rtype`` parsed exactly from the stored documents (FHIR
    decimals as ``Decimal``, their digits as written: a search's resources went through
    ``float``), or None when the store is not a SQL store sharing the ``resources`` table."""
    if not ids:
        return {}
    mark = placeholder(store)
    column = "json::text" if mark == "%s" else "json"  # PostgreSQL's jsonb keeps the digits
    marks = ", ".join([mark] * len(ids))
    try:
        with store.read_session(ctx) as s:
            rows = s.conn.execute(
                f"SELECT id, {column} FROM resources WHERE tenant = {mark} AND type = {mark} "
                f"AND deleted = 0 AND id IN ({marks})",
                [ctx.tenant_key, rtype, *ids],
            )
            return {str(i): exact_json.loads(text) for i, text in rows}
    except AttributeError:  # not a SQL store
        return None


def stored_index_rows(
    store: Any, ctx: TenantContext, rtype: str, ids: list[str]
) -> dict[str, dict[str, list[tuple[Any, ...]]]] | None:
    """The index rows the store holds for resources ``ids`` of ``rtype``: ``{id: {table:
    rows}}`` (rows as ``KEY`` + ``COLUMNS``), or None when the store is not a SQL store
    sharing the index tables (the writer then extracts them itself)."""
    if not ids:
        return {}
    mark = placeholder(store)
    marks = ", ".join([mark] * len(ids))
    out: dict[str, dict[str, list[tuple[Any, ...]]]] = {i: {} for i in ids}
    try:
        with store.read_session(ctx) as s:
            for table in INDEX_TABLES:
                columns = ", ".join((*KEY, *COLUMNS[table]))
                rows = s.conn.execute(
                    f"SELECT {columns} FROM {table} WHERE tenant = {mark} AND type = {mark} "
                    f"AND id IN ({marks})",
                    [ctx.tenant_key, rtype, *ids],
                )
                for row in rows:
                    out[row[2]].setdefault(table, []).append(tuple(row))
    except AttributeError:  # not a SQL store
        return None
    return out


def _table_pages(
    store: Any, ctx: TenantContext, rtype: str, since: str | None
) -> Iterator[list[dict[str, Any]]]:
    """Live resources of a type no search can name, straight from the SQL stores' shared
    ``resources`` table (keyset pages on id; the tenant and every value bound)."""
    from datetime import UTC, datetime

    mark = placeholder(store)
    after = -1
    if since is not None:
        instant = datetime.fromisoformat(since.replace("Z", "+00:00"))
        if instant.tzinfo is None:
            instant = instant.replace(tzinfo=UTC)
        delta = instant - datetime(1970, 1, 1, tzinfo=UTC)
        after = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    last = ""
    while True:
        with store.read_session(ctx) as s:
            rows = list(
                s.conn.execute(
                    f"SELECT id, json FROM resources WHERE tenant = {mark} AND type = {mark} "
                    f"AND deleted = 0 AND last_updated > {mark} AND id > {mark} "
                    f"ORDER BY id LIMIT {PAGE_SIZE}",
                    [ctx.tenant_key, rtype, after, last],
                )
            )
        if not rows:
            return
        yield [v if isinstance(v, dict) else json.loads(v) for _, v in rows]
        last = str(rows[-1][0])


def _searcher(ctx: TenantContext) -> TenantContext:
    """``ctx`` allowed to search (an export reads by searching), nothing else widened."""
    perms = ctx.permissions
    return dataclasses.replace(
        ctx, permissions=dataclasses.replace(perms, operations=perms.operations | Operation.SEARCH)
    )


def _pages(
    store: Any, ctx: TenantContext, query: str, start: str | None = None
) -> Iterator[tuple[list[dict[str, Any]], str | None]]:
    """Each page of ``query`` (from ``start``, a ``next`` of an earlier run, when given) and
    the search that continues after it (None after the last)."""
    sep = "&" if "?" in query else "?"
    next_query: str | None = start or f"{query}{sep}_sort=_id&_count={PAGE_SIZE}"
    while next_query is not None:
        result = store.search(ctx, next_query)
        next_query = result.next
        yield result.resources, next_query


@dataclass(frozen=True)
class Position:
    """Where a system-level export stands after a page: ``done`` the types finished, and the
    search that continues the current type ``rtype`` (None: the current type cannot be
    continued part-way, only restarted: several ``_typeFilter``s or no search parameters)."""

    done: tuple[str, ...] = ()
    rtype: str | None = None
    next: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"done": list(self.done), "type": self.rtype, "next": self.next}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Position:
        return cls(tuple(data.get("done") or ()), data.get("type"), data.get("next"))


def stream(
    store: Any,
    ctx: TenantContext,
    request: ExportRequest,
    *,
    cancelled: Callable[[], bool] = lambda: False,
) -> Iterator[list[dict[str, Any]]]:
    """The resources to export, page by page (raises :class:`ExportCancelled` when
    ``cancelled()`` turns true between pages)."""
    for page, _ in positioned_pages(store, ctx, request, cancelled=cancelled):
        if page:
            yield page


def positioned_pages(
    store: Any,
    ctx: TenantContext,
    request: ExportRequest,
    *,
    cancelled: Callable[[], bool] = lambda: False,
    resume: Position | None = None,
    bulk: str | None = None,
    written: set[tuple[str, str]] | None = None,
) -> Iterator[tuple[Any, Position | None]]:
    """:func:`stream`'s pages, each with the :class:`Position` after it: an empty page ends
    each type at the system level, and each batch of :data:`PATIENT_BATCH` patients at the
    Patient and Group levels (their pages within a batch have None). ``resume``: continue
    after that position; ``written``: the ``(type, id)`` s a resumed Patient- or Group-level
    export has written already (a resource may be in several patients' compartments).

    ``bulk`` (``"parquet"`` or ``"ndjson"``): the types a system-level export of a SQLite
    store takes whole (or ``_since``) come as :class:`~.bulk.Chunk` s read from its tables,
    with their index and text rows for Parquet (:mod:`.bulk`)."""
    plan = validate(request, ctx, store.registry)
    present = _present_types(store, ctx)
    if present is not None:  # skip the searches of types the tenant has none of
        plan = {t: c for t, c in plan.items() if t in present}
    search_ctx = _searcher(ctx)
    if request.level == "system":
        yield from _system_pages(
            store, ctx, request, plan, cancelled, resume or Position(),
            bulk if bulk is not None and bulk_readable(store, ctx) else None,
        )  # fmt: skip
        return
    written = set(written or ())
    at = resume.next if resume is not None else None
    start = json.loads(at[len(PATIENTS_AT) :]) if at and at.startswith(PATIENTS_AT) else None
    for patients, after in _patient_batches(store, search_ctx, request, start):
        refs = ",".join(f"Patient/{p}" for p in patients)
        for rtype, criteria in plan.items():
            params = ["_id"] if rtype == "Patient" else list(compartment_params("Patient", rtype))
            for param in params:
                value = ",".join(patients) if param == "_id" else refs
                for c in criteria:
                    query = f"{rtype}?{param}={quote(value, safe=',/')}" + (f"&{c}" if c else "")
                    for page, _ in _pages(store, search_ctx, query):
                        if cancelled():
                            raise ExportCancelled("the export was cancelled")
                        fresh = [r for r in page if (rtype, r["id"]) not in written]
                        written.update((rtype, r["id"]) for r in fresh)
                        yield fresh, None
        yield [], Position(next=PATIENTS_AT + json.dumps(after))


def _system_pages(
    store: Any,
    ctx: TenantContext,
    request: ExportRequest,
    plan: dict[str, list[str]],
    cancelled: Callable[[], bool],
    resume: Position,
    bulk: str | None = None,
) -> Iterator[tuple[Any, Position]]:
    search_ctx = _searcher(ctx)
    done = resume.done
    filtered = {f.partition("?")[0] for f in request.type_filter}
    source = ArrowSource(store, ctx)  # (one reading process for every type)
    try:
        for rtype, criteria in plan.items():
            if rtype in done:
                continue
            if bulk is not None and rtype not in filtered:  # the whole type: from its tables
                after = ""
                if resume.rtype == rtype and (resume.next or "").startswith(BULK_AFTER):
                    after = (resume.next or "")[len(BULK_AFTER) :]
                for chunk in chunks(
                    store, ctx, rtype, request.since, after, with_rows=bulk == "parquet",
                    source=source,
                ):  # fmt: skip
                    if cancelled():
                        raise ExportCancelled("the export was cancelled")
                    yield chunk, Position(done, rtype, BULK_AFTER + chunk.last_id)
                done = (*done, rtype)
                yield [], Position(done)
                continue
            resumable = len(criteria) == 1 and criteria[0] != UNSEARCHABLE
            start = resume.next if resumable and resume.rtype == rtype else None
            seen: set[str] | None = set() if len(criteria) > 1 else None
            for c in criteria:
                if c == UNSEARCHABLE:
                    pages: Iterator[tuple[list[dict[str, Any]], str | None]] = (
                        (page, None) for page in _table_pages(store, ctx, rtype, request.since)
                    )
                else:
                    pages = _pages(store, search_ctx, f"{rtype}?{c}" if c else rtype, start)
                for page, next_query in pages:
                    if cancelled():
                        raise ExportCancelled("the export was cancelled")
                    if seen is not None:
                        page = [r for r in page if r["id"] not in seen]
                        seen.update(r["id"] for r in page)
                    yield page, Position(done, rtype, next_query if resumable else None)
            done = (*done, rtype)
            yield [], Position(done)
    finally:
        source.close()


def _patient_batches(
    store: Any, ctx: TenantContext, request: ExportRequest, start: dict[str, Any] | None
) -> Iterator[tuple[list[str], dict[str, Any]]]:
    """The patients to export, :data:`PATIENT_BATCH` at a time, each batch with where the
    next one starts (what ``start`` takes to continue after it): at the Patient level, the
    search page of patient ids it is in and how many of that page's patients are done (the
    store's own keyset page, so patients written or deleted since do not shift it); at the
    Group level, how many of the Group's members are done."""
    if request.level == "patient":
        page_query = (start or {}).get(
            "page"
        ) or f"Patient?_elements=id&_sort=_id&_count={PAGE_SIZE}"
        skip = int((start or {}).get("skip", 0))
        batch: list[str] = []
        for page, next_query in _pages(store, ctx, "Patient", page_query):
            for i, r in enumerate(page[skip:], start=skip):
                batch.append(r["id"])
                if len(batch) >= PATIENT_BATCH:
                    yield batch, {"page": page_query, "skip": i + 1}
                    batch = []
            skip = 0
            if next_query is None:
                break
            page_query = next_query
        if batch:
            yield batch, {"page": page_query, "skip": len(page)}
        return
    try:
        group = store.read(_reader(ctx), "Group", request.group)
    except NotFound as exc:
        raise NotFound(f"Group {request.group!r} does not exist") from exc
    members = [m.get("entity", {}).get("reference", "") for m in group.resource.get("member", [])]
    ids = [ref.split("/", 1)[1] for ref in members if ref.startswith("Patient/")]
    for i in range(int((start or {}).get("members", 0)), len(ids), PATIENT_BATCH):
        yield ids[i : i + PATIENT_BATCH], {"members": min(i + PATIENT_BATCH, len(ids))}


def _reader(ctx: TenantContext) -> TenantContext:
    perms = ctx.permissions
    return dataclasses.replace(
        ctx, permissions=dataclasses.replace(perms, operations=perms.operations | Operation.READ)
    )
