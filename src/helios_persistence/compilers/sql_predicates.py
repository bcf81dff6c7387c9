"""IR predicates → sqlglot conditions over the per-type index tables (every SQL dialect).

Every predicate lowers to a boolean condition on the current resource row (alias ``r0``,
``r1``, ... one per chain level). A parameter match is ``r.id IN (SELECT i.id FROM idx_<type>
i WHERE i.tenant = :tenant AND i.type = :T AND i.param = :P AND <condition on i>)``: the
subquery runs on the ``(tenant, type, param, value)`` index. Deleted resources have no index
rows, so index subqueries never see them. Chains and ``_has`` nest the same shape through
``idx_reference``; composites join their component rows on ``grp``.

Every value — search values, parameter codes, resource types — is a bound placeholder; the
SQL text depends only on the query's shape.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, ClassVar

import sqlglot.expressions as exp

from helios_persistence import ir, prefixes
from helios_persistence.backends.sql.index_tables import IRREGULAR, TABLE_OF_TYPE
from helios_persistence.compilers.base import BaseCompiler
from helios_persistence.compilers.date_slices import (
    bound_values,
    date_ranges,
    narrow_low_bounds,
    sliced,
)
from helios_persistence.compilers.sql_terminology import TerminologyLowering
from helios_persistence.fhir_values import fold

__all__ = ["MAX_CHAR", "TABLES", "SQLPredicates", "like_escape"]

#: index table per parameter type (the one definition of the relational index model)
TABLES = TABLE_OF_TYPE
_NODE_TABLE: dict[type[ir.Node], str] = {
    ir.StringMatch: TABLES["string"],
    ir.TokenMatch: TABLES["token"],
    ir.DateMatch: TABLES["date"],
    ir.NumberMatch: TABLES["number"],
    ir.QuantityMatch: TABLES["quantity"],
    ir.ReferenceMatch: TABLES["reference"],
    ir.UriMatch: TABLES["uri"],
}
_CMP: dict[str, Callable[[exp.Expr, exp.Expr], exp.Expr]] = {
    "<": lambda a, b: exp.LT(this=a, expression=b),
    "<=": lambda a, b: exp.LTE(this=a, expression=b),
    ">": lambda a, b: exp.GT(this=a, expression=b),
    ">=": lambda a, b: exp.GTE(this=a, expression=b),
}
#: the ``resource_text`` column of each whole-resource text search
TEXT_COLUMNS = {ir.TextKind.NARRATIVE: "narrative", ir.TextKind.CONTENT: "content"}
#: the largest code point: ``v <= s < v + MAX_CHAR`` is "s starts with v"
MAX_CHAR = "\U0010ffff"
#: from this many ``_id`` alternatives on, an ``Or`` binds them as one list (see ``_id_list``)
ID_LIST_MIN = 16
#: ``:sort`` kinds with an index table column to order by
_SORT_COLUMNS = {
    "string": "norm", "token": "code", "number": "value", "quantity": "value",
    "reference": "target_id", "uri": "uri",
}  # fmt: skip


def like_escape(text: str) -> str:
    """Escape LIKE wildcards so ``%`` and ``_`` in a search value are literal."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _param_of(node: ir.Node) -> str:
    """The parameter a match node is about (every leaf predicate names one)."""
    param = getattr(node, "param", None)
    if not isinstance(param, str):
        raise TypeError(f"{type(node).__name__} names no parameter")
    return param


class _Scope:
    """The resource row predicates are compiled against."""

    __slots__ = ("alias", "rtype")

    def __init__(self, alias: str, rtype: exp.Expr | None) -> None:
        self.alias = alias
        self.rtype = rtype  # a placeholder for the type, or None in a system search


class SQLPredicates(TerminologyLowering, BaseCompiler):
    """The predicate half of the shared SQL lowering (the query half, paging and includes
    are :class:`~helios_persistence.compilers.sql.SQLCompiler`)."""

    dialect: ClassVar[str] = "sql"
    OUTPUT: ClassVar[str] = "sql"

    # -- declared limits (see BaseCompiler.unsupported_reason) ----------------------------------
    @staticmethod
    def supports_Has(node: ir.Has, system: bool) -> str | None:
        return "_has in a search across types" if system else None

    @staticmethod
    def supports_ReferenceMatch(node: ir.ReferenceMatch, system: bool) -> str | None:
        supported = (ir.ReferenceOp.EQ, ir.ReferenceOp.IDENTIFIER)
        return None if node.op in supported else f"reference :{node.op.value}"

    @staticmethod
    def supports_Missing(node: ir.Missing, system: bool) -> str | None:
        known = node.param in ("_id", "_lastUpdated") or node.kind in (*TABLES, "composite")
        return None if known else f":missing on a {node.kind} parameter"

    @staticmethod
    def supports_Composite(node: ir.Composite, system: bool) -> str | None:
        for component in node.components:
            if type(component) not in _NODE_TABLE:
                return f"a {type(component).__name__} composite component"
        return None

    @staticmethod
    def supports_SortKey(key: ir.SortKey, system: bool) -> str | None:
        if key.param in ("_id", "_lastUpdated") or key.kind in (*_SORT_COLUMNS, "date"):
            return None
        return f"_sort on a {key.kind} parameter"

    #: whether the dialect sorts NULLs first in ascending order (SQLite does)
    ASC_NULLS_FIRST: ClassVar[bool] = False
    #: whether date matches are read as a slice of the ``low`` index (:meth:`date_range`)
    DATE_SLICES: ClassVar[bool] = True

    def __init__(self) -> None:
        super().__init__()
        self._aliases = 0

    @staticmethod
    def number(value: Decimal) -> Any:
        """A Decimal for the driver: a float where the columns are doubles (Cypher,
        Elasticsearch: see :meth:`number_bound`). The SQL dialects' columns are exact: SQLite
        and DuckDB bind the text key ``index_tables`` stores, PostgreSQL the Decimal."""
        return float(value)

    # -- parameters -----------------------------------------------------------------------------
    def placeholder(self, name: str) -> exp.Placeholder:
        return exp.Placeholder(this=name)

    @staticmethod
    def tenant() -> exp.Placeholder:
        return exp.Placeholder(this="tenant")

    def alias(self, prefix: str) -> str:
        self._aliases += 1
        return f"{prefix}{self._aliases}"

    # -- building blocks ------------------------------------------------------------------------
    @staticmethod
    def col(alias: str, name: str) -> exp.Column:
        return exp.column(name, table=alias)

    @staticmethod
    def table(name: str, alias: str) -> exp.Table:
        return exp.Table(
            this=exp.to_identifier(name), alias=exp.TableAlias(this=exp.to_identifier(alias))
        )

    def index_rows(
        self, table: str, scope: _Scope, param: str, alias: str, *, select: str = "id"
    ) -> exp.Select:
        """``SELECT i.id FROM <table> i WHERE tenant, type, param`` (conditions added later)."""
        conditions: list[exp.Expr] = [self.col(alias, "tenant").eq(self.tenant())]
        if scope.rtype is not None:
            conditions.append(self.col(alias, "type").eq(scope.rtype))
        conditions.append(self.col(alias, "param").eq(self.const(param)))
        columns: list[exp.Expr] = [self.col(alias, select)]
        if scope.rtype is None:
            columns.insert(0, self.col(alias, "type"))
        return exp.select(*columns).from_(self.table(table, alias)).where(exp.and_(*conditions))

    def member_of(self, scope: _Scope, subquery: exp.Select) -> exp.Expr:
        """``r.id IN (subquery)`` (``(r.type, r.id) IN`` in a system search)."""
        if scope.rtype is None:
            pair = exp.Tuple(
                expressions=[self.col(scope.alias, "type"), self.col(scope.alias, "id")]
            )
            return pair.isin(query=subquery.subquery())  # a row value needs "IN (SELECT ...)"
        return self.col(scope.alias, "id").isin(query=subquery)

    def resources(self, scope: _Scope, alias: str, rtype: exp.Expr) -> exp.Select:
        """Live resources of one type in the tenant, as a row source for nested predicates."""
        return (
            exp.select(self.col(alias, "id"))
            .from_(self.table("resources", alias))
            .where(
                exp.and_(
                    self.col(alias, "tenant").eq(self.tenant()),
                    self.col(alias, "type").eq(rtype),
                    self.col(alias, "deleted").eq(exp.Literal.number(0)),
                )
            )
        )

    def terms(
        self,
        terms: list[list[prefixes.Term]],
        columns: Mapping[str, exp.Expr],
        bounds: Mapping[str, Callable[[], exp.Expr]],
    ) -> exp.Expr:
        """Lower a :mod:`~helios_persistence.prefixes` condition (OR of ANDs) onto columns
        and bound values (each bound is made, and bound as a parameter, only if the condition
        uses it)."""
        made: dict[str, exp.Expr] = {}

        def bound(name: str) -> exp.Expr:
            if name not in made:
                made[name] = bounds[name]()
            return made[name]

        disjuncts = [
            exp.and_(*(_CMP[op](columns[c], bound(b)) for c, op, b in conjunct))
            for conjunct in terms
        ]
        return disjuncts[0] if len(disjuncts) == 1 else exp.or_(*(exp.paren(d) for d in disjuncts))

    # -- predicates -----------------------------------------------------------------------------
    def where(self, node: ir.Predicate, scope: _Scope) -> exp.Expr:
        result: exp.Expr = self.visit(node, scope)
        return result

    def visit_And(self, node: ir.And, scope: _Scope) -> exp.Expr:
        sliced_here = self.DATE_SLICES and scope.rtype is not None
        ranges = date_ranges(node.children) if sliced_here else {}
        parts: list[exp.Expr] = []
        for child in node.children:
            members = ranges.get(getattr(child, "param", None))  # type: ignore[arg-type]
            if members is None or child not in members:
                parts.append(exp.paren(self.where(child, scope)))
            elif child is members[0]:
                parts.append(exp.paren(self.date_range(members, scope)))
        return exp.and_(*parts)

    def date_range(self, nodes: list[ir.DateMatch], scope: _Scope) -> exp.Expr:
        """Date matches on one parameter, each of which may hold on a different value of the
        resource (R4: ``date=ge2020-01&date=lt2020-02``), or one bounded on both ends
        (``date=2020-01``), as one index subquery (see :mod:`.date_slices`): the regular rows
        that match them all, from a slice of the ``low`` index, and the resources whose
        irregular rows (``grp`` set: few) match each, from their partial index."""
        param = nodes[0].param
        alias = self.alias("i")
        low = self.col(alias, "low")
        conditions: list[exp.Expr] = [exp.paren(self.row_condition(n, alias)) for n in nodes]
        lower, upper = (self.narrow_bound(nodes, side) for side in (0, 1))
        if lower is not None:
            conditions.append(exp.GTE(this=low, expression=lower))
        if upper is not None:
            conditions.append(exp.LT(this=low, expression=upper))
        regular = self.index_rows("idx_date", scope, param, alias).where(exp.and_(*conditions))
        irregular: exp.Select | None = None
        for n in reversed(nodes):
            a = self.alias("i")
            # as the partial index's predicate: irregular rows (0), composites (1+)
            grp = exp.GTE(this=self.col(a, "grp"), expression=exp.Literal.number(IRREGULAR))
            rows = self.index_rows("idx_date", scope, param, a)
            rows = rows.where(exp.and_(grp, exp.paren(self.row_condition(n, a))))
            if irregular is not None:
                rows = rows.where(self.col(a, "id").isin(query=irregular))
            irregular = rows
        assert irregular is not None  # (a system search never gets here: visit_And)
        return self.col(scope.alias, "id").isin(query=exp.union(regular, irregular, distinct=False))

    def narrow_bound(self, nodes: list[ir.DateMatch], side: int) -> exp.Expr | None:
        """The bound (``side`` 0: the lowest ``low``; 1: above the highest, exclusive) of
        every regular row that matches all ``nodes``, bound from their values; None when
        their prefixes imply none."""
        if all(narrow_low_bounds(n.prefix, {})[side] is None for n in nodes):
            return None
        assert self._index is not None
        places = [(self._index.index(n, "low"), self._index.index(n, "high")) for n in nodes]
        prefixes = [n.prefix for n in nodes]

        def bound(vals: list[Any]) -> int:
            found = [
                narrow_low_bounds(prefix, bound_values(vals[lo], vals[hi]))[side]
                for prefix, (lo, hi) in zip(prefixes, places, strict=True)
            ]
            known = [b for b in found if b is not None]
            return max(known) if side == 0 else min(known)

        result: exp.Expr = self.bind(bound)
        return result

    def visit_Or(self, node: ir.Or, scope: _Scope) -> exp.Expr:
        # OR of matches on one parameter: one index subquery with OR'ed row conditions
        groups: dict[tuple[str, str], list[ir.Node]] = {}
        others: list[ir.Predicate] = []
        children, id_list = self._id_list(node, scope)
        for child in children:
            table = _NODE_TABLE.get(type(child))
            param = getattr(child, "param", "_id")
            if table is not None and param not in ("_id", "_lastUpdated"):
                groups.setdefault((table, param), []).append(child)
            else:
                others.append(child)
        parts: list[exp.Expr] = []
        for (table, param), members in groups.items():
            alias = self.alias("i")
            rows = self.index_rows(table, scope, param, alias)
            conds = [exp.paren(self.row_condition(m, alias)) for m in members]
            parts.append(self.member_of(scope, rows.where(exp.or_(*conds))))
        parts.extend(exp.paren(self.where(c, scope)) for c in others)
        if id_list is not None:
            parts.append(id_list)
        return parts[0] if len(parts) == 1 else exp.or_(*parts)

    def _id_list(
        self, node: ir.Or, scope: _Scope
    ) -> tuple[tuple[ir.Predicate, ...], exp.Expr | None]:
        """A long list of ``_id`` alternatives (the composite layer's merged ids) as one
        ``id`` membership test with one bound list, instead of an ``OR`` per id: the other
        children, and that test (None below :data:`ID_LIST_MIN` ids)."""
        assert self._index is not None
        ids: list[int] = []
        rest: list[ir.Predicate] = []
        for child in node.children:
            if isinstance(child, ir.TokenMatch) and child.param == "_id" and child.code:
                ids.append(self._index.index(child, "code"))
            else:
                rest.append(child)
        if len(ids) < ID_LIST_MIN:
            return node.children, None
        bind_ids = self.bind_ids  # type: ignore[attr-defined]
        bound = self.bind(lambda vals: bind_ids([vals[i] for i in ids]))
        return tuple(rest), self.ids_in(self.col(scope.alias, "id"), bound)  # type: ignore[attr-defined]

    def visit_Not(self, node: ir.Not, scope: _Scope) -> exp.Expr:
        return exp.not_(exp.paren(self.where(node.child, scope)))

    def _match(self, node: ir.Node, scope: _Scope) -> exp.Expr:
        param = _param_of(node)
        alias = self.alias("i")
        rows = self.index_rows(_NODE_TABLE[type(node)], scope, param, alias)
        return self.member_of(scope, rows.where(self.row_condition(node, alias)))

    def indexed_ids(self, node: ir.Predicate, scope: _Scope) -> exp.Select | None:
        """The ids of the resources in ``scope`` that match ``node``, read from index rows
        alone, when ``node`` is one parameter match or a chain; else None. Only live
        resources have index rows, so a chain or ``_has`` hop through such a predicate needs
        no lookup in ``resources`` (the hand-written SQL's join, and half its cost)."""
        if isinstance(node, ir.Chain) and len(node.target_types) == 1:
            return self.chain_to(node, node.target_types[0], scope)
        table = _NODE_TABLE.get(type(node))
        if table is None or _param_of(node) in ("_id", "_lastUpdated"):
            return None
        alias = self.alias("i")
        rows = self.index_rows(table, scope, _param_of(node), alias)
        return rows.where(self.row_condition(node, alias))

    def visit_StringMatch(self, node: ir.StringMatch, scope: _Scope) -> exp.Expr:
        return self._match(node, scope)

    def visit_TokenMatch(self, node: ir.TokenMatch, scope: _Scope) -> exp.Expr:
        if node.param == "_id":
            return self.col(scope.alias, "id").eq(self.value(node, "code"))
        return self._match(node, scope)

    def visit_DateMatch(self, node: ir.DateMatch, scope: _Scope) -> exp.Expr:
        if node.param == "_lastUpdated":
            updated = self.col(scope.alias, "last_updated")
            columns = {
                "low": updated,
                "high": exp.Add(this=updated, expression=exp.Literal.number(1)),
            }
            return exp.paren(
                self.terms(prefixes.date_terms(node.prefix), columns, self.date_bounds(node))
            )
        if self.DATE_SLICES and scope.rtype is not None and sliced([node]):
            return self.date_range([node], scope)
        return self._match(node, scope)

    def visit_NumberMatch(self, node: ir.NumberMatch, scope: _Scope) -> exp.Expr:
        return self._match(node, scope)

    def visit_QuantityMatch(self, node: ir.QuantityMatch, scope: _Scope) -> exp.Expr:
        return self._match(node, scope)

    def visit_ReferenceMatch(self, node: ir.ReferenceMatch, scope: _Scope) -> exp.Expr:
        return self._match(node, scope)

    def visit_UriMatch(self, node: ir.UriMatch, scope: _Scope) -> exp.Expr:
        return self._match(node, scope)

    def visit_Missing(self, node: ir.Missing, scope: _Scope) -> exp.Expr:
        if node.param in ("_id", "_lastUpdated"):  # columns of every resource, never missing
            return exp.false() if node.missing else exp.true()
        if node.kind == "composite":
            # a composite value is present when its first component row is (in whichever
            # table that component's type uses)
            param = f"{node.param}$0"
            any_row = exp.or_(
                *(
                    self.member_of(scope, self.index_rows(t, scope, param, self.alias("i")))
                    for t in TABLES.values()
                )
            )
            return exp.not_(exp.paren(any_row)) if node.missing else exp.paren(any_row)
        table = TABLES[node.kind]
        alias = self.alias("i")
        present: exp.Expr = self.member_of(scope, self.index_rows(table, scope, node.param, alias))
        return exp.not_(present) if node.missing else present

    def visit_Chain(self, node: ir.Chain, scope: _Scope) -> exp.Expr:
        # several target types: one reference subquery per type (each uses the type's indexes)
        parts = [self.member_of(scope, self.chain_to(node, t, scope)) for t in node.target_types]
        return parts[0] if len(parts) == 1 else exp.or_(*parts)

    def live_ids(self, node: ir.Predicate, rtype: exp.Expr) -> exp.Select:
        """The ids of live resources of type ``rtype`` that match ``node``."""
        inner_scope = _Scope(self.alias("r"), rtype)
        ids = self.indexed_ids(node, inner_scope)
        if ids is None:
            ids = self.resources(inner_scope, inner_scope.alias, rtype)
            ids = ids.where(self.where(node, inner_scope))
        return ids

    def chain_to(self, node: ir.Chain, target_type: str, scope: _Scope) -> exp.Select:
        """The ids (in ``scope``) of the resources that ``node`` follows to resources of one
        ``target_type``."""
        alias = self.alias("i")
        target = self.const(target_type)
        inner = self.live_ids(node.where, target)
        rows = self.index_rows("idx_reference", scope, node.param, alias)
        rows = rows.where(self.col(alias, "target_type").eq(target))
        return rows.where(self.col(alias, "target_id").isin(query=inner))

    def visit_Has(self, node: ir.Has, scope: _Scope) -> exp.Expr:
        assert scope.rtype is not None  # declared: supports_Has
        alias = self.alias("i")
        source = self.const(node.source_type)
        sources = self.live_ids(node.where, source)
        rows = self.index_rows(
            "idx_reference", _Scope(alias, source), node.param, alias, select="target_id"
        )
        rows = rows.where(self.col(alias, "target_type").eq(scope.rtype))
        rows = rows.where(self.col(alias, "id").isin(query=sources))
        return self.col(scope.alias, "id").isin(query=rows)

    def visit_Composite(self, node: ir.Composite, scope: _Scope) -> exp.Expr:
        aliases = [self.alias("c") for _ in node.components]
        first = aliases[0]
        query = self.index_rows(
            _NODE_TABLE[type(node.components[0])],
            scope,
            _param_of(node.components[0]),
            first,
        )
        query = query.where(self.row_condition(node.components[0], first))
        for component, alias in zip(node.components[1:], aliases[1:], strict=True):
            table = _NODE_TABLE[type(component)]
            on = exp.and_(
                *(
                    self.col(alias, c).eq(self.col(first, c))
                    for c in ("tenant", "type", "id", "grp")
                ),
                self.col(alias, "param").eq(self.const(_param_of(component))),
                self.row_condition(component, alias),
            )
            query = query.join(self.table(table, alias), on=on)
        return self.member_of(scope, query)

    def text_rows(
        self, node: ir.Text, scope: _Scope, match: Callable[[exp.Expr], exp.Expr]
    ) -> exp.Expr:
        """Membership in the full-text rows of ``node`` (``resource_text``'s narrative or
        content column, or ``param_text`` for ``:text-advanced``) where ``match(column)`` holds:
        dialects whose text is a column (tsvector, exported words) share this shape."""
        alias = self.alias("t")
        conditions: list[exp.Expr] = [self.col(alias, "tenant").eq(self.tenant())]
        if node.param is None:
            table, column = "resource_text", TEXT_COLUMNS[node.kind]
        else:
            table, column = "param_text", "text"
            conditions.append(self.col(alias, "param").eq(self.const(node.param)))
        if scope.rtype is not None:
            conditions.append(self.col(alias, "type").eq(scope.rtype))
        conditions.append(match(self.col(alias, column)))
        select = [self.col(alias, "id")]
        if scope.rtype is None:
            select.insert(0, self.col(alias, "type"))
        rows = exp.select(*select).from_(self.table(table, alias)).where(exp.and_(*conditions))
        return self.member_of(scope, rows)

    # -- conditions on one index row ------------------------------------------------------------
    def row_condition(self, node: ir.Node, alias: str) -> exp.Expr:
        handler = getattr(self, f"row_{type(node).__name__}", None)
        if handler is None:
            raise self.unsupported(node)
        result: exp.Expr = handler(node, alias)
        return result

    def string_prefix(self, column: exp.Expr, node: ir.Node, field: str) -> exp.Expr:
        """``column`` starts with the folded value (a range scan on the value index)."""
        low = self.value(node, field, fold)
        high = self.value(node, field, lambda v: fold(v) + MAX_CHAR)
        return exp.and_(exp.GTE(this=column, expression=low), exp.LT(this=column, expression=high))

    def like(self, column: exp.Expr, pattern: exp.Expr) -> exp.Expr:
        return exp.Escape(
            this=exp.Like(this=column, expression=pattern), expression=exp.Literal.string("\\")
        )

    def row_StringMatch(self, node: ir.StringMatch, alias: str) -> exp.Expr:
        norm = self.col(alias, "norm")
        if node.op is ir.StringOp.STARTS:
            return self.string_prefix(norm, node, "value")
        if node.op is ir.StringOp.EXACT:
            return self.col(alias, "exact").eq(self.value(node, "value"))
        if node.op is ir.StringOp.EQUALS:
            return norm.eq(self.value(node, "value", fold))
        if node.op is ir.StringOp.CONTAINS:
            return self.like(norm, self.value(node, "value", lambda v: f"%{like_escape(fold(v))}%"))
        return self.like(norm, self.value(node, "value", lambda v: f"%{like_escape(fold(v))}"))

    def row_TokenMatch(self, node: ir.TokenMatch, alias: str) -> exp.Expr:
        c = functools.partial(self.col, alias)
        if node.op is ir.TokenOp.TEXT:
            text = c("text")
            word = self.value(node, "value", lambda v: f"% {like_escape(fold(v))}%")
            return exp.or_(self.string_prefix(text, node, "value"), self.like(text, word))
        if node.op is ir.TokenOp.OF_TYPE:
            return exp.and_(
                c("type_system").eq(self.value(node, "system")),
                c("type_code").eq(self.value(node, "code")),
                c("code").eq(self.value(node, "value")),
            )
        conditions: list[exp.Expr] = []
        if node.code is not None:
            conditions.append(c("code").eq(self.value(node, "code")))
        if node.system == "":
            conditions.append(exp.Is(this=c("system"), expression=exp.null()))
        elif node.system is not None:
            conditions.append(c("system").eq(self.value(node, "system")))
        return exp.and_(*conditions)

    def date_bounds(self, node: ir.DateMatch) -> dict[str, Callable[[], exp.Expr]]:
        span = ("low", "high")
        return {
            "L": lambda: self.value(node, "low"),
            "H": lambda: self.value(node, "high"),
            "AL": lambda: self.computed(
                node, span, lambda lo, hi: prefixes.approx_range(lo, hi)[0]
            ),
            "AH": lambda: self.computed(
                node, span, lambda lo, hi: prefixes.approx_range(lo, hi)[1]
            ),
        }

    def row_DateMatch(self, node: ir.DateMatch, alias: str) -> exp.Expr:
        columns = {"low": self.col(alias, "low"), "high": self.col(alias, "high")}
        return self.terms(prefixes.date_terms(node.prefix), columns, self.date_bounds(node))

    def number_bounds(
        self, node: ir.Node, fields: tuple[str, str, str]
    ) -> dict[str, Callable[[], exp.Expr]]:
        v, lo, hi = fields
        prefix = getattr(node, "prefix")  # noqa: B009 - number and quantity nodes have one
        # the comparison each bound is used with (one per bound for any one prefix)
        ops = {b: op for conjunct in prefixes.number_terms(prefix) for _, op, b in conjunct}

        def num(name: str, pick: Callable[[Any], Decimal] = lambda x: x) -> Callable[[Any], Any]:
            return lambda x: self.number_bound(pick(x), ops.get(name, "="))

        def approx(i: int) -> Callable[[Any], Decimal]:
            return lambda x: prefixes.approx_number(x)[i]

        return {
            "V": lambda: self.value(node, v, num("V")),
            "L": lambda: self.value(node, lo, num("L")),
            "H": lambda: self.value(node, hi, num("H")),
            "AL": lambda: self.value(node, v, num("AL", approx(0))),
            "AH": lambda: self.value(node, v, num("AH", approx(1))),
        }

    def number_bound(self, value: Decimal, op: str) -> Any:
        """``value`` for the driver, so that ``column <op> bound`` on a double column holds
        exactly when ``stored <op> value`` does, where ``stored`` is the decimal the column's
        double was written from (its shortest repr). Decimals a double cannot hold are moved to
        the nearest double on the right side: ``100.00000000000000000`` still finds 100, and
        ``ge100.00000000000000001`` does not."""
        bound = self.number(value)
        if not isinstance(bound, float) or not math.isfinite(bound):
            return bound

        def written(f: float) -> Decimal:
            return Decimal(repr(f))

        if written(bound) == value or op not in (">=", "<", ">", "<="):
            return bound
        if op in (">=", "<"):  # the smallest double written as >= value
            while written(bound) < value:
                bound = math.nextafter(bound, math.inf)
            while written(down := math.nextafter(bound, -math.inf)) >= value:
                bound = down
        else:  # > and <=: the largest double written as <= value
            while written(bound) > value:
                bound = math.nextafter(bound, -math.inf)
            while written(up := math.nextafter(bound, math.inf)) <= value:
                bound = up
        return bound

    def row_NumberMatch(self, node: ir.NumberMatch, alias: str) -> exp.Expr:
        columns = {"value": self.col(alias, "value")}
        bounds = self.number_bounds(node, ("value", "low", "high"))
        return self.terms(prefixes.number_terms(node.prefix), columns, bounds)

    def row_QuantityMatch(self, node: ir.QuantityMatch, alias: str) -> exp.Expr:
        terms = prefixes.number_terms(node.prefix)
        c = functools.partial(self.col, alias)
        as_written: list[exp.Expr] = [
            exp.paren(
                self.terms(
                    terms, {"value": c("value")}, self.number_bounds(node, ("value", "low", "high"))
                )
            )
        ]
        if node.system is not None:
            as_written.append(c("system").eq(self.value(node, "system")))
        if node.code is not None and node.system is not None:  # system|code: the code only
            as_written.append(c("code").eq(self.value(node, "code")))
        elif node.code is not None:  # ||unit: the code or the stated unit, as written
            code = self.value(node, "code")
            as_written.append(exp.paren(exp.or_(c("code").eq(code), c("unit").eq(code))))
        written = exp.and_(*as_written)
        if node.canonical_unit is None:
            return written
        canonical = exp.and_(
            c("canonical_unit").eq(self.value(node, "canonical_unit")),
            exp.paren(
                self.terms(
                    terms,
                    {"value": c("canonical_value")},
                    self.number_bounds(
                        node, ("canonical_value", "canonical_low", "canonical_high")
                    ),
                )
            ),
        )
        return exp.or_(exp.paren(canonical), exp.paren(written))

    def row_ReferenceMatch(self, node: ir.ReferenceMatch, alias: str) -> exp.Expr:
        c = functools.partial(self.col, alias)
        if node.op is ir.ReferenceOp.IDENTIFIER:
            conditions = [c("identifier_value").eq(self.value(node, "id"))]
            if node.url is not None:
                conditions.append(c("identifier_system").eq(self.value(node, "url")))
            return exp.and_(*conditions)
        conditions = []
        if node.url is not None:
            conditions.append(c("url").eq(self.value(node, "url")))
        if node.id is not None:
            conditions.append(c("target_id").eq(self.value(node, "id")))
        if node.target_type is not None:
            conditions.append(c("target_type").eq(self.value(node, "target_type")))
        if node.version is not None:
            conditions.append(c("version").eq(self.value(node, "version")))
        return exp.and_(*conditions)

    def row_UriMatch(self, node: ir.UriMatch, alias: str) -> exp.Expr:
        uri = self.col(alias, "uri")
        if node.op is ir.UriOp.EQ:
            return uri.eq(self.value(node, "value"))
        if node.op is ir.UriOp.BELOW:
            low = self.value(node, "value")
            high = self.value(node, "value", lambda v: v + MAX_CHAR)
            return exp.and_(exp.GTE(this=uri, expression=low), exp.LT(this=uri, expression=high))
        # ABOVE: the stored uri is a prefix of the search value
        value = self.value(node, "value")
        head = exp.Substring(this=value, start=exp.Literal.number(1), length=exp.Length(this=uri))
        return head.eq(uri)
