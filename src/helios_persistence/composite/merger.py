"""The merger: runs a :class:`~.router.Route` and makes one answer of it, on the primary.

Each routed part yields the set of ids its secondary matches (bounded by ``max_ids``); ids the
secondary's lag makes uncertain (``Part.recheck``) are decided by the primary instead; the
parts' sets are intersected (and a ``union`` part's alternatives united). The primary then
runs the query with the routed parts replaced by that id set: it alone fetches, sorts, pages,
counts ``_total`` and resolves includes, so the page, its order, ``_total`` and the ``next``
cursor are exactly the primary's. The strategies:

* ``primary-enriched``: every part answered by secondaries; the primary turns their ids into
  the page (resources, sort, includes);
* ``intersection``: the secondaries' ids ANDed with the parts the primary answers;
* ``union``: one ``Or``'s alternatives answered by different secondaries, their ids united;
* ``secondary-filtered``: a secondary matches more than ``max_ids``, but the primary's own
  parts match at most that many: the secondary only filters those candidates.

Past the bound (or when a secondary fails) the part runs on the primary (``on_bound`` /
``on_failure`` ``"primary"``) or the search fails with a clear error (``"error"``).
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import parse_qsl

from helios_persistence import ir
from helios_persistence.composite.errors import SecondaryUnavailable, TooManyIds
from helios_persistence.composite.router import Part, Route
from helios_persistence.errors import HeliosError
from helios_persistence.parsing.render import Unrenderable, render
from helios_persistence.results import SearchResult
from helios_persistence.tenancy import TenantContext

__all__ = ["Execution", "Merger", "PartRun", "id_predicate", "relink"]

#: the largest page asked of a store for ids (Elasticsearch's default result window)
ID_PAGE = 10_000


class _OverBound(Exception):
    """More ids than the bound."""


def id_predicate(ids: set[str] | frozenset[str]) -> ir.Predicate:
    """A predicate true exactly for the resources with one of ``ids`` (sorted, so equal sets
    compile alike); no id: a predicate true for none (``_id`` is never blank)."""
    if not ids:
        return ir.TokenMatch("_id", ir.TokenOp.EQ, None, "")
    matches = tuple(ir.TokenMatch("_id", ir.TokenOp.EQ, None, i) for i in sorted(ids))
    return matches[0] if len(matches) == 1 else ir.Or(matches)


@dataclass
class PartRun:
    """How one routed part was answered."""

    part: str
    backend: str
    strategy: str
    ids: int | None = None
    ms: float = 0.0
    note: str = ""


@dataclass
class Execution:
    """What a composite search did: the route, each routed part's run, the strategy used and
    the query the primary ran (its where, for ``explain``)."""

    route: Route
    runs: list[PartRun] = field(default_factory=list)
    strategy: str = "primary-only"
    final: ir.Query | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "strategy": self.strategy,
            "runs": [vars(r) for r in self.runs],
            "primary_query_parts": len(self.final.where.children)
            if self.final is not None and isinstance(self.final.where, ir.And)
            else int(self.final is not None and self.final.where is not None),
        }


class Merger:
    """Runs routes over ``primary`` and the ``secondaries`` (role → store)."""

    def __init__(
        self,
        primary: Any,
        secondaries: dict[str, Any],
        *,
        max_ids: int,
        on_bound: str,
        on_failure: str,
        report: Callable[[str, BaseException | None], None] = lambda role, error: None,
    ) -> None:
        self.primary = primary
        self.secondaries = secondaries
        self.max_ids = max_ids
        self.on_bound = on_bound
        self.on_failure = on_failure
        #: told of each secondary call's outcome (the health monitor's passive checks)
        self.report = report
        #: whether the primary's search takes ``as_asked`` (else its links are rewritten)
        op_search = getattr(primary, "op_search", None)
        self._links = callable(op_search) and "as_asked" in inspect.signature(op_search).parameters

    # -- ids from one backend -------------------------------------------------------------------
    def secondary_ids(self, role: str, ctx: TenantContext, query: ir.Query) -> set[str]:
        """The ids ``role``'s store matches for ``query``; :class:`_OverBound` past the bound."""
        store = self.secondaries[role]
        fast = getattr(store, "match_ids", None)
        try:
            if callable(fast) and self.max_ids < ID_PAGE:
                found = set(fast(ctx, query, limit=self.max_ids + 1))
                if len(found) > self.max_ids:
                    raise _OverBound
            else:
                page = replace(query, count=min(ID_PAGE, self.max_ids + 1))
                found = _collect(store, ctx, page, self.max_ids)
        except _OverBound:
            self.report(role, None)
            raise
        except Exception as exc:
            self.report(role, exc)
            raise
        self.report(role, None)
        return found

    def primary_ids(self, ctx: TenantContext, query: ir.Query, bound: int) -> set[str]:
        """The ids the primary matches for ``query`` (at most ``bound``, else _OverBound)."""
        return _collect(self.primary, ctx, replace(query, count=min(ID_PAGE, bound + 1)), bound)

    # -- one part ---------------------------------------------------------------------------
    def part_ids(
        self, ctx: TenantContext, rtype: str, part: Part, residual: tuple[ir.Predicate, ...]
    ) -> tuple[set[str], str]:
        """The exact ids of ``part`` (its secondary's, lag-corrected) and the strategy used;
        _OverBound when they are more than the bound even after filtering."""
        if part.backend == "union":
            found: set[str] = set()
            for alternative, role in part.alternatives:
                found |= self.secondary_ids(role, ctx, ir.Query(rtype, where=alternative))
            strategy = "union"
        else:
            try:
                found = self.secondary_ids(part.backend, ctx, ir.Query(rtype, where=part.predicate))
                strategy = "secondary"
            except _OverBound:
                found = self._filtered(ctx, rtype, part, residual)
                strategy = "secondary-filtered"
        if part.recheck:  # what the secondary has not caught up with: the primary decides
            check = ir.And((id_predicate(part.recheck), part.predicate))
            confirmed = self.primary_ids(ctx, ir.Query(rtype, where=check), len(part.recheck))
            found = (found - part.recheck) | confirmed
        return found, strategy

    def _filtered(
        self, ctx: TenantContext, rtype: str, part: Part, residual: tuple[ir.Predicate, ...]
    ) -> set[str]:
        """``secondary-filtered``: the primary's candidates (its own parts, at most the bound),
        filtered by the secondary."""
        compiler = getattr(self.secondaries[part.backend], "compiler", None)
        if not residual or compiler is None:
            raise _OverBound
        where = residual[0] if len(residual) == 1 else ir.And(residual)
        candidates = self.primary_ids(ctx, ir.Query(rtype, where=where), self.max_ids)
        probe = ir.Query(rtype, where=ir.And((part.predicate, id_predicate(candidates))))
        if not candidates or compiler.unsupported_reason(probe) is not None:
            return set() if not candidates else _raise_over()
        return self.secondary_ids(part.backend, ctx, probe)

    # -- the whole route ------------------------------------------------------------------------
    def run(
        self, ctx: TenantContext, route: Route, asked: str | ir.Query, query: ir.Query, **kw: Any
    ) -> tuple[SearchResult, Execution]:
        """Answer ``route`` on the primary with the routed parts' ids; the result's links are
        those of ``query`` (as asked and bound, ``asked`` its text)."""
        execution = Execution(route, strategy=route.strategy)
        if not route.routed:
            return self.primary.search(ctx, asked, **kw), execution
        rtype = query.resource_type
        assert rtype is not None
        residual = list(route.residual)
        merged: set[str] | None = None
        strategies = set()
        for part in _grouped(route.routed):
            start = time.perf_counter()
            run = PartRun(str(part.predicate), part.backend, "")
            try:
                ids, run.strategy = self.part_ids(ctx, rtype, part, tuple(residual))
            except _OverBound:
                if self.on_bound == "error":
                    raise TooManyIds(
                        f"the {part.backend} secondary matches more than {self.max_ids} "
                        f"resources for {part.predicate} (the composite's max_ids)"
                    ) from None
                run.backend, run.strategy = "primary", "primary"
                run.note = f"more than max_ids={self.max_ids} ids: answered on the primary"
                residual.append(part.predicate)
            except HeliosError as exc:
                self._failed(part, exc, run, residual)
            except Exception as exc:  # a driver's own error: the secondary failed
                self._failed(part, exc, run, residual)
            else:
                merged = ids if merged is None else merged & ids
                run.ids = len(ids)
                strategies.add(run.strategy)
            run.ms = round((time.perf_counter() - start) * 1000, 3)
            execution.runs.append(run)
        if merged is None:  # every routed part fell back: the primary alone
            execution.strategy = "primary-only"
            return self.primary.search(ctx, asked, **kw), execution
        if "secondary-filtered" in strategies:
            execution.strategy = "secondary-filtered"
        elif "union" not in strategies:
            execution.strategy = "intersection" if residual else "primary-enriched"
        where = ir.And((*residual, id_predicate(merged))) if residual else id_predicate(merged)
        execution.final = replace(query, where=where)
        if self._links:  # the primary names the query as asked in its links
            return self.primary.search(ctx, execution.final, as_asked=query, **kw), execution
        result = self.primary.search(ctx, execution.final, **kw)
        return relink(result, asked, query), execution

    def _failed(self, part: Part, exc: BaseException, run: PartRun, residual: list[Any]) -> None:
        if self.on_failure == "error":
            raise SecondaryUnavailable(
                f"the {part.backend} secondary failed ({type(exc).__name__}: {exc}); "
                "on_failure='error' refuses to answer without it"
            ) from exc
        run.backend, run.strategy = "primary", "primary"
        run.note = f"{part.backend} failed ({type(exc).__name__}): answered on the primary"
        residual.append(part.predicate)


def _grouped(parts: tuple[Part, ...]) -> list[Part]:
    """The routed parts with those of one secondary ANDed into one (one round trip each)."""
    by_backend: dict[str, list[Part]] = {}
    out: list[Part] = []
    for part in parts:
        if part.backend == "union":
            out.append(part)
        else:
            by_backend.setdefault(part.backend, []).append(part)
    for group in by_backend.values():
        if len(group) == 1:
            out.append(group[0])
            continue
        recheck = frozenset().union(*(p.recheck for p in group))
        where = ir.And(tuple(p.predicate for p in group))
        first = group[0]
        out.append(replace(first, predicate=where, recheck=recheck,
                           cost=sum(p.cost for p in group)))  # fmt: skip
    return out


def _raise_over() -> set[str]:
    raise _OverBound


def _collect(store: Any, ctx: TenantContext, query: ir.Query, bound: int) -> set[str]:
    """Every id ``store`` matches for ``query``, following ``next``; _OverBound past
    ``bound``."""
    found: set[str] = set()
    page: Any = query
    while page is not None:
        result = store.search(ctx, page)
        found.update(r["id"] for r in result.resources)
        if len(found) > bound:
            raise _OverBound
        page = result.next
    return found


def relink(result: SearchResult, asked: str | ir.Query, query: ir.Query) -> SearchResult:
    """``result`` (the primary's page of the rewritten query) with the links of ``query``:
    ``self`` is what was asked, ``next`` continues it at the primary's cursor or offset."""
    if result.next is not None:
        params = dict(parse_qsl(result.next.partition("?")[2], keep_blank_values=True))
        cursor, offset = params.get("_cursor"), params.get("_offset")
        result.next = render(
            replace(query, cursor=cursor, offset=int(offset) if offset is not None else None)
        )
    if isinstance(asked, str):
        result.query = asked
    else:
        try:
            result.query = render(query)
        except Unrenderable:
            result.query = None
    return result
