"""FHIRPath (the ViewDefinition subset) lowered to sqlglot expressions, for any dialect.

A FHIRPath value is a :class:`Coll`: a SQL expression for *one item* plus, when the path went
through repeating elements, the FROM items (array-elements tables), conditions and ordinal
keys that enumerate the items. A singleton (``many=False``) is just an expression, NULL when
empty. Functions consume collections as correlated subqueries: ``exists()`` is ``EXISTS``,
``first()`` is ``ORDER BY ... LIMIT 1``, ``join()`` is an ordered string aggregate.

Values from the ViewDefinition (string and number literals, constants) are bound parameters;
only element names (FHIRPath identifiers) appear in the SQL text, as JSON keys.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from sqlglot import exp

from helios_persistence.errors import InvalidViewDefinition
from helios_persistence.indexing import model as fhir_model
from helios_persistence.views import fhirpath as fp
from helios_persistence.views import lists
from helios_persistence.views.dialects import Dialect
from helios_persistence.views.model import is_number_type, resolve, type_key_of

__all__ = ["Coll", "Lowerer"]


@dataclass(frozen=True, slots=True)
class Coll:
    """A lowered FHIRPath collection (see the module docstring)."""

    value: exp.Expr
    kind: str = "json"  # "json": a JSON value; "sql": a plain SQL scalar
    type: str | None = None  # FHIR type of the items, when known
    type_key: str | None = None  # where children are looked up
    froms: tuple[exp.Expr, ...] = ()
    conds: tuple[exp.Expr, ...] = ()
    order: tuple[exp.Expr, ...] = ()
    #: when the items are exactly one JSON array's elements: that array
    source: exp.Expr | None = None
    #: DuckDB (:mod:`~helios_persistence.views.lists`): the items as a list, and the lambda
    #: variable ``value`` is written in
    items: exp.Expr | None = None
    var: str | None = None
    #: a Quantity literal's (value, UCUM unit) (:mod:`~helios_persistence.views.quantities`)
    quantity: tuple[Decimal, str] | None = None

    @property
    def many(self) -> bool:
        return bool(self.froms) or self.items is not None


def _null() -> exp.Expr:
    return exp.Null()


def _and(*parts: exp.Expr | None) -> exp.Expr | None:
    present = [p for p in parts if p is not None]
    if not present:
        return None
    out = present[0]
    for p in present[1:]:
        out = exp.and_(out, p)
    return out


def _family(type_name: str | None) -> str:
    if type_name == "boolean":
        return "boolean"
    if is_number_type(type_name):
        return "integer" if type_name != "decimal" else "decimal"
    return "text"


class Lowerer:
    """Lowers FHIRPath nodes in one compilation (shares aliases and parameters)."""

    def __init__(
        self,
        dialect: Dialect,
        root: Coll,
        constants: dict[str, tuple[Any, str]],
        params: dict[str, Any],
        aliases: itertools.count[int],
    ) -> None:
        self.d = dialect
        self.root = root
        self.constants = constants
        self.params = params
        self.aliases = aliases
        self.row_index: exp.Expr = exp.Literal.number(0)
        self.where = "path"
        self.lists = dialect.name == "duckdb"

    # -- helpers -------------------------------------------------------------------------------
    def alias(self, prefix: str = "e") -> str:
        return f"{prefix}{next(self.aliases)}"

    def bind(self, value: Any) -> exp.Expr:
        name = f"p{len(self.params) + 1}"
        self.params[name] = float(value) if isinstance(value, Decimal) else value
        return exp.Placeholder(this=name)

    def fail(self, message: str, *, not_supported: bool = False) -> InvalidViewDefinition:
        return InvalidViewDefinition(
            f"{self.where}: {message}", expression=self.where, not_supported=not_supported
        )

    def rows(self, c: Coll, *select: exp.Expr) -> exp.Select:
        """``SELECT select FROM c's items WHERE c's conditions and the item is present``."""
        query = exp.select(*select)
        if c.froms:
            query = query.from_(c.froms[0].copy())
            for item in c.froms[1:]:
                query = query.join(item.copy(), join_type="CROSS")
        cond = _and(*c.conds, exp.Not(this=exp.Is(this=c.value.copy(), expression=_null())))
        return query.where(cond) if cond is not None else query

    def ordered(self, query: exp.Select, c: Coll, desc: bool = False) -> exp.Select:
        if not c.order:
            return query
        return query.order_by(*(exp.Ordered(this=o.copy(), desc=desc) for o in c.order))

    def scalar(self, c: Coll, offset: exp.Expr | None = None, desc: bool = False) -> Coll:
        """The first (or ``offset``-th) item as a singleton."""
        if not c.many:
            if offset is None:
                return c
            cond = exp.EQ(this=offset, expression=exp.Literal.number(0))
            value = exp.Case(ifs=[exp.If(this=cond, true=c.value)])
            return replace(c, value=value)
        if c.items is not None:
            return Coll(lists.nth(self, c, offset, desc), c.kind, c.type, c.type_key)
        query = self.ordered(self.rows(c, c.value), c, desc).limit(1)
        if offset is not None:
            query = query.offset(offset)
        return Coll(exp.Subquery(this=query), c.kind, c.type, c.type_key)

    def exists(self, c: Coll) -> exp.Expr:
        if not c.many:
            return exp.Not(this=exp.Is(this=c.value.copy(), expression=_null()))
        if c.items is not None:
            return exp.GT(this=lists.length(self, c), expression=exp.Literal.number(0))
        return exp.Exists(this=self.rows(c, exp.Literal.number(1)))

    def count(self, c: Coll) -> exp.Expr:
        if not c.many:
            present = exp.Not(this=exp.Is(this=c.value, expression=exp.Null()))
            return exp.Case(
                ifs=[exp.If(this=present, true=exp.Literal.number(1))],
                default=exp.Literal.number(0),
            )
        if c.items is not None:
            return lists.length(self, c)
        return exp.Subquery(this=self.rows(c, exp.Count(this=exp.Star())))

    def join(self, c: Coll, sep: exp.Expr) -> exp.Expr:
        """The items' text joined with ``sep`` ('' when empty)."""
        if not c.many:
            item = self.typed(c, "text")
        elif c.items is not None:
            item = lists.joined(self, c, sep)
        else:
            agg = self.d.op("agg_text", self.typed(self.item(c), "text"), sep, self.order_key(c))
            item = exp.Subquery(this=self.rows(c, agg))
        return exp.Coalesce(this=item, expressions=[exp.Literal.string("")])

    def as_json(self, c: Coll) -> exp.Expr:
        """One item as a JSON value."""
        if c.kind == "json":
            return c.value
        if _family(c.type) == "text" and c.type is not None:
            return self.d.op("json_of_text", c.value)  # typed: PostgreSQL cannot infer it
        return self.d.op("json_of_sql", c.value)

    def json_array(self, c: Coll) -> exp.Expr:
        """The whole collection as a JSON array (NULL when empty)."""
        if not c.many:
            item = self.as_json(c)
            wrap = {"postgres": "jsonb_build_array"}.get(self.d.name, "json_array")
            arg = (
                exp.Anonymous(this="json", expressions=[item]) if self.d.name == "sqlite" else item
            )
            # PostgreSQL cannot type a bare parameter in IS NULL: test the typed JSON value
            tested = item if self.d.name == "postgres" else c.value
            return exp.Case(
                ifs=[exp.If(this=exp.Is(this=tested.copy(), expression=_null()), true=_null())],
                default=exp.Anonymous(this=wrap, expressions=[arg]),
            )
        if c.items is not None:
            return lists.json_array(self, c)
        order = self.order_key(c)
        return exp.Subquery(this=self.rows(c, self.d.op("agg_json", self.as_json(c), order)))

    def order_key(self, c: Coll) -> exp.Expr:
        if not c.order:
            return exp.Literal.number(0)
        if len(c.order) == 1:
            return c.order[0]
        parts = [self.d.op("ord_text", o) for o in c.order]
        out = parts[0]
        for p in parts[1:]:
            out = exp.DPipe(this=out, expression=p)
        return out

    def typed(self, c: Coll, family: str) -> exp.Expr:
        """The first item as a SQL scalar of ``family`` (text, integer, decimal, boolean)."""
        one = self.scalar(c)
        if one.kind == "sql":
            if family in ("integer", "decimal") and not is_number_type(one.type):
                return exp.Cast(this=one.value, to=exp.DataType.build(self.d.numeric_type()))
            return one.value
        if family == "boolean":
            return self.d.op("to_bool", one.value)
        if family == "integer":
            return self.d.op("to_int", one.value)
        if family == "decimal":
            return self.d.op("to_number", one.value)
        return self.d.op("text", one.value)

    def boolean(self, c: Coll) -> exp.Expr:
        """A collection used as a condition (FHIRPath singleton evaluation of booleans)."""
        if c.kind == "sql" and c.type == "boolean":
            return self.scalar(c).value
        return self.typed(c, "boolean")

    # -- the walk ------------------------------------------------------------------------------
    def lower(self, node: fp.Node, ctx: Coll) -> Coll:
        method: Callable[[Any, Coll], Coll] = getattr(self, f"visit_{type(node).__name__}")
        return method(node, ctx)

    def visit_This(self, node: fp.This, ctx: Coll) -> Coll:
        return ctx

    def visit_Empty(self, node: fp.Empty, ctx: Coll) -> Coll:
        return Coll(_null(), "sql")

    def visit_Literal(self, node: fp.Literal, ctx: Coll) -> Coll:
        if node.type == "boolean":
            return Coll(exp.Boolean(this=node.value), "sql", "boolean")
        if node.type == "Quantity":
            from helios_persistence.views import quantities

            number, unit, quoted = node.value
            return quantities.literal(self, number, quantities.unit_code(self, unit, quoted))
        return Coll(self.bind(node.value), "sql", node.type)

    def visit_Constant(self, node: fp.Constant, ctx: Coll) -> Coll:
        if node.name == "rowIndex":
            return Coll(self.row_index, "sql", "integer")
        if node.name in ("resource", "rootResource", "context"):
            return self.root
        if node.name not in self.constants:
            raise self.fail(f"constant %{node.name} is not defined")
        value, type_name = self.constants[node.name]
        if type_name == "boolean":
            return Coll(exp.Boolean(this=bool(value)), "sql", "boolean")
        return Coll(self.bind(value), "sql", type_name)

    def visit_Member(self, node: fp.Member, ctx: Coll) -> Coll:
        base = self.lower(node.base, ctx)
        if isinstance(node.base, fp.This) and node.name == self.root.type and ctx is self.root:
            return base  # `Patient.name` written with the resource type
        return self.member(base, node.name)

    def member(self, base: Coll, name: str, choice: str | None = None) -> Coll:
        if base.kind == "sql":
            return Coll(_null(), "sql")
        steps = resolve(base.type_key, name, choice)
        if len(steps) > 1:  # a choice element read without ofType(): whichever key is there
            value = exp.Coalesce(
                this=self.d.get(base.value, steps[0].key),
                expressions=[self.d.get(base.value, s.key) for s in steps[1:]],
            )
            return replace(base, value=value, type=None, type_key=None, source=None)
        step = steps[0]
        child = self.d.get(base.value, step.key)
        if self.lists and base.many and step.many is False:
            wild = lists.wildcard(self, base, step.key, False)
            if wild is not None:
                return replace(base, items=wild, type=step.type, type_key=step.type_key)
        if step.many is False:
            return replace(base, value=child, type=step.type, type_key=step.type_key, source=None)
        if self.lists:
            items, var = lists.member(self, base, step.key, step.many)
            source = (
                (child if step.many else self.d.op("array_wrap", child)) if not base.many else None
            )
            return Coll(
                exp.column(var),
                "json",
                step.type,
                step.type_key,
                source=source,
                items=items,
                var=var,
            )
        source = child if step.many else self.d.op("array_wrap", child)
        alias = self.alias()
        return Coll(
            self.d.elem_value(alias),
            "json",
            step.type,
            step.type_key,
            (*base.froms, self.d.elements(source, alias)),
            base.conds,
            (*base.order, self.d.elem_key(alias)),
            source if not base.many else None,
        )

    def visit_Index(self, node: fp.Index, ctx: Coll) -> Coll:
        base = self.lower(node.base, ctx)
        index = self.lower(node.index, ctx)
        return self.scalar(base, offset=self.typed(index, "integer"))

    def visit_Unary(self, node: fp.Unary, ctx: Coll) -> Coll:
        operand = self.lower(node.operand, ctx)
        if node.op == "+":
            return operand
        if operand.quantity is not None:  # -5 'mg'
            from helios_persistence.views import quantities

            return quantities.literal(self, -operand.quantity[0], operand.quantity[1])
        family = _family(operand.type) if operand.type else "decimal"
        return Coll(exp.Neg(this=self.typed(operand, family)), "sql", operand.type or "decimal")

    def visit_TypeOp(self, node: fp.TypeOp, ctx: Coll) -> Coll:
        narrowed = self.of_type(node.operand, node.type, ctx)
        if node.op == "is":
            return Coll(self.exists(narrowed), "sql", "boolean")
        return narrowed

    def visit_Binary(self, node: fp.Binary, ctx: Coll) -> Coll:
        from helios_persistence.views.operators import binary

        return binary(self, node, ctx)

    def visit_Call(self, node: fp.Call, ctx: Coll) -> Coll:
        from helios_persistence.views.functions import FUNCTIONS

        handler = FUNCTIONS.get(node.name)
        if handler is None:
            raise self.fail(f"function {node.name}() is not supported", not_supported=True)
        return handler(self, node, ctx)

    def of_type(self, base_node: fp.Node, type_name: str, ctx: Coll) -> Coll:
        """``base.ofType(T)``: a choice element's ``T`` key, or the items of type ``T``."""
        if isinstance(base_node, fp.Member):
            parent = self.lower(base_node.base, ctx)
            if parent.kind == "json" and (
                parent.type_key is None or len(resolve(parent.type_key, base_node.name)) > 1
            ):
                return self.member(parent, base_node.name, choice=type_name)
        base = self.lower(base_node, ctx)
        wanted = fhir_model.normalise_type_name(type_name)
        if fhir_model.is_resource_type(wanted):
            kind = self.d.op("text", self.d.get(base.value, "resourceType"))
            cond = exp.EQ(this=kind, expression=self.bind(wanted))
            narrowed = replace(base, type=wanted, type_key=wanted)
            return self.filter(narrowed, cond)
        if base.type is None or base.type == wanted or fhir_model.is_subtype(base.type, wanted):
            return replace(base, type=wanted, type_key=type_key_of(wanted) or base.type_key)
        return Coll(_null(), "sql")

    def filter(self, c: Coll, cond: exp.Expr) -> Coll:
        """The items of ``c`` for which ``cond`` (over the item) holds."""
        if c.items is not None:
            return replace(c, items=lists.filtered(c, cond), source=None)
        if c.many:
            return replace(c, conds=(*c.conds, cond), source=None)
        value = exp.Case(ifs=[exp.If(this=cond, true=c.value)])
        return replace(c, value=value)

    def union(self, left: Coll, right: Coll, distinct: bool = True) -> Coll:
        """``left | right`` (``distinct``: each value once, first occurrence first) or
        ``left.combine(right)`` (every item, left's first)."""
        same = left.type == right.type
        item_type = left.type if same else None
        type_key = left.type_key if same and left.type_key == right.type_key else None
        if self.lists:
            items, var = lists.union(self, left, right, distinct)
            return Coll(exp.column(var), "json", item_type, type_key, items=items, var=var)
        parts = []
        for branch, side in enumerate((left, right)):
            alias = self.alias()
            offset = exp.Literal.number(branch * 1_000_000)
            parts.append(
                exp.select(
                    exp.alias_(self.d.elem_value(alias), "v"),
                    exp.alias_(exp.Add(this=offset, expression=self.d.elem_key(alias)), "o"),
                ).from_(self.d.elements(self.json_array(side), alias))
            )
        both: exp.Query = exp.union(*parts, distinct=False)
        u = self.alias("u")
        if distinct:
            both = (
                exp.select(exp.column("v", u), exp.alias_(exp.Min(this=exp.column("o", u)), "o"))
                .from_(exp.Subquery(this=both, alias=exp.TableAlias(this=exp.to_identifier(u))))
                .group_by(exp.column("v", u))
            )
            u = self.alias("u")
        array = exp.select(self.d.op("agg_json", exp.column("v", u), exp.column("o", u))).from_(
            exp.Subquery(this=both, alias=exp.TableAlias(this=exp.to_identifier(u)))
        )
        source = exp.Subquery(this=array)
        alias = self.alias()
        return Coll(
            self.d.elem_value(alias),
            "json",
            item_type,
            type_key,
            (self.d.elements(source, alias),),
            (),
            (self.d.elem_key(alias),),
            source,
        )

    def item(self, c: Coll) -> Coll:
        """The context for a function argument evaluated per item of ``c``."""
        return Coll(c.value, c.kind, c.type, c.type_key)
