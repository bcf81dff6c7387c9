"""Running a compiled search on a SQL backend: page, total, includes, next link.

Shared by the SQL backends; each supplies a :class:`SqlDriver` — how its placeholders look,
how a list of ids is bound (SQLite: a JSON array read with ``json_each``; PostgreSQL: an
array with ``= ANY``), how the ``json`` column decodes, and how a statement runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from helios_persistence import ir
from helios_persistence.compilers.base import DEFAULT_PAGE_SIZE, BaseCompiler, encode_cursor
from helios_persistence.parsing import Limits, parse
from helios_persistence.passes import relativize_references
from helios_persistence.registry import Registry
from helios_persistence.results import SearchResult
from helios_persistence.summary import apply as apply_summary

__all__ = ["MAX_INCLUDE_ROUNDS", "SqlDriver", "run_search"]

#: how many ``:iterate`` rounds an include may take before it stops (cycles end earlier)
MAX_INCLUDE_ROUNDS = 8

Row = Sequence[Any]


@dataclass(frozen=True)
class SqlDriver:
    """What :func:`run_search` needs from a backend."""

    compiler: BaseCompiler
    #: run a statement with named parameters; returns its rows
    execute: Callable[[str, dict[str, Any]], Iterable[Row]]
    #: the placeholder of a named parameter (``:name``, ``%(name)s``)
    placeholder: Callable[[str], str]
    #: ``column`` is one of the bound ids (the parameter ``ids``)
    in_ids: Callable[[str], str]
    #: the value bound to ``ids``
    ids: Callable[[list[str]], Any]
    #: a ``json`` column value as a resource
    decode: Callable[[Any], dict[str, Any]]


def run_search(
    driver: SqlDriver,
    tenant: str,
    query: str | ir.Query,
    registry: Registry,
    *,
    limits: Limits | None = None,
    base_url: str | None = None,
) -> SearchResult:
    """Parse (if needed), compile and run ``query`` for ``tenant``.

    ``base_url`` is the store's own base: absolute references to it match local ones."""
    q = query if isinstance(query, ir.Query) else parse(query, registry=registry, limits=limits)
    q = relativize_references(q, base_url)
    compiled = driver.compiler.compile(q)
    params = {**compiled.params, "tenant": tenant}
    result = SearchResult(compiled=compiled.text)
    if q.total is ir.TotalMode.ACCURATE or q.summary is ir.Summary.COUNT:
        rows = list(driver.execute(compiled.count_text, params))
        result.total = int(str(rows[0][0])) if rows else 0
    if q.summary is ir.Summary.COUNT or q.count == 0:
        return result
    page = list(driver.execute(compiled.text, params))
    page_size = q.count if q.count is not None else DEFAULT_PAGE_SIZE
    more = len(page) > page_size
    page = page[:page_size]
    matches = [driver.decode(row[4]) for row in page]
    if more:
        result.next = next_page(q, page, compiled.paging, page_size)
    if q.include:
        result.included = _Includes(driver, tenant).run(q, matches)
    result.resources = [apply_summary(r, q.summary, q.elements) for r in matches]
    return result


def next_page(q: ir.Query, rows: list[Row], paging: str, page_size: int) -> str:
    """The query string of the next page: a keyset cursor, or the next offset (``rows``:
    the page's ``type, id, version, last_updated, json`` rows)."""
    from helios_persistence.parsing.render import render

    if paging == "keyset":
        last = rows[-1]
        key: list[Any] = []
        for sort in q.sort:
            key.append(last[1] if sort.param == "_id" else last[3])
        if q.resource_type is None or not any(s.param == "_id" for s in q.sort):
            key.extend([last[0], last[1]])
        return render(replace(q, cursor=encode_cursor(key), offset=None))
    return render(replace(q, offset=(q.offset or 0) + page_size, cursor=None))


class _Includes:
    """``_include``/``_revinclude`` of one page, following ``:iterate`` to a fixpoint."""

    def __init__(self, driver: SqlDriver, tenant: str) -> None:
        self.driver = driver
        self.tenant = tenant
        p = driver.placeholder
        self.fetch_sql = (
            "SELECT type, id, version, last_updated, json FROM resources "
            f"WHERE tenant = {p('tenant')} AND type = {p('type')} AND deleted = 0 "
            f"AND {driver.in_ids('id')}"
        )

    def sql(self, reverse: bool, any_param: bool, target: bool) -> str:
        """The statement for one include shape: no ``(:x IS NULL OR ...)`` tricks, so the
        planner can use the reference indexes for each shape."""
        p = self.driver.placeholder
        if reverse:
            select, match = "i.type, i.id", self.driver.in_ids("i.target_id")
            where = [f"i.target_type = {p('target')}"]
        else:
            select, match = "i.target_type, i.target_id", self.driver.in_ids("i.id")
            where = ["i.target_type IS NOT NULL", "i.target_id IS NOT NULL"]
            if target:
                where.append(f"i.target_type = {p('target')}")
        if not any_param:
            where.append(f"i.param = {p('param')}")
        conditions = " AND ".join(
            [f"i.tenant = {p('tenant')}", f"i.type = {p('source')}", *where, match]
        )
        return f"SELECT DISTINCT {select} FROM idx_reference AS i WHERE {conditions}"

    def run(self, q: ir.Query, matches: list[dict[str, Any]]) -> list[dict[str, Any]]:
        seen = {(r["resourceType"], r["id"]) for r in matches}
        frontier = list(seen)
        included: list[dict[str, Any]] = []
        for round_number in range(MAX_INCLUDE_ROUNDS):
            wanted: set[tuple[str, str]] = set()
            for inc in q.include:
                if round_number > 0 and not inc.iterate:
                    continue
                wanted |= self.follow(inc, frontier)
            new = sorted(wanted - seen)
            if not new:
                break
            fetched = self.fetch(new)
            seen |= set(new)
            included.extend(fetched)
            frontier = [(r["resourceType"], r["id"]) for r in fetched]
        return included

    def _params(self, source: str, inc: ir.Include, target: str | None, ids: list[str]) -> Any:
        return {
            "tenant": self.tenant, "source": source, "param": inc.param, "target": target,
            "ids": self.driver.ids(ids),
        }  # fmt: skip

    def follow(self, inc: ir.Include, frontier: list[tuple[str, str]]) -> set[tuple[str, str]]:
        by_type: dict[str, list[str]] = {}
        for rtype, rid in frontier:
            by_type.setdefault(rtype, []).append(rid)
        found: set[tuple[str, str]] = set()
        execute = self.driver.execute
        if inc.reverse:
            for rtype, ids in by_type.items():
                if inc.target_type not in (None, rtype):
                    continue
                sql = self.sql(True, inc.param == "*", True)
                params = self._params(inc.source_type, inc, rtype, ids)
                found |= {(str(t), str(i)) for t, i in execute(sql, params)}
            return found
        sources = (
            by_type.items()
            if inc.source_type == "*"
            else [(inc.source_type, by_type.get(inc.source_type, []))]
        )
        for source, ids in sources:
            if not ids:
                continue
            sql = self.sql(False, inc.param == "*", inc.target_type is not None)
            params = self._params(source, inc, inc.target_type, ids)
            found |= {(str(t), str(i)) for t, i in execute(sql, params)}
        return found

    def fetch(self, keys: list[tuple[str, str]]) -> list[dict[str, Any]]:
        by_type: dict[str, list[str]] = {}
        for rtype, rid in keys:
            by_type.setdefault(rtype, []).append(rid)
        out: list[dict[str, Any]] = []
        for rtype, ids in sorted(by_type.items()):
            params = {"tenant": self.tenant, "type": rtype, "ids": self.driver.ids(ids)}
            out.extend(
                self.driver.decode(row[4]) for row in self.driver.execute(self.fetch_sql, params)
            )
        return out
