"""FHIRPath Quantity literals (``5 'mg'``, ``4 days``) and comparisons with quantities.

A literal is a JSON object ``{"value": v, "code": unit}`` (its value and unit bound
parameters). A comparison of a FHIR Quantity with a literal happens in UCUM canonical units
(:mod:`helios_persistence.ucum`): the literal is converted when the view is compiled; the
stored quantity's unit (its ``code``, else its ``unit``) is looked up at run time in a table of
the common UCUM units commensurable with the literal (``COMMON_UNITS`` plus the literal's own
unit), so ``valueQuantity > 5 'mg'`` finds ``0.006 g`` and ``6000 ug``. A stored unit outside
that table, or not commensurable, compares as empty (FHIRPath: incomparable units give
empty). Two stored quantities compare only when their units are written the same.

Calendar durations ``week`` and shorter are their UCUM units (``wk``, ``d``, ``h``, ``min``,
``s``, ``ms``), as FHIRPath defines; ``year`` and ``month`` have no fixed length in FHIRPath and
are rejected (not supported) rather than compared approximately.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlglot import exp

from helios_persistence.indexing import model as fhir_model
from helios_persistence.views.lower import Coll

if TYPE_CHECKING:
    from helios_persistence.views.lower import Lowerer

__all__ = ["COMMON_UNITS", "compare", "is_quantity", "literal"]

#: UCUM units a stored quantity is converted from (those commensurable with the literal)
COMMON_UNITS = (
    # mass, length, volume
    *("kg", "g", "mg", "ug", "ng", "pg", "[lb_av]", "[oz_av]"),
    *("km", "m", "cm", "mm", "um", "nm", "[in_i]", "[ft_i]"),
    *("L", "dL", "cL", "mL", "uL", "nL", "fL", "m3", "cm3", "mm3"),
    # time, frequency
    *("a", "mo", "wk", "d", "h", "min", "s", "ms", "us", "/min", "/s", "/h", "Hz"),
    # amount of substance and concentrations
    *("mol", "mmol", "umol", "nmol", "pmol", "eq", "meq"),
    *("g/L", "g/dL", "mg/dL", "mg/L", "ug/L", "ug/dL", "ng/mL", "pg/mL", "kg/m2"),
    *("mol/L", "mmol/L", "umol/L", "nmol/L", "pmol/L", "meq/L"),
    # pressure, temperature, ratios, energy
    *("Pa", "kPa", "mm[Hg]", "cm[H2O]", "bar", "Cel", "[degF]", "K", "%", "1"),
    *("J", "kJ", "cal", "kcal", "[Cal]", "mL/min", "L/min", "mL/h"),
)

_CALENDAR = {
    "week": "wk",
    "weeks": "wk",
    "day": "d",
    "days": "d",
    "hour": "h",
    "hours": "h",
    "minute": "min",
    "minutes": "min",
    "second": "s",
    "seconds": "s",
    "millisecond": "ms",
    "milliseconds": "ms",
}
_UNFIXED = {"year", "years", "month", "months"}


def is_quantity(c: Coll) -> bool:
    return c.type is not None and (
        c.type == "Quantity" or fhir_model.is_subtype(c.type, "Quantity")
    )


def unit_code(lw: Lowerer, unit: str, quoted: bool) -> str:
    """The UCUM code of a literal's unit (calendar keywords mapped, year/month refused)."""
    if quoted:
        return unit
    if unit in _UNFIXED:
        raise lw.fail(
            f"the calendar duration {unit!r} has no fixed length and cannot be compared with "
            "quantities; write a UCUM unit such as 'a' or 'mo'",
            not_supported=True,
        )
    return _CALENDAR.get(unit, unit)


def literal(lw: Lowerer, value: Decimal, unit: str) -> Coll:
    """A Quantity literal as a JSON object (value and unit bound)."""
    obj = lw.d.op("json_quantity", lw.bind(value), lw.bind(unit))
    return Coll(obj, "json", "Quantity", "Quantity", quantity=(value, unit))


def compare(lw: Lowerer, op: type[exp.Expr], left: Coll, right: Coll) -> exp.Expr:
    """``left op right`` where one side is a Quantity (NULL when the units do not meet)."""
    if right.quantity is not None:
        return _with_literal(lw, lambda a, b: op(this=a, expression=b), left, right.quantity)
    if left.quantity is not None:
        return _with_literal(lw, lambda a, b: op(this=b, expression=a), right, left.quantity)
    return _stored_pair(lw, op, left, right)


def _value_and_unit(lw: Lowerer, c: Coll) -> tuple[exp.Expr, exp.Expr]:
    one = lw.scalar(c)
    if one.quantity is not None:
        return lw.bind(one.quantity[0]), lw.bind(one.quantity[1])
    value = lw.d.op("to_number", lw.d.get(one.value, "value"))
    code = lw.d.op("text", lw.d.get(one.value, "code"))
    unit = lw.d.op("text", lw.d.get(one.value, "unit"))
    return value, exp.Coalesce(this=code, expressions=[unit])


def _with_literal(
    lw: Lowerer,
    op: Callable[[exp.Expr, exp.Expr], exp.Expr],
    data: Coll,
    lit: tuple[Decimal, str],
) -> exp.Expr:
    """``CASE unit WHEN u THEN value op <the literal in u> ... END`` over the units the
    literal converts to (the literal in its own unit is its value, exactly)."""
    from helios_persistence import ucum

    value, unit = _value_and_unit(lw, data)
    lit_value, lit_unit = lit
    targets: dict[str, Decimal] = {lit_unit: lit_value}
    conversion = ucum.canonical(lit_unit)
    if conversion is not None:
        in_canonical = conversion.apply(lit_value)
        for code in COMMON_UNITS:
            other = ucum.canonical(code)
            if code not in targets and other is not None and other.unit == conversion.unit:
                targets[code] = _round((in_canonical - other.offset) / other.factor)
    ifs = [
        exp.If(
            this=exp.EQ(this=unit.copy(), expression=lw.bind(code)),
            true=op(value.copy(), lw.bind(amount)),
        )
        for code, amount in targets.items()
    ]
    return exp.Case(ifs=ifs)


def _round(value: Decimal) -> Decimal:
    return Decimal(format(value, ".15g"))


def _stored_pair(lw: Lowerer, op: type[exp.Expr], left: Coll, right: Coll) -> exp.Expr:
    a, unit_a = _value_and_unit(lw, left)
    b, unit_b = _value_and_unit(lw, right)
    same = exp.EQ(this=unit_a, expression=unit_b)
    return exp.Case(ifs=[exp.If(this=same, true=op(this=a, expression=b))])
