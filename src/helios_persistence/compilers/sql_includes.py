"""A page and its ``_include``/``_revinclude`` resources in one statement.

Without it a search with includes takes three statements (the page; the references of its
matches; the referenced resources), each a round trip to a server. For a search of one type
whose includes are not ``:iterate`` (no fixpoint to reach), the compiler can write the whole
answer as one statement instead::

    WITH page AS (<page statement>, with ord = the row's position, counted from the
                  first match: an _offset's skipped rows included)
    SELECT <page columns>, ord FROM page
    UNION ALL
    SELECT <page columns>, NULL FROM resources t          -- the included resources
    WHERE (t.type, t.id) IN (<the references of the page's first _count rows: ord <= _count
                             + _offset>)
      AND (t.type, t.id) NOT IN (<those rows>)            -- a match is not also included
    ORDER BY ord (matches in page order), then included ones by type and id

The references are those the three-statement path follows
(:class:`~helios_persistence.backends.sql.search._Includes`): a forward include from the
searched type (or ``*``), a reverse include pointing at it.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import sqlglot.expressions as exp

from helios_persistence import ir

if TYPE_CHECKING:
    from helios_persistence.compilers.sql import SQLCompiler

__all__ = ["ORD", "with_includes"]

#: the last column of a statement with inline includes
ORD = "ord"


def _references(
    c: SQLCompiler, inc: ir.Include, rtype: str, first: exp.Select
) -> exp.Select | None:
    """``(type, id)`` of what ``inc`` adds for matches of ``rtype`` (ids: ``first``); None
    when it adds nothing to such a page."""
    alias = c.alias("n")
    i = functools.partial(c.col, alias)
    conditions: list[exp.Expr] = [i("tenant").eq(c.tenant())]
    if inc.reverse:
        if inc.target_type not in (None, rtype):
            return None
        columns = [i("type"), i("id")]
        conditions += [
            i("type").eq(c.const(inc.source_type)),
            i("target_type").eq(c.const(rtype)),
            i("target_id").isin(query=first.copy()),
        ]
    else:
        if inc.source_type not in ("*", rtype):
            return None
        columns = [i("target_type"), i("target_id")]
        conditions += [
            i("type").eq(c.const(rtype)),
            exp.Is(this=i("target_type"), expression=exp.Not(this=exp.null())),
            exp.Is(this=i("target_id"), expression=exp.Not(this=exp.null())),
            i("id").isin(query=first.copy()),
        ]
        if inc.target_type is not None:
            conditions.append(i("target_type").eq(c.const(inc.target_type)))
    if inc.param != "*":
        conditions.append(i("param").eq(c.const(inc.param)))
    select = exp.select(*columns).from_(c.table("idx_reference", alias))
    return select.where(exp.and_(*conditions))


def with_includes(
    c: SQLCompiler,
    page: exp.Select,
    order: list[exp.Ordered],
    query: ir.Query,
    offset: exp.Expr | None,
) -> exp.Query | None:
    """``page`` (the page statement) with the resources ``query`` includes, as above; None
    when the query's includes cannot be answered so (a system search, ``:iterate``) or add
    nothing to its pages."""
    rtype = query.resource_type
    if rtype is None or not query.include or any(inc.iterate for inc in query.include):
        return None
    size = (
        c.value(query, "count")
        if query.count is not None
        else exp.Literal.number(c.page_size(query))
    )
    if offset is not None:  # (the position counts the rows the offset skips)
        size = exp.Add(this=exp.paren(size), expression=exp.paren(offset.copy()))
    ord_ = exp.column(ORD, table="page")
    first_ids = exp.select(exp.column("id", table="page")).from_("page").where(ord_ <= size)
    found = [r for inc in query.include if (r := _references(c, inc, rtype, first_ids))]
    if not found:
        return None
    wanted: exp.Query = found[0]
    for more in found[1:]:
        wanted = exp.union(wanted, more, distinct=True)
    numbered = exp.Window(this=exp.RowNumber(), order=exp.Order(expressions=order))
    page = page.copy().select(exp.alias_(numbered, ORD))
    columns = c.PAGE_COLUMNS
    t = functools.partial(c.col, "t")
    key = exp.Tuple(expressions=[t("type"), t("id")])
    first_keys = exp.select(exp.column("type", table="page"), exp.column("id", table="page"))
    first_keys = first_keys.from_("page").where(ord_.copy() <= size.copy())
    included = (
        exp.select(*(t(name) for name in columns), exp.alias_(exp.null(), ORD))
        .from_(c.table("resources", "t"))
        .where(
            exp.and_(
                t("tenant").eq(c.tenant()),
                t("deleted").eq(exp.Literal.number(0)),
                key.isin(query=wanted.subquery()),
                exp.not_(key.copy().isin(query=first_keys.subquery())),
            )
        )
    )
    matches = exp.select(*(exp.column(name, table="page") for name in (*columns, ORD)))
    both = exp.union(matches.from_("page"), included, distinct=False)
    both = both.order_by(
        exp.Ordered(this=exp.column(ORD), nulls_first=False),
        exp.column("type"),
        exp.column("id"),
    )
    return both.with_("page", as_=page)
