"""What each comparison prefix means, written once for every compiler and the evaluator.

R4 search defines prefixes on **ranges** (http://hl7.org/fhir/R4/search.html#prefix). A search
value ``[L, H)`` is compared with a stored value:

* dates: the stored value is a range ``[low, high)`` too;
* numbers and quantities: the stored value is a point ``value`` (its own precision is not used
  for comparison; R4 compares "the value for the parameter in the resource").

The result is a small condition algebra: a disjunction (list) of conjunctions (lists) of
``(column, operator, bound)`` terms, where a column names a stored field (``low``, ``high``,
``value``) and a bound names a search-side value (``L``, ``H``, ``V`` for the value as
written, ``AL``/``AH`` for the approximate range). Compilers turn terms into SQL, Cypher or
Elasticsearch ranges; the reference evaluator evaluates them directly.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from helios_persistence.ir import Prefix

__all__ = ["APPROX_FRACTION", "Term", "approx_range", "date_terms", "number_terms"]

Op = Literal["<", "<=", ">", ">=", "=", "!="]
Term = tuple[str, Op, str]

#: ``ap`` is "within 10%" (R4 leaves the margin to the server)
APPROX_FRACTION = Decimal("0.1")
_DAY = 86_400_000_000

_DATE: dict[Prefix, list[list[Term]]] = {
    # the search range fully contains the stored range
    Prefix.EQ: [[("low", ">=", "L"), ("high", "<=", "H")]],
    Prefix.NE: [[("low", "<", "L")], [("high", ">", "H")]],
    # the range above (below) the search value intersects the stored range
    Prefix.GT: [[("high", ">", "H")]],
    Prefix.LT: [[("low", "<", "L")]],
    # some part of the stored range is at or after the start of the search range (at or
    # before its end): what HAPI and IBM FHIR answer. R4's own words ("gt, or the search
    # range fully contains the stored range") miss a stored range that straddles the search
    # range's start (end): ge2021-03-05T23:59:59 would not find a resource dated 2021-03-05
    Prefix.GE: [[("high", ">", "L")]],
    Prefix.LE: [[("low", "<", "H")]],
    # starts after the search range ends / ends before it starts
    Prefix.SA: [[("low", ">=", "H")]],
    Prefix.EB: [[("high", "<=", "L")]],
    # overlaps the search range widened by 10% of its width (at least a day) on each side
    Prefix.AP: [[("low", "<", "AH"), ("high", ">", "AL")]],
}

_NUMBER: dict[Prefix, list[list[Term]]] = {
    # the stored value lies in the precision range of the search value
    Prefix.EQ: [[("value", ">=", "L"), ("value", "<", "H")]],
    Prefix.NE: [[("value", "<", "L")], [("value", ">=", "H")]],
    Prefix.GT: [[("value", ">", "V")]],
    Prefix.LT: [[("value", "<", "V")]],
    Prefix.GE: [[("value", ">=", "V")]],
    Prefix.LE: [[("value", "<=", "V")]],
    Prefix.SA: [[("value", ">", "V")]],
    Prefix.EB: [[("value", "<", "V")]],
    # within 10% of the search value
    Prefix.AP: [[("value", ">=", "AL"), ("value", "<=", "AH")]],
}


def date_terms(prefix: Prefix) -> list[list[Term]]:
    """Conditions on a stored ``[low, high)`` date range for ``prefix``."""
    return _DATE[prefix]


def number_terms(prefix: Prefix) -> list[list[Term]]:
    """Conditions on a stored number/quantity ``value`` for ``prefix``."""
    return _NUMBER[prefix]


def approx_range(low: int, high: int) -> tuple[int, int]:
    """The widened search range ``[AL, AH)`` of a date ``ap``."""
    margin = max((high - low) // 10, _DAY)
    return low - margin, high + margin


def approx_number(value: Decimal) -> tuple[Decimal, Decimal]:
    """``[AL, AH]`` of a number or quantity ``ap``: ±10% of the value."""
    margin = abs(value) * APPROX_FRACTION
    return value - margin, value + margin
