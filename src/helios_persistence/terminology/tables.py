"""The terminology tables of a SQL store: closure maintenance and the expansion cache.

Written once for every SQL backend against :class:`TermDB` (``?`` placeholders; see
:mod:`.connections` for the SQLite and PostgreSQL bindings), always inside the caller's
transaction:

* :func:`on_write` — a CodeSystem or ValueSet was created, updated or deleted: rebuild that
  CodeSystem's rows of ``term_closure`` and drop every cached expansion that used it;
* :func:`prepare_query` — before a search runs: resolve each ``:in``/``:not-in`` ValueSet
  (url, ``url|version`` or ``ValueSet/id``) to the literal reference its cached expansion is
  stored under, expanding and caching it first in a write transaction (a read transaction
  raises :class:`ExpansionNeeded`, and the store retries after caching it). On PostgreSQL a
  read transaction leaves that to the search statement itself (``helios_valueset_key``,
  migration 012, raising the same two errors), which saves two round trips per search;
* :class:`StoreSource` — the stored CodeSystems and ValueSets, for :mod:`.expand`.
"""

from __future__ import annotations

import json
import time
from dataclasses import fields, replace
from typing import Any, Protocol

from helios_persistence import ir
from helios_persistence.errors import TerminologyError
from helios_persistence.terminology.expand import Expansion, expand_valueset, split_canonical
from helios_persistence.terminology.model import CodeSystemModel

__all__ = [
    "TERMINOLOGY_TYPES",
    "ExpansionNeeded",
    "StoreSource",
    "TermDB",
    "cache_expansion",
    "cached_expansion",
    "ensure_expansion",
    "is_cached",
    "load_valueset",
    "on_write",
    "prepare_query",
    "rebuild_closure",
    "resolve_valueset",
]

TERMINOLOGY_TYPES = frozenset({"CodeSystem", "ValueSet"})
_EXPANSION_TABLES = ("term_expansion", "term_expansion_state", "term_expansion_dep")


class TermDB(Protocol):
    """A store transaction as the terminology tables need it (``?`` placeholders)."""

    writable: bool

    def rows(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]: ...

    def run(self, sql: str, params: tuple[Any, ...]) -> None: ...

    def lock(self, tenant: str) -> None: ...

    def insert_many(
        self, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]
    ) -> None: ...


class ExpansionNeeded(Exception):
    """A search in a read transaction needs ValueSet expansions that are not cached yet."""

    def __init__(self, references: list[str]) -> None:
        super().__init__(", ".join(references))
        self.references = references


def _decode(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else json.loads(str(value))


class StoreSource:
    """The live CodeSystems and ValueSets of one tenant (by the ``url`` parameter's index)."""

    #: the live resources of a kind with a canonical url, oldest first, with their version
    _LOCATE = (
        "SELECT r.id, v.code FROM resources r LEFT JOIN idx_token v ON v.tenant = r.tenant "
        "AND v.type = r.type AND v.id = r.id AND v.param = 'version' "
        "WHERE r.tenant = ? AND r.type = ? AND r.deleted = 0 "
        "AND r.id IN (SELECT u.id FROM idx_uri u WHERE u.tenant = ? AND u.type = ? "
        "AND u.param = 'url' AND u.uri = ?) ORDER BY r.last_updated"
    )
    _BY_ID = "SELECT json FROM resources WHERE tenant = ? AND type = ? AND id = ? AND deleted = 0"
    _EXISTS = "SELECT 1 FROM resources WHERE tenant = ? AND type = ? AND id = ? AND deleted = 0"

    def __init__(self, db: TermDB, tenant: str) -> None:
        self.db, self.tenant = db, tenant
        self._models: dict[tuple[str, str | None], CodeSystemModel | None] = {}

    def locate(self, kind: str, url: str, version: str | None) -> str | None:
        """The id of the ``kind`` resource with ``url`` (and ``version``; the one stored last
        when none is given), read from the index without decoding any resource."""
        rows = self.db.rows(self._LOCATE, (self.tenant, kind, self.tenant, kind, url))
        if version is not None:
            rows = [r for r in rows if r[1] == version]
        return str(rows[-1][0]) if rows else None

    def exists(self, kind: str, id: str) -> bool:
        return bool(self.db.rows(self._EXISTS, (self.tenant, kind, id)))

    def find(self, kind: str, url: str, version: str | None) -> dict[str, Any] | None:
        id = self.locate(kind, url, version)
        return None if id is None else self.resource(kind, id)

    def resource(self, kind: str, id: str) -> dict[str, Any] | None:
        rows = self.db.rows(self._BY_ID, (self.tenant, kind, id))
        return _decode(rows[0][0]) if rows else None

    def codesystem(self, url: str, version: str | None = None) -> CodeSystemModel | None:
        key = (url, version)
        if key not in self._models:
            found = self.find("CodeSystem", url, version)
            self._models[key] = None if found is None else CodeSystemModel.from_resource(found)
        return self._models[key]

    def valueset(self, url: str, version: str | None = None) -> dict[str, Any] | None:
        return self.find("ValueSet", url, version)


# -- writes -------------------------------------------------------------------------------------
def rebuild_closure(db: TermDB, tenant: str, id: str, resource: dict[str, Any] | None) -> int:
    """Replace the closure rows of CodeSystem ``id`` (``resource`` None: deleted); returns
    how many rows it now has."""
    db.run("DELETE FROM term_closure WHERE tenant = ? AND source_id = ?", (tenant, id))
    if resource is None or not isinstance(resource.get("url"), str):
        return 0
    model = CodeSystemModel.from_resource(resource)
    rows = [(tenant, id, model.url, a, d, n) for a, d, n in model.closure()]
    if rows:
        columns = ("tenant", "source_id", "system", "ancestor", "descendant", "distance")
        db.insert_many("term_closure", columns, rows)
    return len(rows)


def drop_expansions(db: TermDB, tenant: str, keys: list[str]) -> None:
    for key in keys:
        for table in _EXPANSION_TABLES:
            db.run(f"DELETE FROM {table} WHERE tenant = ? AND valueset = ?", (tenant, key))


def invalidate(db: TermDB, tenant: str, kind: str, urls: set[str]) -> None:
    """Drop every cached expansion that used a ``kind`` resource of one of ``urls``."""
    keys: set[str] = set()
    for url in urls:
        keys.update(
            str(row[0])
            for row in db.rows(
                "SELECT DISTINCT valueset FROM term_expansion_dep "
                "WHERE tenant = ? AND kind = ? AND url = ?",
                (tenant, kind, url),
            )
        )
    drop_expansions(db, tenant, sorted(keys))


def on_write(
    db: TermDB,
    tenant: str,
    resource_type: str,
    id: str,
    resource: dict[str, Any] | None,
    previous: str | None,
) -> None:
    """A CodeSystem or ValueSet was written (``resource`` None: deleted; ``previous``: the
    JSON of the version it replaces): keep the closure and the expansion cache true."""
    db.lock(tenant)
    urls = {
        str(r["url"])
        for r in (resource, json.loads(previous) if previous else None)
        if r is not None and isinstance(r.get("url"), str)
    }
    if resource_type == "CodeSystem":
        rebuild_closure(db, tenant, id, resource)
    else:
        drop_expansions(db, tenant, [f"ValueSet/{id}"])
    invalidate(db, tenant, resource_type, urls)


# -- expansions ---------------------------------------------------------------------------------
def resolve_valueset(source: StoreSource, text: str) -> str:
    """``ValueSet/<id>`` of the ValueSet a search value names: a url, ``url|version`` or a
    literal reference ``ValueSet/<id>`` (TerminologyError when there is none)."""
    if text.startswith("ValueSet/") and "|" not in text:
        id: str | None = text[len("ValueSet/") :]
        if not source.exists("ValueSet", str(id)):
            id = None
    else:
        id = source.locate("ValueSet", *split_canonical(text))
    if id is None:
        raise TerminologyError(f"ValueSet {text} is not stored", issue_code="not-found")
    return f"ValueSet/{id}"


def load_valueset(source: StoreSource, key: str) -> dict[str, Any]:
    vs = source.resource("ValueSet", key[len("ValueSet/") :])
    if vs is None:  # pragma: no cover - resolved in the same transaction
        raise TerminologyError(f"ValueSet {key} is not stored", issue_code="not-found")
    return vs


def cached_expansion(db: TermDB, tenant: str, key: str) -> dict[tuple[str, str], str | None] | None:
    """The cached codes of ValueSet ``key`` (None: not cached)."""
    state = db.rows(
        "SELECT total FROM term_expansion_state WHERE tenant = ? AND valueset = ?", (tenant, key)
    )
    if not state:
        return None
    rows = db.rows(
        "SELECT system, code, display FROM term_expansion WHERE tenant = ? AND valueset = ?",
        (tenant, key),
    )
    return {(str(s), str(c)): d for s, c, d in rows}


def cache_expansion(db: TermDB, tenant: str, key: str) -> tuple[dict[str, Any], Expansion]:
    """Expand ValueSet ``key`` and store the expansion with what it used (replacing any);
    returns the ValueSet and its expansion."""
    source = StoreSource(db, tenant)
    vs = load_valueset(source, key)
    expansion = expand_valueset(vs, source)
    drop_expansions(db, tenant, [key])
    codes = [(tenant, key, s, c, d) for (s, c), d in sorted(expansion.codes.items())]
    if codes:
        db.insert_many("term_expansion", ("tenant", "valueset", "system", "code", "display"), codes)
    deps = [(tenant, key, kind, url) for kind, url in sorted(expansion.used)]
    if deps:
        db.insert_many("term_expansion_dep", ("tenant", "valueset", "kind", "url"), deps)
    db.run(
        "INSERT INTO term_expansion_state (tenant, valueset, url, version, total, expanded_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (tenant, key, expansion.url, expansion.version, len(codes), time.time_ns() // 1000),
    )
    return vs, expansion


def ensure_expansion(db: TermDB, tenant: str, key: str) -> None:
    """Cache the expansion of ValueSet ``key`` unless it is (in a write transaction, under
    the tenant's terminology lock: a concurrent expansion or write goes first)."""
    if is_cached(db, tenant, key):
        return
    db.lock(tenant)
    if not is_cached(db, tenant, key):
        cache_expansion(db, tenant, key)


def is_cached(db: TermDB, tenant: str, key: str) -> bool:
    return bool(
        db.rows(
            "SELECT 1 FROM term_expansion_state WHERE tenant = ? AND valueset = ?", (tenant, key)
        )
    )


def prepare_query(
    db: TermDB, tenant: str, query: ir.Query, *, source: StoreSource | None = None
) -> ir.Query:
    """``query`` with every ``:in``/``:not-in`` ValueSet resolved to ``ValueSet/<id>``,
    whose expansion is cached (see the module docstring); ``source`` finds the ValueSets
    (the store's own by default; an export's in ``analytics.terminology``)."""
    if query.where is None or not _has_valueset(query.where):
        return query
    if getattr(db, "resolves_in_statement", False) and not db.writable:
        return query  # PostgreSQL: the statement resolves it (migration 012)
    source = source or StoreSource(db, tenant)
    resolved: dict[str, str] = {}
    missing: list[str] = []

    def resolve(node: ir.Terminology) -> ir.Terminology:
        if node.code not in resolved:
            key = resolve_valueset(source, node.code)
            if db.writable:
                ensure_expansion(db, tenant, key)
            elif not is_cached(db, tenant, key):
                missing.append(key)
            resolved[node.code] = key
        return replace(node, code=resolved[node.code])

    where = _rewrite(query.where, resolve)
    if missing:
        raise ExpansionNeeded(missing)
    return replace(query, where=where)


def _has_valueset(node: ir.Node) -> bool:
    if isinstance(node, ir.Terminology):
        return node.op in (ir.TerminologyOp.IN, ir.TerminologyOp.NOT_IN)
    return any(_has_valueset(c) for c in ir.children(node))


def _rewrite(node: Any, fn: Any) -> Any:
    if isinstance(node, ir.Terminology):
        return fn(node) if node.op in (ir.TerminologyOp.IN, ir.TerminologyOp.NOT_IN) else node
    if isinstance(node, ir.Node):
        changes = {}
        for f in fields(node):
            value = getattr(node, f.name)
            new = _rewrite(value, fn)
            if new is not value:
                changes[f.name] = new
        return replace(node, **changes) if changes else node
    if isinstance(node, tuple):
        items = tuple(_rewrite(v, fn) for v in node)
        return node if all(a is b for a, b in zip(items, node, strict=True)) else items
    return node
