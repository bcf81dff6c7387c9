"""The shared SQL lowering of whole queries: the page and count statements, sort order,
keyset and offset paging, and the include statements; predicates come from
:mod:`.sql_predicates`. Dialects subclass :class:`SQLCompiler` and override small hooks.

Every value — search values, parameter codes, resource types — is a bound placeholder; the
SQL text depends only on the query's shape.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any, ClassVar

import sqlglot.expressions as exp

from helios_persistence import ir
from helios_persistence.compilers.base import Template
from helios_persistence.compilers.sql_driven import driven_ids
from helios_persistence.compilers.sql_includes import with_includes
from helios_persistence.compilers.sql_predicates import (
    _SORT_COLUMNS,
    MAX_CHAR,
    TABLES,
    SQLPredicates,
    _Scope,
    like_escape,
)

__all__ = ["MAX_CHAR", "TABLES", "SQLCompiler", "_Scope", "like_escape"]


class SQLCompiler(SQLPredicates):
    """Shared lowering for SQLite, PostgreSQL and DuckDB; dialects override small hooks."""

    # -- includes -------------------------------------------------------------------------------
    #: the columns of a page row, in order (a backend reads page rows by these names)
    PAGE_COLUMNS: ClassVar[tuple[str, ...]] = ("type", "id", "version", "last_updated", "json")
    #: whether a first page of one type is read through one index subquery (``sql_driven``)
    DRIVEN_PAGE: ClassVar[bool] = False
    #: whether a page's (non-iterating) includes come in the page statement (``sql_includes``)
    INLINE_INCLUDES: ClassVar[bool] = False

    def ids_in(self, column: exp.Expr, ids: exp.Expr | None = None) -> exp.Expr:
        """``column`` is one of the ids bound to the parameter ``ids`` (or to the placeholder
        ``ids``), a value of :meth:`bind_ids`."""
        raise NotImplementedError

    @staticmethod
    def bind_ids(ids: list[str]) -> Any:
        """The value bound to the parameter ``ids``."""
        raise NotImplementedError

    @classmethod
    @functools.cache
    def include_statement(cls, reverse: bool, any_param: bool, target: bool) -> str:
        """The references one ``_include`` (``reverse``: ``_revinclude``) follows from a set of
        resources: ``(type, id)`` rows. Parameters: ``tenant``, ``source`` (the type holding
        the reference), ``param`` (unless ``any_param``), ``target`` (the referenced type: of
        a ``_revinclude``, or an ``_include`` when ``target``), ``ids``. One statement per
        shape (no ``(:x IS NULL OR ...)``), so the planner uses the reference indexes."""
        self = cls()
        i = functools.partial(self.col, "i")
        conditions: list[exp.Expr] = [
            i("tenant").eq(self.tenant()),
            i("type").eq(self.placeholder("source")),
        ]
        if reverse:
            columns = [i("type"), i("id")]
            conditions.append(i("target_type").eq(self.placeholder("target")))
            conditions.append(self.ids_in(i("target_id")))
        else:
            columns = [i("target_type"), i("target_id")]
            conditions.append(exp.Is(this=i("target_type"), expression=exp.Not(this=exp.null())))
            conditions.append(exp.Is(this=i("target_id"), expression=exp.Not(this=exp.null())))
            if target:
                conditions.append(i("target_type").eq(self.placeholder("target")))
            conditions.append(self.ids_in(i("id")))
        if not any_param:
            conditions.append(i("param").eq(self.placeholder("param")))
        select = exp.select(*columns).distinct().from_(self.table("idx_reference", "i"))
        return select.where(exp.and_(*conditions)).sql(dialect=cls.dialect)

    @classmethod
    @functools.cache
    def fetch_statement(cls) -> str:
        """Live resources of one type by id (parameters ``tenant``, ``type``, ``ids``), as page
        rows (:attr:`PAGE_COLUMNS`)."""
        self = cls()
        r = functools.partial(self.col, "r")
        conditions = [
            r("tenant").eq(self.tenant()),
            r("type").eq(self.placeholder("type")),
            r("deleted").eq(exp.Literal.number(0)),
            self.ids_in(r("id")),
        ]
        select = exp.select(*(r(c) for c in cls.PAGE_COLUMNS)).from_(self.table("resources", "r"))
        return select.where(exp.and_(*conditions)).sql(dialect=cls.dialect)

    # -- the query ------------------------------------------------------------------------------
    def build(self, query: ir.Query, index: ir.ValueIndex) -> Template:
        self._index = index
        scope = _Scope("r", self.const(query.resource_type) if query.resource_type else None)
        conditions: list[exp.Expr] = [
            self.col("r", "tenant").eq(self.tenant()),
            self.col("r", "deleted").eq(exp.Literal.number(0)),
        ]
        if scope.rtype is not None:
            conditions.insert(1, self.col("r", "type").eq(scope.rtype))
        elif query.types:
            conditions.insert(1, self.col("r", "type").isin(*(self.const(t) for t in query.types)))
        where = self.where(query.where, scope) if query.where is not None else None
        own = list(conditions)  # (tenant, type, deleted: a page row's own conditions)
        if where is not None:
            conditions.append(exp.paren(where))
        base = exp.and_(*conditions)
        count = (
            exp.select(exp.Count(this=exp.Star())).from_(self.table("resources", "r")).where(base)
        )
        order, keyset = self.order_by(query, scope)
        paging = "offset"
        cursor = None
        if keyset is not None:
            paging = "keyset"
            if query.cursor is not None:
                cursor = self.keyset_condition(query, keyset)
        limit = (
            self.value(query, "count", lambda n: n + 1)
            if query.count is not None
            else self.const(self.page_size(query) + 1)
        )
        # (also under keyset paging: the first page may skip rows)
        offset = self.value(query, "offset") if query.offset is not None else None
        columns = [self.col("r", c) for c in self.PAGE_COLUMNS]
        select = exp.select(*columns).from_(self.table("resources", "r"))
        ids = None
        if self.DRIVEN_PAGE and where is not None and scope.rtype is not None and not query.sort:
            ids = self.page_ids(where, cursor, scope.rtype, limit, offset)
        if ids is not None:
            select = self.driven_page(columns, conditions[:3], ids, order)
            offset = None  # (its rows are numbered from the page's first row)
        else:
            page_conditions = [base] if cursor is None else [base, exp.paren(cursor)]
            select = select.where(exp.and_(*page_conditions)).order_by(*order).limit(limit)
            if offset is not None:
                select = select.offset(offset)
            keyed = self.page_by_keys(select, own, scope, order)
            if keyed is not None:  # (its rows are numbered from the page's first row)
                select, offset = keyed, None
        inline = with_includes(self, select, order, query, offset) if self.INLINE_INCLUDES else None
        text = (select if inline is None else inline).sql(dialect=self.dialect)
        count_text = count.sql(dialect=self.dialect)
        template = self.template(text, count_text, paging)
        template.includes_inline = inline is not None
        return template

    def page_ids(
        self,
        where: exp.Expr,
        cursor: exp.Expr | None,
        rtype: exp.Expr,
        limit: exp.Expr,
        offset: exp.Expr | None,
    ) -> exp.Select | None:
        """The driven page's ids (``sql_driven``), or None when the shape does not apply."""
        return driven_ids(where, cursor, "r", rtype, self.tenant(), limit, offset)

    def driven_page(
        self,
        columns: Sequence[exp.Expr],
        own: list[exp.Expr],
        ids: exp.Select,
        order: list[exp.Ordered],
    ) -> exp.Select:
        """The page statement reading the driven page's ``ids`` (``own``: tenant, type and
        deleted conditions of a page row)."""
        live = exp.and_(*own, self.col("r", "id").isin(query=ids))
        return exp.select(*columns).from_(self.table("resources", "r")).where(live).order_by(*order)

    def page_by_keys(
        self, page: exp.Select, own: list[exp.Expr], scope: _Scope, order: list[exp.Ordered]
    ) -> exp.Select | None:
        """The page statement ``page`` rewritten to find the page's keys before it reads its
        rows (``own``: the conditions on a page row of its own), or None to keep it."""
        return None

    def order_by(
        self, query: ir.Query, scope: _Scope
    ) -> tuple[list[exp.Ordered], list[ir.SortKey] | None]:
        """ORDER BY terms; also the keys when the order supports keyset paging."""
        order: list[exp.Ordered] = []
        for key in query.sort:
            # resources without a value for the key come last, in either direction
            order.append(
                exp.Ordered(
                    this=self.sort_value(key, scope), desc=key.descending, nulls_first=False
                )
            )
        if query.resource_type is None or not any(k.param == "_id" for k in query.sort):
            # (an id is unique only within a type: a system search needs the type too)
            # NOT NULL key columns: the dialect's own null order, so no NULLS clause is
            # written and the (tenant, type, id) index can deliver the order without a sort
            nulls = self.ASC_NULLS_FIRST
            order.append(exp.Ordered(this=self.col("r", "type"), desc=False, nulls_first=nulls))
            order.append(exp.Ordered(this=self.col("r", "id"), desc=False, nulls_first=nulls))
        keyset_ok = all(k.param in ("_id", "_lastUpdated") for k in query.sort)
        return order, (list(query.sort) if keyset_ok else None)

    def sort_value(self, key: ir.SortKey, scope: _Scope) -> exp.Expr:
        if key.param == "_id":
            return self.col("r", "id")
        if key.param == "_lastUpdated":
            return self.col("r", "last_updated")
        table = TABLES[key.kind]
        if key.kind == "date":
            column = "high" if key.descending else "low"
        else:
            column = _SORT_COLUMNS[key.kind]
        alias = self.alias("s")
        agg = exp.Max if key.descending else exp.Min
        sub = (
            exp.select(agg(this=self.col(alias, column)))
            .from_(self.table(table, alias))
            .where(
                exp.and_(
                    self.col(alias, "tenant").eq(self.col("r", "tenant")),
                    self.col(alias, "type").eq(self.col("r", "type")),
                    self.col(alias, "id").eq(self.col("r", "id")),
                    self.col(alias, "param").eq(self.const(key.param)),
                )
            )
        )
        return exp.paren(sub)

    def keyset_condition(self, query: ir.Query, keys: list[ir.SortKey]) -> exp.Expr:
        """Rows strictly after the cursor in the page order (a lexicographic comparison)."""
        columns: list[tuple[exp.Expr, bool, type]] = []
        for key in keys:
            kind: type = int if key.param == "_lastUpdated" else str
            columns.append((self.sort_value(key, _Scope("r", None)), key.descending, kind))
        if query.resource_type is None or not any(k.param == "_id" for k in keys):
            columns.append((self.col("r", "type"), False, str))
            columns.append((self.col("r", "id"), False, str))
        disjuncts = []
        for i, (column, descending, kind) in enumerate(columns):
            equal = [
                prev.eq(self.cursor_value(query, j, prev_kind, len(columns)))
                for j, (prev, _, prev_kind) in enumerate(columns[:i])
            ]
            bound = self.cursor_value(query, i, kind, len(columns))
            after = (
                exp.LT(this=column, expression=bound)
                if descending
                else exp.GT(this=column, expression=bound)
            )
            disjuncts.append(exp.paren(exp.and_(*equal, after)))
        return exp.or_(*disjuncts)
