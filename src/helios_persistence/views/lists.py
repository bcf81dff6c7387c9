"""DuckDB's lowering of collections: lists and lambdas instead of correlated subqueries.

DuckDB decorrelates a subquery per column into joins, which costs several times a direct
expression; its lists keep FHIR order and need no join. So in DuckDB a collection that
went through a repeating element is a ``JSON[]`` list (``Coll.items``) with a lambda
variable (``Coll.var``) that ``Coll.value`` is written in: ``name.where(use = 'official')
.family.first()`` becomes ``list_extract(list_filter(list_transform(list_filter(
CAST(json -> '$.name' AS JSON[]), LAMBDA e1 : ...), LAMBDA e1 : e1 -> '$.family'),
LAMBDA z : z IS NOT NULL), 1)``. The semantics are those of the subquery lowering (the
same suite runs on both); SQLite and PostgreSQL keep the subqueries.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlglot import exp

if TYPE_CHECKING:
    from helios_persistence.views.lower import Coll, Lowerer

__all__ = ["as_list", "lam", "to_list"]


def _fn(name: str, *args: exp.Expr) -> exp.Expr:
    return exp.Anonymous(this=name, expressions=list(args))


def lam(var: str, body: exp.Expr) -> exp.Expr:
    return exp.Lambda(this=body, expressions=[exp.to_identifier(var)])


def to_list(json_value: exp.Expr, many: bool | None) -> exp.Expr:
    """A JSON value as a ``JSON[]``: an array's items, a single value, or NULL."""
    as_list = exp.Cast(this=json_value, to=exp.DataType.build("JSON[]"))
    if many:
        return as_list
    is_array = exp.EQ(
        this=_fn("json_type", json_value.copy()), expression=exp.Literal.string("ARRAY")
    )
    return exp.Case(
        ifs=[
            exp.If(this=exp.Is(this=json_value.copy(), expression=exp.Null()), true=exp.Null()),
            exp.If(this=is_array, true=as_list),
        ],
        default=exp.Array(expressions=[json_value.copy()]),
    )


def as_list(lw: Lowerer, c: Coll) -> exp.Expr:
    """The list of ``c``'s present items (its value mapped over ``items``, NULLs dropped)."""
    assert c.items is not None and c.var is not None
    if isinstance(c.value, exp.Column) and c.value.name == c.var and not c.value.table:
        return c.items
    mapped = _fn("list_transform", c.items, lam(c.var, c.value))
    z = lw.alias("z")
    present = exp.Not(this=exp.Is(this=exp.column(z), expression=exp.Null()))
    return _fn("list_filter", mapped, lam(z, present))


def member(lw: Lowerer, base: Coll, key: str, many: bool | None) -> tuple[exp.Expr, str]:
    """(items, var) of ``base.key`` for a repeating (or unknown) element.

    While every step's cardinality is known, the items are one wildcard path
    (``json -> '$.name[*].given[*]'``: DuckDB lists the matches in order, skipping
    absent keys), which parses the JSON once instead of once per step."""
    var = lw.alias()
    wild = wildcard(lw, base, key, many)
    if wild is not None:
        return wild, var
    if not base.many:
        return to_list(lw.d.get(base.value, key), many), var
    inner = as_list(lw, base)
    y = lw.alias("y")
    children = _fn("list_transform", inner, lam(y, to_list(lw.d.get(exp.column(y), key), many)))
    return _fn("flatten", children), var


def _is_wildcard(e: exp.Expr) -> bool:
    return (
        isinstance(e, exp.JSONExtract)
        and isinstance(e.expression, exp.JSONPath)
        and any(isinstance(s, exp.JSONPathSubscript) for s in e.expression.expressions)
    )


def _wildcard_path(c: Coll) -> exp.JSONExtract | None:
    """``c``'s items when they are a wildcard path and its value is the item itself."""
    if c.items is None or not isinstance(c.items, exp.Cast) or not _is_wildcard(c.items.this):
        return None
    if not (isinstance(c.value, exp.Column) and c.value.name == c.var and not c.value.table):
        return None
    assert isinstance(c.items.this, exp.JSONExtract)
    return c.items.this


def wildcard(lw: Lowerer, base: Coll, key: str, many: bool | None) -> exp.Expr | None:
    """The items of ``base.key`` as one wildcard path, when ``key``'s cardinality is known
    and ``base`` is a singleton or itself a wildcard path; else None."""
    wild = _wildcard_path(base)
    if many is None or (wild is None and (base.many or not many)):
        return None
    if wild is not None:
        value, steps = wild.this, list(wild.expression.expressions)
    else:
        access = lw.d.get(base.value, key)  # one path: x -> '$.a.key'
        assert isinstance(access, exp.JSONExtract)
        value, steps = access.this, list(access.expression.expressions)[:-1]
    steps.append(exp.JSONPathKey(this=key))
    if many:
        steps.append(exp.JSONPathSubscript(this=exp.JSONPathWildcard()))
    path = exp.JSONPath(expressions=[s.copy() for s in steps])
    items = exp.JSONExtract(this=value.copy(), expression=path, only_json_types=False)
    # the cast types the list when DuckDB cannot tell (a parameter in the same expression)
    return exp.Cast(this=items, to=exp.DataType.build("JSON[]"))


def filtered(c: Coll, cond: exp.Expr) -> exp.Expr:
    assert c.items is not None and c.var is not None
    return _fn("list_filter", c.items, lam(c.var, cond))


def nth(lw: Lowerer, c: Coll, offset: exp.Expr | None, desc: bool) -> exp.Expr:
    items = as_list(lw, c)
    if desc:
        return _fn("list_extract", items, exp.Literal.number(-1))
    if offset is None:
        return _fn("list_extract", items, exp.Literal.number(1))
    return _fn("list_extract", items, exp.Add(this=offset, expression=exp.Literal.number(1)))


def length(lw: Lowerer, c: Coll) -> exp.Expr:
    return exp.Coalesce(this=_fn("len", as_list(lw, c)), expressions=[exp.Literal.number(0)])


def joined(lw: Lowerer, c: Coll, sep: exp.Expr) -> exp.Expr:
    v = lw.alias("v")
    texts = _fn("list_transform", as_list(lw, c), lam(v, lw.d.op("text", exp.column(v))))
    return _fn("array_to_string", texts, sep)


def json_array(lw: Lowerer, c: Coll) -> exp.Expr:
    return _fn("to_json", as_list(lw, c))


def union(lw: Lowerer, left: Coll, right: Coll, distinct: bool) -> tuple[exp.Expr, str]:
    """(items, var) of ``left | right`` (``distinct``) or ``left.combine(right)``: the
    concatenated lists; ``|`` keeps each value's first occurrence."""
    both = _fn("list_concat", _items(lw, left), _items(lw, right))
    var = lw.alias()
    if not distinct:
        return both, var
    x, i = lw.alias("x"), lw.alias("i")
    first = exp.EQ(this=_fn("list_position", both.copy(), exp.column(x)), expression=exp.column(i))
    keep = exp.Lambda(this=first, expressions=[exp.to_identifier(x), exp.to_identifier(i)])
    return _fn("list_filter", both, keep), var


def _items(lw: Lowerer, c: Coll) -> exp.Expr:
    """``c``'s present items as a ``JSON[]`` (a singleton: a list of one, or empty)."""
    if c.items is not None:
        return as_list(lw, c)
    value = lw.as_json(c)
    empty = exp.Cast(this=exp.Array(expressions=[]), to=exp.DataType.build("JSON[]"))
    return exp.Case(
        ifs=[exp.If(this=exp.Is(this=c.value.copy(), expression=exp.Null()), true=empty)],
        default=exp.Cast(this=exp.Array(expressions=[value]), to=exp.DataType.build("JSON[]")),
    )
