"""Running a planned search on a SQL backend: page, total, includes, next link.

Shared by the SQL backends. The statements all come from the dialect's compiler (the page and
count statements of :class:`~helios_persistence.pipeline.Plan`, the include and fetch
statements of :class:`~helios_persistence.compilers.sql.SQLCompiler`); a backend supplies a
:class:`SqlDriver`: how a statement runs and how the ``json`` column decodes. Page rows are
read by the compiler's column names.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

from helios_persistence import ir
from helios_persistence.compilers.base import encode_cursor
from helios_persistence.compilers.sql import SQLCompiler
from helios_persistence.pipeline import Plan
from helios_persistence.results import SearchResult
from helios_persistence.storage.operations import to_stored
from helios_persistence.storage.types import StoredResource
from helios_persistence.subsetting import apply as apply_summary

__all__ = ["MAX_INCLUDE_ROUNDS", "PageRow", "SqlDriver", "documents", "run_search"]

#: how many ``:iterate`` rounds an include may take before it stops (cycles end earlier)
MAX_INCLUDE_ROUNDS = 8

Row = Sequence[Any]


class PageRow(NamedTuple):
    """One row of a page or fetch statement (``SQLCompiler.PAGE_COLUMNS``, in order)."""

    type: str
    id: str
    version: Any
    last_updated: Any
    json: Any


assert PageRow._fields == SQLCompiler.PAGE_COLUMNS


@dataclass(frozen=True)
class SqlDriver:
    """What :func:`run_search` needs from a backend."""

    compiler: SQLCompiler
    #: run a statement with named parameters; returns its rows
    execute: Callable[[str, dict[str, Any]], Iterable[Row]]
    #: a ``json`` column value as a resource
    decode: Callable[[Any], dict[str, Any]]
    #: a ``json`` column value as the stored text (FHIR decimals as written); given, the
    #: result's resources are read as :func:`~helios_persistence.storage.operations.to_stored`
    #: reads them for ``read`` and ``history`` (``SearchResult.stored``)
    text: Callable[[Any], str] | None = None
    #: run the search's last statement (a backend may end its read transaction in the same
    #: round trip); None: :attr:`execute`
    execute_last: Callable[[str, dict[str, Any]], Iterable[Row]] | None = None


def run_search(driver: SqlDriver, tenant: str, plan: Plan) -> SearchResult:
    """Run ``plan`` for ``tenant``: the page (one more row than asked, to know whether a next
    page exists), the total when asked for, the includes of the page."""
    q, compiled = plan.effective, plan.compiled
    params = {**compiled.params, "tenant": tenant}
    result = SearchResult(compiled=compiled.text)
    last = driver.execute_last or driver.execute
    count_only = q.summary is ir.Summary.COUNT or q.count == 0
    if q.total is ir.TotalMode.ACCURATE or q.summary is ir.Summary.COUNT:
        rows = list((last if count_only else driver.execute)(compiled.count_text, params))
        result.total = int(str(rows[0][0])) if rows else 0
    if count_only:
        return result
    separate_includes = bool(q.include) and not compiled.includes_inline
    rows = list((driver.execute if separate_includes else last)(compiled.text, params))
    included: list[Row] = []
    if compiled.includes_inline:  # the page's includes came too (compilers.sql_includes)
        included = [row[:-1] for row in rows if row[-1] is None]
        rows = [row[:-1] for row in rows if row[-1] is not None]
    page = [PageRow(*row) for row in rows]
    page_size = driver.compiler.page_size(q)
    more = len(page) > page_size
    page = page[:page_size]
    matches, result.stored_source = documents(driver, page)
    if more:
        result.next = next_page(plan.query, page, compiled.paging, page_size)
    if compiled.includes_inline:
        rows_in = [PageRow(*row) for row in included]
        result.included, included_stored = documents(driver, rows_in)
        result.included_stored = included_stored()
    elif q.include:
        includes = _Includes(driver, tenant)
        result.included, result.included_stored = includes.run(q, matches), includes.stored
    result.resources = [apply_summary(r, q.summary, q.elements) for r in matches]
    return result


def documents(
    driver: SqlDriver, rows: Sequence[PageRow]
) -> tuple[list[dict[str, Any]], Callable[[], list[StoredResource]]]:
    """The resources of page rows, and what gives the rows as stored (none when the driver
    gives no text); called only when they are read (``SearchResult.stored``)."""
    resources = [driver.decode(row.json) for row in rows]
    text = driver.text
    if text is None:
        return resources, list

    def stored() -> list[StoredResource]:
        return [
            to_stored(row.type, row.id, int(row.version), int(row.last_updated), text(row.json), r)
            for row, r in zip(rows, resources, strict=True)
        ]

    return resources, stored


def next_page(q: ir.Query, rows: list[PageRow], paging: str, page_size: int) -> str:
    """The query string of the next page of ``q`` (the query as asked): a keyset cursor, or
    the next offset."""
    from helios_persistence.parsing.render import render

    if paging == "keyset":
        last = rows[-1]
        key: list[Any] = [last.id if s.param == "_id" else last.last_updated for s in q.sort]
        if q.resource_type is None or not any(s.param == "_id" for s in q.sort):
            key.extend([last.type, last.id])
        return render(replace(q, cursor=encode_cursor(key), offset=None))
    return render(replace(q, offset=(q.offset or 0) + page_size, cursor=None))


class _Includes:
    """``_include``/``_revinclude`` of one page, following ``:iterate`` to a fixpoint."""

    def __init__(self, driver: SqlDriver, tenant: str) -> None:
        self.driver = driver
        self.tenant = tenant
        #: what :meth:`fetch` found, as stored (when the driver gives the text)
        self.stored: list[StoredResource] = []

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

    def _references(
        self, inc: ir.Include, source: str, target: str | None, ids: list[str]
    ) -> set[tuple[str, str]]:
        statement = self.driver.compiler.include_statement(
            inc.reverse, inc.param == "*", target is not None
        )
        params = {
            "tenant": self.tenant, "source": source, "param": inc.param, "target": target,
            "ids": self.driver.compiler.bind_ids(ids),
        }  # fmt: skip
        return {(str(t), str(i)) for t, i in self.driver.execute(statement, params)}

    def follow(self, inc: ir.Include, frontier: list[tuple[str, str]]) -> set[tuple[str, str]]:
        by_type: dict[str, list[str]] = {}
        for rtype, rid in frontier:
            by_type.setdefault(rtype, []).append(rid)
        found: set[tuple[str, str]] = set()
        if inc.reverse:
            for rtype, ids in by_type.items():
                if inc.target_type in (None, rtype):
                    found |= self._references(inc, inc.source_type, rtype, ids)
            return found
        sources = (
            by_type.items()
            if inc.source_type == "*"
            else [(inc.source_type, by_type.get(inc.source_type, []))]
        )
        for source, ids in sources:
            if ids:
                found |= self._references(inc, source, inc.target_type, ids)
        return found

    def fetch(self, keys: list[tuple[str, str]]) -> list[dict[str, Any]]:
        by_type: dict[str, list[str]] = {}
        for rtype, rid in keys:
            by_type.setdefault(rtype, []).append(rid)
        compiler = self.driver.compiler
        rows: list[PageRow] = []
        for rtype, ids in sorted(by_type.items()):
            params = {"tenant": self.tenant, "type": rtype, "ids": compiler.bind_ids(ids)}
            found = self.driver.execute(compiler.fetch_statement(), params)
            rows.extend(PageRow(*row) for row in found)
        resources, stored = documents(self.driver, rows)
        self.stored.extend(stored())
        return resources
