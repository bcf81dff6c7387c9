"""Run a search on one SQLite connection: compiled page query, total, includes, paging."""

from __future__ import annotations

import json
from typing import Any

import apsw

from helios_persistence import ir
from helios_persistence.compilers.sql import DEFAULT_PAGE_SIZE, encode_cursor
from helios_persistence.compilers.sqlite import compiler
from helios_persistence.parsing import Limits, parse
from helios_persistence.passes import relativize_references
from helios_persistence.registry import Registry
from helios_persistence.results import SearchResult
from helios_persistence.summary import apply as apply_summary

__all__ = ["MAX_INCLUDE_ROUNDS", "execute_search"]

#: how many ``:iterate`` rounds an include may take before it stops (cycles end earlier)
MAX_INCLUDE_ROUNDS = 8

def _include_sql(reverse: bool, any_param: bool, target: bool) -> str:
    """The statement for one include shape: no ``(:x IS NULL OR ...)`` tricks, so the
    planner can use the reference indexes for each shape."""
    if reverse:
        select, match = "i.type, i.id", "i.target_id IN (SELECT value FROM json_each(:ids))"
        where = ["i.target_type = :target"]
    else:
        select, match = "i.target_type, i.target_id", "i.id IN (SELECT value FROM json_each(:ids))"
        where = ["i.target_type IS NOT NULL", "i.target_id IS NOT NULL"]
        if target:
            where.append("i.target_type = :target")
    if not any_param:
        where.append("i.param = :param")
    conditions = " AND ".join(["i.tenant = :tenant", "i.type = :source", *where, match])
    return f"SELECT DISTINCT {select} FROM idx_reference AS i WHERE {conditions}"


_FETCH = """
SELECT type, id, version, last_updated, json FROM resources
WHERE tenant = :tenant AND type = :type AND deleted = 0
  AND id IN (SELECT value FROM json_each(:ids))
"""


def execute_search(
    conn: apsw.Connection,
    tenant: str,
    query: str | ir.Query,
    registry: Registry,
    *,
    limits: Limits | None = None,
    base_url: str | None = None,
) -> SearchResult:
    """Parse (if needed), compile and run ``query`` for ``tenant`` on ``conn``.

    ``base_url`` is the store's own base: absolute references to it match local ones."""
    q = query if isinstance(query, ir.Query) else parse(query, registry=registry, limits=limits)
    q = relativize_references(q, base_url)
    compiled = compiler.compile(q)
    params = {**compiled.params, "tenant": tenant}
    result = SearchResult(compiled=compiled.text)
    if q.total is ir.TotalMode.ACCURATE or q.summary is ir.Summary.COUNT:
        (count,) = conn.execute(compiled.count_text, params).fetchall()[0]
        result.total = int(str(count))
    if q.summary is ir.Summary.COUNT or q.count == 0:
        return result
    rows = conn.execute(compiled.text, params).fetchall()
    page_size = q.count if q.count is not None else DEFAULT_PAGE_SIZE
    more = len(rows) > page_size
    rows = rows[:page_size]
    matches = [json.loads(str(row[4])) for row in rows]
    if more:
        result.next = _next_page(q, rows, compiled.paging, page_size)
    if q.include:
        result.included = _includes(conn, tenant, q, matches)
    result.resources = [apply_summary(r, q.summary, q.elements) for r in matches]
    return result


def _next_page(q: ir.Query, rows: list[Any], paging: str, page_size: int) -> str:
    """The query string of the next page: a keyset cursor, or the next offset."""
    from helios_persistence.parsing.render import render

    if paging == "keyset":
        last = rows[-1]
        key: list[Any] = []
        for sort in q.sort:
            key.append(last[1] if sort.param == "_id" else last[3])
        if q.resource_type is None or not any(s.param == "_id" for s in q.sort):
            key.extend([last[0], last[1]])
        return render(_replace(q, cursor=encode_cursor(key), offset=None))
    return render(_replace(q, offset=(q.offset or 0) + page_size, cursor=None))


def _replace(q: ir.Query, **changes: Any) -> ir.Query:
    from dataclasses import replace

    return replace(q, **changes)


def _includes(
    conn: apsw.Connection, tenant: str, q: ir.Query, matches: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Resources named by ``_include``/``_revinclude``, following ``:iterate`` to a fixpoint."""
    seen = {(r["resourceType"], r["id"]) for r in matches}
    frontier = list(seen)
    included: list[dict[str, Any]] = []
    for round_number in range(MAX_INCLUDE_ROUNDS):
        wanted: set[tuple[str, str]] = set()
        for inc in q.include:
            if round_number > 0 and not inc.iterate:
                continue
            wanted |= _follow(conn, tenant, inc, frontier)
        new = sorted(wanted - seen)
        if not new:
            break
        fetched = _fetch(conn, tenant, new)
        seen |= set(new)
        included.extend(fetched)
        frontier = [(r["resourceType"], r["id"]) for r in fetched]
    return included


def _follow(
    conn: apsw.Connection, tenant: str, inc: ir.Include, frontier: list[tuple[str, str]]
) -> set[tuple[str, str]]:
    by_type: dict[str, list[str]] = {}
    for rtype, rid in frontier:
        by_type.setdefault(rtype, []).append(rid)
    found: set[tuple[str, str]] = set()
    params: dict[str, str | None]
    if inc.reverse:
        for rtype, ids in by_type.items():
            if inc.target_type not in (None, rtype):
                continue
            params = {
                "tenant": tenant, "source": inc.source_type, "param": inc.param,
                "target": rtype, "ids": json.dumps(ids),
            }  # fmt: skip
            sql = _include_sql(True, inc.param == "*", True)
            found |= {(t, i) for t, i in conn.execute(sql, params)}
        return found
    sources = (
        by_type.items()
        if inc.source_type == "*"
        else [(inc.source_type, by_type.get(inc.source_type, []))]
    )
    for source, ids in sources:
        if not ids:
            continue
        params = {
            "tenant": tenant, "source": source, "param": inc.param,
            "target": inc.target_type, "ids": json.dumps(ids),
        }  # fmt: skip
        sql = _include_sql(False, inc.param == "*", inc.target_type is not None)
        found |= {(t, i) for t, i in conn.execute(sql, params)}
    return found


def _fetch(conn: apsw.Connection, tenant: str, keys: list[tuple[str, str]]) -> list[dict[str, Any]]:
    by_type: dict[str, list[str]] = {}
    for rtype, rid in keys:
        by_type.setdefault(rtype, []).append(rid)
    out: list[dict[str, Any]] = []
    for rtype, ids in sorted(by_type.items()):
        params = {"tenant": tenant, "type": rtype, "ids": json.dumps(ids)}
        out.extend(json.loads(str(row[4])) for row in conn.execute(_FETCH, params))
    return out
