"""Running a planned search on Elasticsearch: the page, its total, its includes, next link.

The page is one request (the compiled body with the tenant set, one hit more than the page
size to know whether a next page exists); the next page continues after the last hit's sort
values (``search_after``, carried in ``_cursor``). ``_include``/``_revinclude`` follow the
SQL backends' loop (:class:`helios_persistence.backends.sql.search._Includes`: ``:iterate``
to a fixpoint), each step one request.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from helios_persistence import ir
from helios_persistence.backends.sql.search import _Includes
from helios_persistence.compilers.base import encode_cursor
from helios_persistence.compilers.elasticsearch import fetch_body, include_body, with_tenant
from helios_persistence.compilers.elasticsearch_fields import reference_key
from helios_persistence.errors import InvalidSearch
from helios_persistence.pipeline import Plan
from helios_persistence.results import SearchResult
from helios_persistence.subsetting import apply as apply_summary
from helios_persistence.tenancy import Operation, TenantContext, compartment_params

if TYPE_CHECKING:
    from helios_persistence.backends.elasticsearch.store import ElasticsearchStore

__all__ = ["run_search"]

#: ids per ``terms`` query of an include step
_CHUNK = 10_000


def _request(store: ElasticsearchStore, body: dict[str, Any]) -> dict[str, Any]:
    from elasticsearch import ApiError

    try:
        response: dict[str, Any] = store._call(store.client.search, index=store.alias, **body)
    except ApiError as exc:
        if exc.meta.status == 400:
            raise InvalidSearch(f"Elasticsearch refused the search: {exc}") from None
        raise
    return response


def run_search(store: ElasticsearchStore, ctx: TenantContext, plan: Plan) -> SearchResult:
    q, compiled = plan.effective, plan.compiled
    assert compiled.body is not None
    body = with_tenant(compiled.body, store.tenant_of(ctx))
    response = _request(store, body)
    result = SearchResult(compiled=str(body))
    if body.get("track_total_hits"):
        result.total = int(response["hits"]["total"]["value"])
    if q.summary is ir.Summary.COUNT or q.count == 0:
        return result
    hits = response["hits"]["hits"]
    page_size = store.compiler.page_size(q)
    more = len(hits) > page_size
    hits = hits[:page_size]
    matches = [hit["_source"]["resource"] for hit in hits]
    if more:
        cursor = encode_cursor(list(hits[-1]["sort"]))
        from helios_persistence.parsing.render import render

        result.next = render(replace(plan.query, cursor=cursor, offset=None))
    if q.include:
        result.included = _EsIncludes(store, ctx).run(q, matches)
    result.resources = [apply_summary(r, q.summary, q.elements) for r in matches]
    return result


class _EsIncludes(_Includes):
    """The SQL backends' include loop over Elasticsearch requests."""

    def __init__(self, store: ElasticsearchStore, ctx: TenantContext) -> None:
        self.store = store
        self.ctx = ctx
        self.tenant = store.tenant_of(ctx)

    def _hits(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        body = {**body, "size": 10_000, "sort": [{"type": "asc"}, {"id": "asc"}]}
        out: list[dict[str, Any]] = []
        while True:
            hits = _request(self.store, body)["hits"]["hits"]
            out.extend(hits)
            if len(hits) < body["size"]:
                return out
            body = {**body, "search_after": hits[-1]["sort"]}

    def _references(
        self, inc: ir.Include, source: str, target: str | None, ids: list[str]
    ) -> set[tuple[str, str]]:
        found: set[tuple[str, str]] = set()
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            if inc.reverse:
                assert target is not None
                body = include_body(self.tenant, source, inc.param, target, chunk)
                found |= {(source, h["fields"]["id"][0]) for h in self._hits(body)}
                continue
            for hit in self._hits(fetch_body(self.tenant, source, chunk, ["refs"])):
                for param, rtype, rid in hit["_source"].get("refs") or ():
                    if inc.param in ("*", param) and target in (None, rtype):
                        found.add((rtype, rid))
        return found

    def fetch(self, keys: list[tuple[str, str]]) -> list[dict[str, Any]]:
        by_type: dict[str, list[str]] = {}
        for rtype, rid in keys:
            by_type.setdefault(rtype, []).append(rid)
        perms = self.ctx.permissions
        out: list[dict[str, Any]] = []
        for rtype, ids in sorted(by_type.items()):
            if not perms.allows(Operation.SEARCH, rtype):
                continue
            for start in range(0, len(ids), _CHUNK):
                body = fetch_body(self.tenant, rtype, ids[start : start + _CHUNK], ["resource"])
                if perms.compartment is not None:
                    body["query"]["bool"]["filter"].append(_in_compartment(perms.compartment,
                                                                           rtype))  # fmt: skip
                out.extend(h["_source"]["resource"] for h in self._hits(body))
        return out


def _in_compartment(compartment: tuple[str, str], rtype: str) -> dict[str, Any]:
    """Resources of ``rtype`` in the compartment (the owner itself, or referencing it by one
    of the compartment's parameters)."""
    kind, owner = compartment
    should: list[dict[str, Any]] = []
    if rtype == kind:
        should.append({"term": {"id": owner}})
    keys = [reference_key(p, {"t": kind, "i": owner}) for p in compartment_params(kind, rtype)]
    if keys:
        should.append({"terms": {"ref": keys}})
    if not should:
        return {"match_none": {}}
    return {"bool": {"should": should, "minimum_should_match": 1}}
