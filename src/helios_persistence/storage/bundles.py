"""FHIR ``transaction`` and ``batch`` Bundles, written against the storage primitives.

A backend provides :class:`BundleBackend`: sessions (one database transaction each) and
``op_*`` primitives that work inside a session without committing. Any backend with those
(SQLite today, PostgreSQL later) gets Bundle processing for free:

* **transaction**: one session for the whole Bundle. Entries are processed in FHIR order
  (DELETE, POST, PUT/PATCH, GET/HEAD; the original order within each), after every POST and
  PUT target has been decided, so ``urn:uuid:`` (and other ``fullUrl``) references are rewritten
  everywhere in the resources, nested ``Reference.reference`` included, and so are the
  narrative's ``<a href>`` and ``<img src>`` links to entries. Conditional references
  (``Practitioner?identifier=x|1``) are resolved against the database as it is after the
  DELETEs (exactly one match, else the transaction fails; a resource created by the same Bundle
  cannot be matched, since it is not indexed yet). The first failing entry rolls everything
  back and its error is raised with ``Bundle.entry[i]`` prefixed to the message. A backend
  with concurrent writers may provide ``op_lock(session, [(type, id), ...])``: it is called
  first with every literal PUT/PATCH/DELETE target, so it can lock them all in one fixed
  order (two Bundles touching the same resources then never deadlock), and again with the
  targets decided before writing (new ids, conditional matches), so it can read them all at
  once.
* **batch**: every entry in its own session; a failing entry becomes a response entry with its
  HTTP status and an OperationOutcome, the others commit. References between batch entries are
  not resolved (FHIR forbids interdependencies); conditional references are.

Request URLs must be relative (``Patient``, ``Patient/1``, ``Patient/1/_history/2``,
``Patient?identifier=x``, ``Patient/_history``, ``_history``).
"""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from helios_persistence.errors import (
    HeliosError,
    InvalidResource,
    PreconditionFailed,
)
from helios_persistence.storage.types import StoredResource, WriteOutcome
from helios_persistence.storage.validation import brief, check_json
from helios_persistence.tenancy import Operation, TenantContext

__all__ = [
    "BundleBackend",
    "parse_request_url",
    "process_bundle",
    "rewrite_narrative_links",
    "rewrite_references",
    "searchset_bundle",
]

_REASONS = {
    200: "OK",
    201: "Created",
    204: "No Content",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    410: "Gone",
    412: "Precondition Failed",
    422: "Unprocessable Entity",
    500: "Internal Server Error",
}
_ORDER = {"DELETE": 0, "POST": 1, "PUT": 2, "PATCH": 2, "GET": 3, "HEAD": 3}
_CONDITIONAL_REF = re.compile(r"([A-Z][A-Za-z]+)\?(.+)", re.S)
_TYPE = re.compile(r"[A-Z][A-Za-z]+")


class BundleBackend(Protocol):
    """What :func:`process_bundle` needs from a storage backend."""

    def write_session(self, ctx: TenantContext) -> AbstractContextManager[Any]: ...
    def read_session(self, ctx: TenantContext) -> AbstractContextManager[Any]: ...
    def op_create(
        self,
        s: Any,
        resource: dict[str, Any],
        *,
        if_none_exist: str | None = None,
        assigned_id: str | None = None,
    ) -> WriteOutcome: ...
    def op_update(
        self, s: Any, resource: dict[str, Any], *, if_match: str | None = None
    ) -> WriteOutcome: ...
    def op_delete(self, s: Any, resource_type: str, id: str) -> WriteOutcome: ...
    def op_delete_conditional(self, s: Any, resource_type: str, criteria: str) -> WriteOutcome: ...
    def op_patch(
        self, s: Any, resource_type: str, id: str, patch: Any, *, if_match: str | None = None
    ) -> WriteOutcome: ...
    def op_patch_conditional(
        self, s: Any, resource_type: str, criteria: str, patch: Any
    ) -> WriteOutcome: ...
    def op_read(self, s: Any, resource_type: str, id: str) -> StoredResource: ...
    def op_vread(self, s: Any, resource_type: str, id: str, version_id: str) -> StoredResource: ...
    def op_search(self, s: Any, query: str) -> Any: ...
    def op_history(
        self, s: Any, resource_type: str | None = None, id: str | None = None
    ) -> dict[str, Any]: ...
    def op_match(self, s: Any, resource_type: str, criteria: str) -> list[str]: ...


@dataclass(frozen=True, slots=True)
class RequestUrl:
    """A parsed relative request URL."""

    resource_type: str | None = None
    id: str | None = None
    history: bool = False
    version: str | None = None
    query: str | None = None


def parse_request_url(url: Any) -> RequestUrl:
    """Split ``Type/id/_history/vid?query`` (every part optional)."""
    if not isinstance(url, str) or not url.strip():
        raise InvalidResource("request.url is missing")
    if re.match(r"[a-zA-Z][a-zA-Z0-9+.-]*://", url):
        raise InvalidResource(f"request.url must be relative, not {url!r}")
    path, sep, query = url.strip().partition("?")
    parts = [p for p in path.strip("/").split("/") if p]
    q = query if sep else None
    if not parts:
        return RequestUrl(query=q)
    if parts == ["_history"]:
        return RequestUrl(history=True, query=q)
    if not _TYPE.fullmatch(parts[0]):
        raise InvalidResource(f"cannot parse request.url {url!r}")
    rtype = parts[0]
    rest = parts[1:]
    if not rest:
        return RequestUrl(rtype, query=q)
    if rest == ["_history"]:
        return RequestUrl(rtype, history=True, query=q)
    if len(rest) == 1:
        return RequestUrl(rtype, rest[0], query=q)
    if len(rest) == 2 and rest[1] == "_history":
        return RequestUrl(rtype, rest[0], history=True, query=q)
    if len(rest) == 3 and rest[1] == "_history":
        return RequestUrl(rtype, rest[0], version=rest[2], query=q)
    raise InvalidResource(f"cannot parse request.url {url!r}")


@dataclass
class _Entry:
    index: int
    method: str
    url: RequestUrl
    raw_url: str
    resource: Any
    full_url: str | None
    if_none_exist: str | None
    if_match: str | None
    target_id: str | None = None  # decided id for POST / PUT
    existing: bool = False  # POST whose ifNoneExist matched an existing resource


def _parse_entries(bundle: dict[str, Any]) -> list[_Entry]:
    entries = bundle.get("entry") or []
    if not isinstance(entries, list):
        raise InvalidResource("Bundle.entry must be an array")
    out = []
    for i, raw in enumerate(entries):
        where = f"Bundle.entry[{i}]"
        request = raw.get("request") if isinstance(raw, dict) else None
        if not isinstance(request, dict):
            raise InvalidResource(f"{where}.request is missing", expression=where)
        method = request.get("method") or ""
        method = method.upper() if isinstance(method, str) else method
        if not isinstance(method, str) or method not in _ORDER:
            raise InvalidResource(f"{where}.request.method {brief(method)} is not supported")
        url = parse_request_url(request.get("url"))
        resource = raw.get("resource")
        for name, value in (
            ("fullUrl", raw.get("fullUrl")),
            ("request.ifNoneExist", request.get("ifNoneExist")),
            ("request.ifMatch", request.get("ifMatch")),
        ):
            if value is not None and not isinstance(value, str):
                raise InvalidResource(f"{where}.{name} must be a string", expression=where)
        if method in ("POST", "PUT", "PATCH") and not isinstance(resource, dict):
            raise InvalidResource(f"{where} ({method}) has no resource", expression=where)
        if method in ("POST", "PUT", "DELETE", "PATCH") and url.resource_type is None:
            raise InvalidResource(f"{where}.request.url names no resource type")
        if method == "POST" and (url.id or url.history):
            raise InvalidResource(f"{where}: POST must go to a type ({url.resource_type})")
        if method in ("PUT", "DELETE", "PATCH") and url.id is None and not url.query:
            raise InvalidResource(f"{where}: {method} needs an id or search criteria")
        if method in ("PUT", "POST") and resource.get("resourceType") != url.resource_type:
            raise InvalidResource(f"{where}: the resource is not a {url.resource_type}")
        out.append(
            _Entry(
                i,
                method,
                url,
                str(request.get("url")),
                resource,
                raw.get("fullUrl"),
                request.get("ifNoneExist"),
                request.get("ifMatch"),
            )
        )
    return out


def rewrite_references(
    value: Any, resolve: Callable[[str], str], links: Mapping[str, str] | None = None
) -> Any:
    """A copy of ``value`` with every ``reference`` string passed through ``resolve`` and,
    with ``links`` (a Bundle entry's ``fullUrl`` → ``Type/id``), the matching ``<a href>`` and
    ``<img src>`` links of the narrative (``div``) rewritten as the transaction rules say."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k == "reference" and isinstance(v, str):
                out[k] = resolve(v)
            elif k == "div" and isinstance(v, str) and links:
                out[k] = rewrite_narrative_links(v, links)
            else:
                out[k] = rewrite_references(v, resolve, links)
        return out
    if isinstance(value, list):
        return [rewrite_references(v, resolve, links) for v in value]
    return value


#: an ``<a ...>`` or ``<img ...>`` start tag of XHTML narrative
_LINK_TAG = re.compile(
    r"""<(a|img)((?:\s+[^\s=<>"'/]+\s*=\s*(?:"[^"]*"|'[^']*'))*\s*/?)>""", re.IGNORECASE
)
#: one ``name="value"`` (or ``'value'``) attribute inside a start tag
_ATTRIBUTE = re.compile(r"""(\s([A-Za-z_:][-\w:.]*)\s*=\s*)(["'])(.*?)\3""", re.DOTALL)
_LINK_ATTRIBUTE = {"a": "href", "img": "src"}


def rewrite_narrative_links(div: str, links: Mapping[str, str]) -> str:
    """``div`` with each ``<a href>`` / ``<img src>`` naming a key of ``links`` (exactly, after
    XML unescaping) pointing at its value instead; everything else is left as written."""

    def tag(match: re.Match[str]) -> str:
        name, attributes = match.group(1).lower(), match.group(2)
        if not attributes:
            return match.group(0)

        def attribute(found: re.Match[str]) -> str:
            if found.group(2).lower() != _LINK_ATTRIBUTE[name]:
                return found.group(0)
            target = links.get(html.unescape(found.group(4)))
            if target is None:
                return found.group(0)
            quote = found.group(3)
            return f"{found.group(1)}{quote}{html.escape(target, quote=True)}{quote}"

        return f"<{match.group(1)}{_ATTRIBUTE.sub(attribute, attributes)}>"

    return _LINK_TAG.sub(tag, div)


def searchset_bundle(result: Any) -> dict[str, Any]:
    """A search result as a ``searchset`` Bundle (the result's own rendering if it has one)."""
    if isinstance(result, dict):
        return result
    for name in ("to_bundle", "bundle"):
        render = getattr(result, name, None)
        if callable(render):
            rendered: dict[str, Any] = render()
            return rendered

    def item(resource: Any, mode: str) -> dict[str, Any]:
        body = resource if isinstance(resource, dict) else getattr(resource, "resource", None)
        ref = f"{body['resourceType']}/{body['id']}" if body else None
        return {"fullUrl": ref, "resource": body, "search": {"mode": mode}}

    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset"}
    total = getattr(result, "total", None)
    if total is not None:
        bundle["total"] = total
    nxt = getattr(result, "next", None)
    if nxt:
        bundle["link"] = [{"relation": "next", "url": nxt}]
    bundle["entry"] = [item(r, "match") for r in getattr(result, "resources", ())] + [
        item(r, "include") for r in getattr(result, "included", ()) or ()
    ]
    return bundle


def _status_line(code: int) -> str:
    return f"{code} {_REASONS.get(code, '')}".strip()


def _write_response(outcome: WriteOutcome) -> dict[str, Any]:
    response: dict[str, Any] = {"status": outcome.status}
    stored = outcome.stored
    if stored is not None:
        if not stored.deleted:
            response["location"] = stored.location
        response["etag"] = stored.etag
        response["lastModified"] = stored.last_modified
    return {"response": response}


def _read_response(stored: StoredResource) -> dict[str, Any]:
    return {
        "fullUrl": stored.reference,
        "resource": stored.resource,
        "response": {"status": "200 OK", "etag": stored.etag, "lastModified": stored.last_modified},
    }


def _error_response(exc: HeliosError) -> dict[str, Any]:
    return {"response": {"status": _status_line(exc.http_status), "outcome": exc.outcome}}


class _Processor:
    def __init__(self, backend: BundleBackend, ctx: TenantContext, batch: bool) -> None:
        self.backend = backend
        self.ctx = ctx
        self.batch = batch
        self.id_map: dict[str, str] = {}
        self.conditional_refs: dict[str, str] = {}

    # -- references ---------------------------------------------------------------------------
    def resolver(self, s: Any) -> Callable[[str], str]:
        def resolve(reference: str) -> str:
            if reference in self.id_map:
                return self.id_map[reference]
            if reference.startswith(("urn:uuid:", "urn:oid:")):
                raise InvalidResource(f"reference {reference} does not resolve to a Bundle entry")
            match = _CONDITIONAL_REF.fullmatch(reference)
            if match is None:
                return reference
            if reference not in self.conditional_refs:
                ids = self.backend.op_match(s, match.group(1), match.group(2))
                if len(ids) != 1:
                    if len(ids) > 1:
                        raise PreconditionFailed(
                            f"conditional reference {reference} matched {len(ids)} resources"
                        )
                    raise InvalidResource(f"conditional reference {reference} matched nothing")
                self.conditional_refs[reference] = f"{match.group(1)}/{ids[0]}"
            return self.conditional_refs[reference]

        return resolve

    def map_full_url(self, entry: _Entry, rtype: str, id: str) -> None:
        if not entry.full_url:
            return
        self.id_map[entry.full_url] = f"{rtype}/{id}"
        # an absolute fullUrl makes relative references to its old identity point here too
        match = re.search(r"/([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})$", entry.full_url)
        if match and not entry.full_url.startswith("urn:"):
            self.id_map.setdefault(f"{match.group(1)}/{match.group(2)}", f"{rtype}/{id}")

    # -- entries ------------------------------------------------------------------------------
    def decide_target(self, s: Any, e: _Entry) -> None:
        """Fix the id a POST or PUT entry will write (before any reference is rewritten)."""
        rtype = e.url.resource_type
        if rtype is None or e.method not in ("POST", "PUT"):
            return  # (only POST and PUT decide a target; they always name a type)
        if e.method == "POST":
            if e.if_none_exist:
                ids = self.backend.op_match(s, rtype, e.if_none_exist)
                if len(ids) > 1:
                    raise PreconditionFailed(
                        f"ifNoneExist {rtype}?{e.if_none_exist} matched {len(ids)} resources"
                    )
                if ids:
                    e.target_id, e.existing = ids[0], True
            if e.target_id is None:
                e.target_id = str(uuid.uuid4())
        elif e.method == "PUT":
            if e.url.id is not None:
                if e.resource.get("id") not in (None, e.url.id):
                    raise InvalidResource(
                        f"the resource id {e.resource.get('id')} differs from the URL {e.raw_url}"
                    )
                e.target_id = e.url.id
            else:
                ids = self.backend.op_match(s, rtype, e.url.query or "")
                if len(ids) > 1:
                    raise PreconditionFailed(
                        f"conditional update {e.raw_url} matched {len(ids)} resources"
                    )
                if ids and e.resource.get("id") not in (None, ids[0]):
                    raise InvalidResource(
                        f"conditional update {e.raw_url} matched {rtype}/{ids[0]} but the "
                        f"resource has id {e.resource['id']}"
                    )
                e.target_id = ids[0] if ids else e.resource.get("id") or str(uuid.uuid4())
        if e.target_id is not None:
            self.map_full_url(e, rtype, e.target_id)

    def run(self, s: Any, e: _Entry) -> dict[str, Any]:
        b = self.backend
        url = e.url
        rtype = url.resource_type
        if e.method in ("POST", "PUT"):
            resource = rewrite_references(e.resource, self.resolver(s), self.id_map)
            if e.method == "POST" and self.batch:
                out = b.op_create(s, resource, if_none_exist=e.if_none_exist)
            elif e.method == "POST":
                if e.existing:
                    assert rtype is not None and e.target_id is not None
                    out = WriteOutcome(b.op_read(s, rtype, e.target_id), "200 OK")
                else:
                    out = b.op_create(s, resource, assigned_id=e.target_id)
            else:
                target = e.target_id
                if target is None:  # batch: decide here
                    self.decide_target(s, e)
                    target = e.target_id
                out = b.op_update(s, {**resource, "id": target}, if_match=e.if_match)
            return _write_response(out)
        if e.method == "DELETE":
            assert rtype is not None
            if url.id is not None:
                return _write_response(b.op_delete(s, rtype, url.id))
            return _write_response(b.op_delete_conditional(s, rtype, url.query or ""))
        if e.method == "PATCH":
            assert rtype is not None
            if url.id is not None:
                return _write_response(
                    b.op_patch(s, rtype, url.id, e.resource, if_match=e.if_match)
                )
            return _write_response(b.op_patch_conditional(s, rtype, url.query or "", e.resource))
        # GET / HEAD
        if url.version is not None:
            assert rtype is not None and url.id is not None
            return _read_response(b.op_vread(s, rtype, url.id, url.version))
        if url.history:
            bundle = b.op_history(s, rtype, url.id)
            return {"resource": bundle, "response": {"status": "200 OK"}}
        if url.id is not None and url.query is None:
            assert rtype is not None
            return _read_response(b.op_read(s, rtype, url.id))
        query = f"{rtype or ''}?{url.query or ''}"
        return {
            "resource": searchset_bundle(b.op_search(s, query)),
            "response": {"status": "200 OK"},
        }

    def check_distinct(self, entries: list[_Entry]) -> None:
        seen: dict[str, int] = {}
        for e in entries:
            if e.method == "GET" or e.method == "HEAD" or (e.method == "POST" and e.existing):
                continue
            ident = e.target_id if e.method in ("POST", "PUT") else e.url.id
            if ident is None:
                continue
            key = f"{e.url.resource_type}/{ident}"
            if key in seen:
                raise InvalidResource(
                    f"Bundle.entry[{seen[key]}] and Bundle.entry[{e.index}] both change {key}"
                )
            seen[key] = e.index


def _literal_targets(entries: list[_Entry]) -> list[tuple[str, str]]:
    """``(type, id)`` of every entry that names its target (PUT, PATCH, DELETE Type/id)."""
    return [
        (e.url.resource_type, e.url.id)
        for e in entries
        if e.method in ("PUT", "PATCH", "DELETE") and e.url.resource_type and e.url.id
    ]


def _decided_targets(entries: list[_Entry]) -> list[tuple[str, str]]:
    """``(type, id)`` of every POST and PUT target decided before writing."""
    return [
        (e.url.resource_type, e.target_id)
        for e in entries
        if e.method in ("POST", "PUT") and e.url.resource_type and e.target_id and not e.existing
    ]


def _tag(exc: HeliosError, index: int) -> HeliosError:
    exc.message = f"Bundle.entry[{index}]: {exc.message}"
    exc.args = (exc.message,)
    return exc


def _check_full_urls(entries: list[_Entry]) -> None:
    """A ``fullUrl`` names one entry: a second one would silently rebind references."""
    seen: dict[str, int] = {}
    for e in entries:
        if e.full_url:
            if e.full_url in seen:
                raise InvalidResource(
                    f"Bundle.entry[{seen[e.full_url]}] and Bundle.entry[{e.index}] have the "
                    f"same fullUrl {e.full_url}"
                )
            seen[e.full_url] = e.index


def process_bundle(
    backend: BundleBackend, ctx: TenantContext, bundle: dict[str, Any]
) -> dict[str, Any]:
    """Process a transaction or batch Bundle; returns the response Bundle."""
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise InvalidResource("a transaction needs a Bundle resource")
    check_json(bundle, "the Bundle")
    kind = bundle.get("type")
    if kind not in ("transaction", "batch"):
        raise InvalidResource(f"Bundle.type must be transaction or batch, not {brief(kind)}")
    ctx.check(Operation.TRANSACTION)
    entries = _parse_entries(bundle)
    if kind == "transaction":
        _check_full_urls(entries)
    ordered = sorted(entries, key=lambda e: (_ORDER[e.method], e.index))
    responses: list[dict[str, Any] | None] = [None] * len(entries)
    processor = _Processor(backend, ctx, batch=kind == "batch")
    if kind == "transaction":
        with backend.write_session(ctx) as s:
            current = None
            try:
                lock = getattr(backend, "op_lock", None)
                if lock is not None:  # lock the literal targets up front, in a fixed order
                    lock(s, _literal_targets(entries))
                for e in ordered:
                    current = e
                    if e.method == "DELETE":
                        responses[e.index] = processor.run(s, e)
                for e in ordered:
                    current = e
                    processor.decide_target(s, e)
                current = None
                if lock is not None:  # and the decided ones (new ids, conditional matches)
                    lock(s, _decided_targets(entries))
                processor.check_distinct(entries)
                for e in ordered:
                    current = e
                    if e.method != "DELETE":
                        responses[e.index] = processor.run(s, e)
            except HeliosError as exc:
                raise (_tag(exc, current.index) if current is not None else exc) from None
    else:
        for e in ordered:
            session = backend.read_session if e.method in ("GET", "HEAD") else backend.write_session

            def run(e: _Entry = e, session: Any = session) -> dict[str, Any]:
                with session(ctx) as s:
                    return processor.run(s, e)

            # (a search needing a ValueSet expansion not cached yet caches it, then reruns)
            expanding = getattr(backend, "_expanding", None)
            try:
                responses[e.index] = expanding(ctx, run) if expanding else run()
            except HeliosError as exc:
                responses[e.index] = _error_response(exc)
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "type": f"{kind}-response",
        "entry": responses,
    }
