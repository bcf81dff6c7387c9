"""FHIRPath operators lowered to SQL: boolean logic, comparison, arithmetic, strings.

Operands are singletons (FHIRPath's singleton evaluation): a collection operand is its first
item. Comparisons pick one SQL type for both sides from their FHIR types: numeric when either
is a number, boolean when either is a boolean, text otherwise (ISO dates and times compare
as text). An empty operand is SQL NULL, so ``and``/``or``/``not`` follow FHIRPath's
three-valued logic.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlglot import exp

from helios_persistence.views import fhirpath as fp
from helios_persistence.views.lower import Coll
from helios_persistence.views.model import is_number_type
from helios_persistence.views.quantities import compare, is_quantity

if TYPE_CHECKING:
    from helios_persistence.views.lower import Lowerer

__all__ = ["binary", "comparison_family"]

_COMPARE: dict[str, type[exp.Expr]] = {
    "=": exp.EQ,
    "!=": exp.NEQ,
    "<": exp.LT,
    ">": exp.GT,
    "<=": exp.LTE,
    ">=": exp.GTE,
}
_ARITH: dict[str, type[exp.Expr]] = {
    "+": exp.Add,
    "-": exp.Sub,
    "*": exp.Mul,
    "/": exp.Div,
    "mod": exp.Mod,
}


def comparison_family(left: Coll, right: Coll) -> str:
    types = {left.type, right.type}
    if any(is_number_type(t) for t in types):
        if all(t in ("integer", "positiveInt", "unsignedInt", "integer64") for t in types):
            return "integer"
        return "decimal"
    if "boolean" in types:
        return "boolean"
    return "text"


def _bool(value: exp.Expr) -> Coll:
    return Coll(value, "sql", "boolean")


def binary(lw: Lowerer, node: fp.Binary, ctx: Coll) -> Coll:
    op = node.op
    left = lw.lower(node.left, ctx)
    right = lw.lower(node.right, ctx)
    if op == "|":
        return lw.union(left, right)
    if op in ("and", "or", "xor", "implies"):
        a, b = lw.boolean(left), lw.boolean(right)
        if op == "and":
            return _bool(exp.and_(a, b))
        if op == "or":
            return _bool(exp.or_(a, b))
        if op == "implies":
            return _bool(exp.or_(exp.not_(a), b))
        return _bool(exp.NEQ(this=a, expression=b))
    if (op in _COMPARE or op in ("~", "!~")) and (is_quantity(left) or is_quantity(right)):
        return _bool(_quantity_comparison(lw, op, left, right))
    if is_quantity(left) or is_quantity(right):
        raise lw.fail(f"operator {op!r} on quantities is not supported", not_supported=True)
    if op in _COMPARE:
        family = comparison_family(left, right)
        a, b = lw.typed(left, family), lw.typed(right, family)
        return _bool(_COMPARE[op](this=a, expression=b))
    if op in ("~", "!~"):
        family = comparison_family(left, right)
        a, b = lw.typed(left, family), lw.typed(right, family)
        if family == "text":
            a, b = exp.Lower(this=a), exp.Lower(this=b)
        same = exp.or_(
            exp.EQ(this=a, expression=b),
            exp.and_(
                exp.Is(this=a.copy(), expression=exp.Null()),
                exp.Is(this=b.copy(), expression=exp.Null()),
            ),
        )
        return _bool(same if op == "~" else exp.not_(same))
    if op == "&":
        a = exp.Coalesce(this=lw.typed(left, "text"), expressions=[exp.Literal.string("")])
        b = exp.Coalesce(this=lw.typed(right, "text"), expressions=[exp.Literal.string("")])
        return Coll(exp.DPipe(this=a, expression=b), "sql", "string")
    if op in ("in", "contains"):
        item, coll = (left, right) if op == "in" else (right, left)
        family = comparison_family(item, coll)
        member = lw.item(coll)
        cond = exp.EQ(this=lw.typed(member, family), expression=lw.typed(item, family))
        return _bool(lw.exists(lw.filter(coll, cond)))
    if op in _ARITH or op == "div":
        return _arithmetic(lw, op, left, right)
    raise lw.fail(f"operator {op!r} is not supported", not_supported=True)


def _quantity_comparison(lw: Lowerer, op: str, left: Coll, right: Coll) -> exp.Expr:
    """A comparison with a Quantity; ``~`` is ``=`` where incomparable units are false."""
    if op in _COMPARE:
        return compare(lw, _COMPARE[op], left, right)
    same = exp.Coalesce(this=compare(lw, exp.EQ, left, right), expressions=[exp.false()])
    return same if op == "~" else exp.not_(same)


def _arithmetic(lw: Lowerer, op: str, left: Coll, right: Coll) -> Coll:
    text_types = {"string", "code", "id", "uri", "url", "markdown"}
    if op == "+" and (left.type in text_types or right.type in text_types):
        return Coll(
            exp.DPipe(this=lw.typed(left, "text"), expression=lw.typed(right, "text")),
            "sql",
            "string",
        )
    family = comparison_family(left, right)
    if family not in ("integer", "decimal"):
        family = "decimal"
    a, b = lw.typed(left, family), lw.typed(right, family)
    if op == "div":
        numeric = exp.DataType.build("BIGINT")
        quotient = exp.Div(this=a, expression=b)
        return Coll(exp.Cast(this=exp.Floor(this=quotient), to=numeric), "sql", "integer")
    if op == "/":
        as_number = exp.DataType.build(lw.d.numeric_type())
        division = exp.Div(this=exp.Cast(this=a, to=as_number), expression=b)
        return Coll(division, "sql", "decimal")
    return Coll(_ARITH[op](this=a, expression=b), "sql", family)
