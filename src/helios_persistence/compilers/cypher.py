"""IR → Cypher for the Neo4j graph store (the graph model: ``dialects/cypher/README.md``).

A search is one ``MATCH`` of the resource nodes of its type with every predicate as a
``WHERE`` condition on that node: a parameter match is an ``any()`` over the parallel list
properties holding the parameter's index values on the node (``r[$p][i] = $v``), a chain or
``_has`` a path over the parameter's relationships (one relationship type per reference
parameter) to (or from) live resource nodes, so chains of any depth and nested ``_has`` are
nested path patterns.

Every value — search values, parameter codes, value property names, resource types in
properties — is a ``$parameter`` (``r[$p]``); the text holds only the fixed vocabulary of the
graph model (label ``Resource``, core property names) and the names the registry bound:
resource-type labels and reference parameters' relationship types (checked to be plain
names). Every node pattern carries ``tenant: $tenant``.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Callable
from typing import Any, ClassVar

from helios_persistence import ir, prefixes
from helios_persistence.compilers.base import BaseCompiler, Template
from helios_persistence.compilers.sql_predicates import SQLPredicates
from helios_persistence.errors import InvalidSearch
from helios_persistence.fhir_values import fold
from helios_persistence.indexing import rows

__all__ = ["FIELDS", "NULL_TEXT", "CypherCompiler", "compiler", "type_label", "value_key"]

#: the index row of each parameter type (the relational index's tables)
ROWS: dict[str, type] = {
    "string": rows.StringRow, "token": rows.TokenRow, "date": rows.DateRow,
    "number": rows.NumberRow, "quantity": rows.QuantityRow, "reference": rows.ReferenceRow,
    "uri": rows.UriRow,
}  # fmt: skip
#: row fields no condition reads: a number or quantity condition compares the stored
#: ``value`` (``prefixes.number_terms``) with the search value's bounds, never the stored
#: value's precision range, so the graph does not store it (measured: ≈ 5 µs of the
#: server's CPU per list property written; a quarter of an Observation's lists)
UNREAD: dict[str, frozenset[str]] = {
    "number": frozenset({"low", "high"}),
    "quantity": frozenset({"low", "high", "canonical_low", "canonical_high"}),
}
#: the fields of each parameter type's index rows the graph stores: one list property per
#: field on the resource node (``value_key``), the n-th entries of a parameter's lists one row
FIELDS: dict[str, tuple[str, ...]] = {
    kind: tuple(
        f.name
        for f in dataclasses.fields(row)
        if f.name != "param" and f.name not in UNREAD.get(kind, ())
    )
    for kind, row in ROWS.items()
}
#: a missing text field in a value list (lists hold no nulls; FHIR text holds no NUL)
NULL_TEXT = "\x00"


def value_key(kind: str, param: str, field: str) -> str:
    """The resource-node property holding ``field`` of ``param``'s index rows: ``@<param>``
    for the type's first field (always written: its list's length is the number of rows, and
    its absence is ``:missing``), ``@<param>.<field>`` for the others (written only when some
    row has the field). ``@`` keeps them apart from the core properties (``type``, ...). A
    composite's components are parameters ``<param>$<i>``."""
    return f"@{param}" if field == FIELDS[kind][0] else f"@{param}.{field}"


_NODE_KIND: dict[type[ir.Node], str] = {
    ir.StringMatch: "string", ir.TokenMatch: "token", ir.DateMatch: "date",
    ir.NumberMatch: "number", ir.QuantityMatch: "quantity", ir.ReferenceMatch: "reference",
    ir.UriMatch: "uri",
}  # fmt: skip
#: the value-node property ``_sort`` orders by, per parameter type (dates: low/high)
_SORT_PROPERTY = {
    "string": "norm", "token": "code", "number": "value", "quantity": "value",
    "reference": "target_id", "uri": "uri",
}  # fmt: skip
#: the columns of a page row, in order (as the SQL compilers' ``PAGE_COLUMNS``)
PAGE_COLUMNS = ("type", "id", "version", "last_updated", "json")
_RETURN_PAGE = (
    "RETURN r.type AS type, r.id AS id, r.version AS version, "
    "r.lastUpdated AS last_updated, r.json AS json"
)
#: the SQL lowering's decimal-to-double bounds (``number_bound``), for Neo4j's doubles
_DOUBLES = SQLPredicates()
#: a field name → the expression of that field of the row being tested
Columns = Callable[[str], str]
_TYPE_NAME = re.compile(r"[A-Z][A-Za-z0-9]{0,63}")
_PARAM_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]{0,63}")


def type_label(resource_type: str) -> str:
    """The label of a resource type, quoted; only plain type names (as the registry has)."""
    if not _TYPE_NAME.fullmatch(resource_type):
        raise InvalidSearch(f"not a resource type name: {resource_type!r}")
    return f"`{resource_type}`"


class _Scope:
    """The resource node predicates are compiled against: its variable and type (None in a
    search across types)."""

    __slots__ = ("rtype", "var")

    def __init__(self, var: str, rtype: str | None) -> None:
        self.var = var
        self.rtype = rtype


class CypherCompiler(BaseCompiler):
    """One search → one Cypher page statement (plus a count statement) with ``$parameters``."""

    dialect: ClassVar[str] = "cypher"
    OUTPUT: ClassVar[str] = "cypher"
    #: full text lives in the search secondary; ValueSet expansions and CodeSystem closures
    #: in the primary's terminology tables (see the graph model's README)
    UNSUPPORTED: ClassVar[frozenset[type[ir.Node]]] = frozenset({ir.Text, ir.Terminology})
    UNSUPPORTED_REASONS: ClassVar[dict[type[ir.Node], str]] = {
        ir.Text: "full text (_text, _content, :text-advanced): the search secondary's; the "
        "graph keeps no word index",
        ir.Terminology: "terminology (:in, :not-in, :above, :below): the ValueSet expansions "
        "and CodeSystem closures live in the primary",
    }

    # the same declared limits as the relational lowering (same index rows, same operators)
    supports_Has = staticmethod(SQLPredicates.supports_Has)
    supports_ReferenceMatch = staticmethod(SQLPredicates.supports_ReferenceMatch)
    supports_Missing = staticmethod(SQLPredicates.supports_Missing)
    supports_Composite = staticmethod(SQLPredicates.supports_Composite)
    supports_SortKey = staticmethod(SQLPredicates.supports_SortKey)

    def __init__(self) -> None:
        super().__init__()
        self._names = 0

    # -- building blocks ------------------------------------------------------------------------
    def placeholder(self, name: str) -> str:
        return f"${name}"

    def var(self, prefix: str) -> str:
        self._names += 1
        return f"{prefix}{self._names}"

    def resource_node(self, var: str, rtype: str | None) -> str:
        """A pattern for the live resource nodes (of ``rtype``) of the tenant."""
        label = "" if rtype is None else f":{type_label(rtype)}"
        return f"({var}:Resource{label} {{tenant: $tenant, live: true}})"

    @staticmethod
    def bound(var: str) -> str:
        """A pattern for a node already matched (with the tenant predicate all nodes carry)."""
        return f"({var} {{tenant: $tenant}})"

    def refers(self, param: str) -> str:
        """The relationship of one reference parameter: its type is the parameter code (a
        registry name, checked to be plain), written in the text so the planner expands
        only that type (a ``$(...)`` type is filtered after reading every relationship)."""
        if not _PARAM_NAME.fullmatch(param):
            raise InvalidSearch(f"not a plain search parameter name: {param!r}")
        return f"[:`{param}`]"

    def values(self, owner: str, kind: str, param: str) -> str:
        """The list property counting ``param``'s index rows on ``owner`` (null: none)."""
        return f"{owner}[{self.const(value_key(kind, param, FIELDS[kind][0]))}]"

    def columns(self, owner: str, kind: str, param: str, i: str) -> Callable[[str], str]:
        """``field`` → the ``i``-th entry of ``param``'s ``field`` list on ``owner``."""
        return lambda field: f"{owner}[{self.const(value_key(kind, param, field))}][{i}]"

    def is_null(self, column: str) -> str:
        """``column`` holds no value (a null in its list, or no list at all)."""
        return f"coalesce({column}, {self.const(NULL_TEXT)}) = {self.const(NULL_TEXT)}"

    def any_row(self, count: str, condition: Callable[[str], str]) -> str:
        """Some row ``i`` of the lists counted by ``count`` satisfies ``condition(i)``."""
        i = self.var("i")
        text = condition(i)
        if not text:
            return f"{count} IS NOT NULL"
        return f"any({i} IN range(0, size(coalesce({count}, [])) - 1) WHERE {text})"

    def values_exist(self, owner: str, kind: str, param: str, node: ir.Node | None) -> str:
        """Some index row of ``owner`` for ``param`` (matching ``node``)."""
        count = self.values(owner, kind, param)
        if node is None:
            return f"{count} IS NOT NULL"
        return self.any_row(
            count, lambda i: self.row_condition(node, self.columns(owner, kind, param, i))
        )

    def terms(
        self,
        terms: list[list[prefixes.Term]],
        columns: dict[str, str],
        bounds: dict[str, Callable[[], str]],
    ) -> str:
        """A :mod:`~helios_persistence.prefixes` condition (OR of ANDs) on ``columns``."""
        made: dict[str, str] = {}

        def bound(name: str) -> str:
            if name not in made:
                made[name] = bounds[name]()
            return made[name]

        disjuncts = [
            " AND ".join(f"{columns[c]} {op} {bound(b)}" for c, op, b in conjunct)
            for conjunct in terms
        ]
        return disjuncts[0] if len(disjuncts) == 1 else " OR ".join(f"({d})" for d in disjuncts)

    # -- predicates -----------------------------------------------------------------------------
    def where(self, node: ir.Predicate, scope: _Scope) -> str:
        result: str = self.visit(node, scope)
        return result

    def visit_And(self, node: ir.And, scope: _Scope) -> str:
        return " AND ".join(f"({self.where(c, scope)})" for c in node.children)

    def visit_Or(self, node: ir.Or, scope: _Scope) -> str:
        return " OR ".join(f"({self.where(c, scope)})" for c in node.children)

    def visit_Not(self, node: ir.Not, scope: _Scope) -> str:
        return f"NOT ({self.where(node.child, scope)})"

    def match(self, node: ir.Node, scope: _Scope) -> str:
        param: str = getattr(node, "param")  # noqa: B009 - every match node names one
        return self.values_exist(scope.var, _NODE_KIND[type(node)], param, node)

    def visit_StringMatch(self, node: ir.StringMatch, scope: _Scope) -> str:
        return self.match(node, scope)

    def visit_TokenMatch(self, node: ir.TokenMatch, scope: _Scope) -> str:
        if node.param == "_id":
            return f"{scope.var}.id = {self.value(node, 'code')}"
        return self.match(node, scope)

    def visit_DateMatch(self, node: ir.DateMatch, scope: _Scope) -> str:
        if node.param == "_lastUpdated":
            updated = f"{scope.var}.lastUpdated"
            columns = {"low": updated, "high": f"({updated} + 1)"}
            return self.terms(prefixes.date_terms(node.prefix), columns, self.date_bounds(node))
        return self.match(node, scope)

    def visit_NumberMatch(self, node: ir.NumberMatch, scope: _Scope) -> str:
        return self.match(node, scope)

    def visit_QuantityMatch(self, node: ir.QuantityMatch, scope: _Scope) -> str:
        return self.match(node, scope)

    def visit_ReferenceMatch(self, node: ir.ReferenceMatch, scope: _Scope) -> str:
        return self.match(node, scope)

    def visit_UriMatch(self, node: ir.UriMatch, scope: _Scope) -> str:
        return self.match(node, scope)

    def visit_Missing(self, node: ir.Missing, scope: _Scope) -> str:
        if node.param in ("_id", "_lastUpdated"):  # properties of every resource
            return "false" if node.missing else "true"
        # (a composite's first component's first list, named like any first list)
        param = f"{node.param}$0" if node.kind == "composite" else node.param
        count = f"{scope.var}[{self.const(f'@{param}')}]"
        return f"{count} IS NULL" if node.missing else f"{count} IS NOT NULL"

    def visit_Chain(self, node: ir.Chain, scope: _Scope) -> str:
        # several target types share ``where``: one pattern, the type a property condition
        single = node.target_types[0] if len(node.target_types) == 1 else None
        t = self.var("t")
        where = self.where(node.where, _Scope(t, single))
        if single is None:
            types = list(node.target_types)
            where = f"{t}.type IN {self.bind(lambda _values: types)} AND ({where})"
        return (
            f"EXISTS {{ MATCH {self.bound(scope.var)}-{self.refers(node.param)}->"
            f"{self.resource_node(t, single)} WHERE {where} }}"
        )

    def visit_Has(self, node: ir.Has, scope: _Scope) -> str:
        s = self.var("s")
        inner = _Scope(s, node.source_type)
        where = self.where(node.where, inner)
        return (
            f"EXISTS {{ MATCH {self.resource_node(s, node.source_type)}"
            f"-{self.refers(node.param)}->{self.bound(scope.var)} WHERE {where} }}"
        )

    def visit_Composite(self, node: ir.Composite, scope: _Scope) -> str:
        """Some repetition ``i`` whose components all match: the i-th entries of the
        components' lists (``<param>$<j>``) are one repetition."""
        kinds = [_NODE_KIND[type(c)] for c in node.components]

        def components(i: str) -> str:
            parts = []
            for j, (kind, component) in enumerate(zip(kinds, node.components, strict=True)):
                columns = self.columns(scope.var, kind, f"{node.param}${j}", i)
                text = self.row_condition(component, columns)
                parts.append(f"({text})" if text else "true")
            return " AND ".join(parts)

        return self.any_row(self.values(scope.var, kinds[0], f"{node.param}$0"), components)

    # -- conditions on one value node -----------------------------------------------------------
    def row_condition(self, node: ir.Node, col: Columns) -> str:
        handler: Callable[[ir.Node, Columns], str] = getattr(self, f"row_{type(node).__name__}")
        return handler(node, col)

    def row_StringMatch(self, node: ir.StringMatch, col: Columns) -> str:
        if node.op is ir.StringOp.EXACT:
            return f"{col('exact')} = {self.value(node, 'value')}"
        folded = self.value(node, "value", fold)
        operator = {
            ir.StringOp.STARTS: "STARTS WITH",
            ir.StringOp.EQUALS: "=",
            ir.StringOp.CONTAINS: "CONTAINS",
            ir.StringOp.ENDS: "ENDS WITH",
        }[node.op]
        return f"{col('norm')} {operator} {folded}"

    def row_TokenMatch(self, node: ir.TokenMatch, col: Columns) -> str:
        if node.op is ir.TokenOp.TEXT:
            start = self.value(node, "value", fold)
            word = self.value(node, "value", lambda x: " " + fold(x))
            return f"({col('text')} STARTS WITH {start} OR {col('text')} CONTAINS {word})"
        if node.op is ir.TokenOp.OF_TYPE:
            return (
                f"{col('type_system')} = {self.value(node, 'system')} AND "
                f"{col('type_code')} = {self.value(node, 'code')} AND "
                f"{col('code')} = {self.value(node, 'value')}"
            )
        conditions = []
        if node.code is not None:
            conditions.append(f"{col('code')} = {self.value(node, 'code')}")
        if node.system == "":
            conditions.append(self.is_null(col("system")))
        elif node.system is not None:
            conditions.append(f"{col('system')} = {self.value(node, 'system')}")
        return " AND ".join(conditions)

    def date_bounds(self, node: ir.DateMatch) -> dict[str, Callable[[], str]]:
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

    def row_DateMatch(self, node: ir.DateMatch, col: Columns) -> str:
        columns = {"low": f"{col('low')}", "high": f"{col('high')}"}
        return self.terms(prefixes.date_terms(node.prefix), columns, self.date_bounds(node))

    def number_bounds(
        self, node: ir.Node, fields: tuple[str, str, str]
    ) -> dict[str, Callable[[], str]]:
        """The bounds of a number or quantity match: numbers are doubles in Neo4j, so each
        decimal bound moves to the double on its right side (as on the SQL engines' double
        columns: ``SQLPredicates.number_bound``)."""
        v, lo, hi = fields
        prefix: ir.Prefix = getattr(node, "prefix")  # noqa: B009 - number and quantity nodes
        ops = {b: op for conjunct in prefixes.number_terms(prefix) for _, op, b in conjunct}
        picks: dict[str, tuple[str, Callable[[Any], Any]]] = {
            "V": (v, lambda x: x), "L": (lo, lambda x: x), "H": (hi, lambda x: x),
            "AL": (v, lambda x: prefixes.approx_number(x)[0]),
            "AH": (v, lambda x: prefixes.approx_number(x)[1]),
        }  # fmt: skip

        def bound(name: str) -> Callable[[], str]:
            field, pick = picks[name]
            op = ops.get(name, "=")
            return lambda: self.value(node, field, lambda x: _DOUBLES.number_bound(pick(x), op))

        return {name: bound(name) for name in picks}

    def row_NumberMatch(self, node: ir.NumberMatch, col: Columns) -> str:
        bounds = self.number_bounds(node, ("value", "low", "high"))
        return self.terms(prefixes.number_terms(node.prefix), {"value": f"{col('value')}"}, bounds)

    def row_QuantityMatch(self, node: ir.QuantityMatch, col: Columns) -> str:
        terms = prefixes.number_terms(node.prefix)
        bounds = self.number_bounds(node, ("value", "low", "high"))
        written = [f"({self.terms(terms, {'value': col('value')}, bounds)})"]
        if node.system is not None:
            written.append(f"{col('system')} = {self.value(node, 'system')}")
        if node.code is not None and node.system is not None:  # system|code: the code only
            written.append(f"{col('code')} = {self.value(node, 'code')}")
        elif node.code is not None:  # ||unit: the code or the stated unit, as written
            code = self.value(node, "code")
            written.append(f"({col('code')} = {code} OR {col('unit')} = {code})")
        as_written = " AND ".join(written)
        if node.canonical_unit is None:
            return as_written
        canonical_bounds = self.number_bounds(
            node, ("canonical_value", "canonical_low", "canonical_high")
        )
        canonical = (
            f"{col('canonical_unit')} = {self.value(node, 'canonical_unit')} AND "
            f"({self.terms(terms, {'value': col('canonical_value')}, canonical_bounds)})"
        )
        return f"({canonical}) OR ({as_written})"

    def row_ReferenceMatch(self, node: ir.ReferenceMatch, col: Columns) -> str:
        if node.op is ir.ReferenceOp.IDENTIFIER:
            conditions = [f"{col('identifier_value')} = {self.value(node, 'id')}"]
            if node.url is not None:
                conditions.append(f"{col('identifier_system')} = {self.value(node, 'url')}")
            return " AND ".join(conditions)
        conditions = []
        for field, prop in (
            ("url", "url"), ("id", "target_id"), ("target_type", "target_type"),
            ("version", "version"),
        ):  # fmt: skip
            if getattr(node, field) is not None:
                conditions.append(f"{col(prop)} = {self.value(node, field)}")
        return " AND ".join(conditions)

    def row_UriMatch(self, node: ir.UriMatch, col: Columns) -> str:
        value = self.value(node, "value")
        if node.op is ir.UriOp.EQ:
            return f"{col('uri')} = {value}"
        if node.op is ir.UriOp.BELOW:
            return f"{col('uri')} STARTS WITH {value}"
        return f"{value} STARTS WITH {col('uri')}"  # ABOVE: the stored uri is a prefix of the value

    # -- anchored paths -------------------------------------------------------------------------
    def anchor(self, node: ir.Predicate, scope: _Scope) -> tuple[list[str], list[str]] | None:
        """Patterns of a path leaving ``scope``'s node (and conditions on its nodes) that
        exists exactly when ``node`` holds, for a chain or ``_has`` (or an AND with one):
        written as the search's ``MATCH`` clauses, they let the planner start from the
        most selective end (the fewest resources of a type) and walk the references
        backwards, instead of testing every resource of the type. One ``MATCH`` per hop: a
        path may use one reference twice (``_has:Organization:partof:partof...`` through a
        resource and back), which one pattern would forbid. None for other predicates."""
        if isinstance(node, ir.Chain) and len(node.target_types) == 1:
            t = self.var("t")
            inner = _Scope(t, node.target_types[0])
            step = f"{self.bound(scope.var)}-{self.refers(node.param)}->"
            return self.continued(
                step + self.resource_node(t, inner.rtype), node.where, inner, has=False
            )
        if isinstance(node, ir.Has):
            s = self.var("s")
            inner = _Scope(s, node.source_type)
            step = f"{self.bound(scope.var)}<-{self.refers(node.param)}-"
            return self.continued(
                step + self.resource_node(s, inner.rtype), node.where, inner, has=True
            )
        if isinstance(node, ir.And):  # the first chain or _has that anchors
            for i in range(len(node.children)):
                found = self.anchor(node.children[i], scope)
                if found is not None:
                    others = [
                        f"({self.where(c, scope)})" for j, c in enumerate(node.children) if j != i
                    ]
                    return found[0], found[1] + others
        return None

    def continued(
        self, step: str, where: ir.Predicate, inner: _Scope, *, has: bool
    ) -> tuple[list[str], list[str]]:
        """``step`` then the anchored path of ``where`` from its node (or ``where`` as a
        condition on that node)."""
        rest = self.anchor(where, inner)
        if rest is None:
            if has:  # a _has path's far end: where the search starts (``build``)
                self._far_end: _Scope | None = inner
            return [step], [f"({self.where(where, inner)})"]
        return [step, *rest[0]], rest[1]

    # -- the query ------------------------------------------------------------------------------
    def build(self, query: ir.Query, index: ir.ValueIndex) -> Template:
        self._index = index
        scope = _Scope("r", query.resource_type)
        conditions = []
        if query.resource_type is None and query.types:
            types = list(query.types)
            conditions.append(f"r.type IN {self.bind(lambda _values: types)}")
        head = f"MATCH {self.resource_node('r', query.resource_type)}"
        distinct = ""
        self._far_end = None
        anchored = None if query.where is None else self.anchor(query.where, scope)
        if anchored is not None:
            head += "".join(f"\nMATCH {pattern}" for pattern in anchored[0])
            end = self._far_end
            if end is not None and end.rtype is not None:
                # a _has path starts from its far end, the resources the condition selects:
                # the planner cannot estimate a condition over list properties, and from the
                # other end it expands every reference to every resource of the type (100k
                # resources: 2.6 s against 0.1 s). Chains are left to the planner (it starts
                # them well; the hint doubled the 3-hop chain's time).
                head += f" USING SCAN {end.var}:{type_label(end.rtype)}"
            conditions.extend(anchored[1])
            distinct = " WITH DISTINCT r"  # (one row per path: several may reach a resource)
        elif query.where is not None:
            conditions.append(f"({self.where(query.where, scope)})")
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        count_text = f"{head}{where}{distinct} RETURN count(r) AS total"
        keys, order, keyset = self.order_by(query, scope)
        paging = "offset"
        if keyset is not None:
            paging = "keyset"
            if query.cursor is not None:
                after = self.keyset_condition(query, keyset)
                conditions.append(f"({after})")
                where = f" WHERE {' AND '.join(conditions)}"
        lines = [f"{head}{where}{distinct}"]
        lines.extend(keys)
        carried = ", ".join(["r", *(f"k{i}" for i in range(len(keys)))])
        lines.append(f"WITH {carried} ORDER BY {', '.join(order)}")
        if query.offset is not None:
            lines.append(f"SKIP {self.value(query, 'offset')}")
        limit = (
            self.value(query, "count", lambda n: n + 1)
            if query.count is not None
            else self.const(self.page_size(query) + 1)
        )
        lines.append(f"LIMIT {limit}")
        lines.append(_RETURN_PAGE)
        return self.template("\n".join(lines), count_text, paging)

    def order_by(
        self, query: ir.Query, scope: _Scope
    ) -> tuple[list[str], list[str], list[ir.SortKey] | None]:
        """The ``CALL`` blocks computing sort keys, the ORDER BY terms, and the keys when the
        order allows keyset paging. Resources without a value come last either way."""
        calls: list[str] = []
        order: list[str] = []
        for key in query.sort:
            if key.param == "_id":
                value = "r.id"
            elif key.param == "_lastUpdated":
                value = "r.lastUpdated"
            else:
                value = f"k{len(calls)}"
                calls.append(self.sort_call(key, value))
            direction = " DESC" if key.descending else ""
            order.append(f"{value} IS NULL, {value}{direction}")
        if query.resource_type is None or not any(k.param == "_id" for k in query.sort):
            order.extend(["r.type", "r.id"])
        keyset_ok = all(k.param in ("_id", "_lastUpdated") for k in query.sort)
        return calls, order, (list(query.sort) if keyset_ok else None)

    def sort_call(self, key: ir.SortKey, name: str) -> str:
        """``CALL (r) { ... RETURN min(...) AS <name> }`` for a sort key on a parameter."""
        if key.kind == "date":
            prop = "high" if key.descending else "low"
        else:
            prop = _SORT_PROPERTY[key.kind]
        aggregate = "max" if key.descending else "min"
        x = self.var("x")
        values = f"r[{self.const(value_key(key.kind, key.param, prop))}]"
        null = self.const(NULL_TEXT)
        return (
            f"CALL (r) {{ UNWIND coalesce({values}, []) AS {x} "
            f"RETURN {aggregate}(CASE WHEN {x} <> {null} THEN {x} END) AS {name} }}"
        )

    def keyset_condition(self, query: ir.Query, keys: list[ir.SortKey]) -> str:
        """Rows strictly after the cursor in the page order (a lexicographic comparison)."""
        columns: list[tuple[str, bool, type]] = []
        for key in keys:
            if key.param == "_id":
                columns.append(("r.id", key.descending, str))
            else:
                columns.append(("r.lastUpdated", key.descending, int))
        if query.resource_type is None or not any(k.param == "_id" for k in keys):
            columns.extend([("r.type", False, str), ("r.id", False, str)])
        disjuncts = []
        for i, (column, descending, kind) in enumerate(columns):
            equal = [
                f"{prev} = {self.cursor_value(query, j, prev_kind, len(columns))}"
                for j, (prev, _, prev_kind) in enumerate(columns[:i])
            ]
            bound = self.cursor_value(query, i, kind, len(columns))
            equal.append(f"{column} {'<' if descending else '>'} {bound}")
            disjuncts.append(f"({' AND '.join(equal)})")
        return " OR ".join(disjuncts)

    # -- includes -----------------------------------------------------------------------------
    @classmethod
    @functools.cache
    def include_statement(cls, reverse: bool, any_param: bool, target: bool) -> str:
        """``(type, id)`` of what one ``_include`` (``reverse``: ``_revinclude``) reaches from
        resources ``ids``; parameters ``tenant``, ``source``, ``param``, ``target``, ``ids``
        as the SQL compilers' statement of the same name."""
        rel = "[x]" if any_param else "[x:$($param)]"
        s = "(s:Resource {tenant: $tenant, type: $source, live: true})"
        if reverse:
            t = "(t:Resource {tenant: $tenant, type: $target})"
            return f"MATCH {s}-{rel}->{t} WHERE t.id IN $ids RETURN DISTINCT s.type, s.id"
        t = (
            "(t:Resource {tenant: $tenant, type: $target})"
            if target
            else ("(t:Resource {tenant: $tenant})")
        )
        return f"MATCH {s}-{rel}->{t} WHERE s.id IN $ids RETURN DISTINCT t.type, t.id"

    @staticmethod
    def include_specs(includes: tuple[ir.Include, ...]) -> list[dict[str, Any]]:
        """The ``$specs`` parameter of :meth:`include_step_statement`."""
        return [
            {
                "reverse": inc.reverse, "source": inc.source_type, "param": inc.param,
                "target": inc.target_type, "iterate": inc.iterate,
            }
            for inc in includes
        ]  # fmt: skip

    @classmethod
    @functools.cache
    def include_step_statement(cls) -> str:
        """One round of includes: every live resource one reference away from the
        resources ``$keys`` (``[type, id]`` pairs) by an include of ``$specs``
        (:meth:`include_specs`): forwards for ``_include`` (source type, parameter, target
        type), backwards for ``_revinclude``. Returns page rows (:data:`PAGE_COLUMNS`).
        The store walks rounds of it to the ``:iterate`` fixpoint, breadth-first, as the
        shared runner does (a single variable-length shortest-path statement was planned
        to enumerate the paths before filtering them: minutes on 8,600 resources)."""
        x, a, b = "x", "m", "n"
        step = (
            f"any(s IN $specs WHERE (s.param = '*' OR type({x}) = s.param) AND ("
            f"(NOT s.reverse AND startNode({x}) = {a} AND (s.source = '*' OR "
            f"{a}.type = s.source) AND (s.target IS NULL OR {b}.type = s.target)) OR "
            f"(s.reverse AND startNode({x}) = {b} AND {b}.type = s.source AND "
            f"(s.target IS NULL OR {a}.type = s.target))))"
        )
        return "\n".join(
            [
                "UNWIND $keys AS k",
                "MATCH (m:Resource {tenant: $tenant, type: k[0], id: k[1]})",
                "MATCH (m {tenant: $tenant})-[x]-(n:Resource {tenant: $tenant, live: true})",
                f"WHERE {step}",
                "WITH DISTINCT n",
                _RETURN_PAGE.replace("r.", "n."),
            ]
        )

    @classmethod
    @functools.cache
    def fetch_statement(cls) -> str:
        """Live resources of one type by id (parameters ``tenant``, ``type``, ``ids``)."""
        return (
            "MATCH (r:Resource {tenant: $tenant, type: $type, live: true}) "
            f"WHERE r.id IN $ids {_RETURN_PAGE}"
        )

    @staticmethod
    def bind_ids(ids: list[str]) -> list[str]:
        return list(ids)


compiler = CypherCompiler()
