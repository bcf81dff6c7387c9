"""Which date matches the SQL compilers read as a slice of the ``low`` index, and its bounds.

A date match alone is often a half-line (``ge2020-01``) or a two-sided condition on two columns
(``eq``: ``low >= L AND high <= H``); a B-tree serves either by reading every row on one side of
``L``. Nearly every stored date is *regular* (its resource's only value of the parameter, at
most :data:`~helios_persistence.backends.sql.index_tables.NARROW_SPAN` wide): a regular row that
matches has its ``low`` within bounds the search values imply, a short slice of the index. The
other rows carry ``grp`` 0 (see :mod:`~helios_persistence.backends.sql.index_tables`) and are read
from their own partial index (:meth:`SQLPredicates.date_range
<helios_persistence.compilers.sql_predicates.SQLPredicates.date_range>`).
"""

from __future__ import annotations

from collections.abc import Mapping

from helios_persistence import ir, prefixes
from helios_persistence.backends.sql.index_tables import NARROW_SPAN

__all__ = ["bound_values", "date_ranges", "narrow_low_bounds", "sliced"]


def bound_values(low: int, high: int) -> dict[str, int]:
    """The search-side bounds of :func:`prefixes.date_terms` for a value ``[low, high)``."""
    approx_low, approx_high = prefixes.approx_range(low, high)
    return {"L": low, "H": high, "AL": approx_low, "AH": approx_high}


def narrow_low_bounds(
    prefix: ir.Prefix, values: Mapping[str, int]
) -> tuple[int | None, int | None]:
    """``(lo, hi)`` with ``lo <= low < hi`` for every regular date row (``0 < high - low <=
    NARROW_SPAN``) that matches ``prefix`` with these bound ``values`` (None: no bound; with
    ``values`` empty, only whether there is one)."""
    los: list[int | None] = []
    his: list[int | None] = []
    for conjunct in prefixes.date_terms(prefix):
        lo: int | None = None
        hi: int | None = None
        for column, op, name in conjunct:
            v = values.get(name, 0)
            if column == "low" and op in (">", ">="):
                lo = v if lo is None else max(lo, v)
            elif column == "high" and op in (">", ">="):  # low >= high - NARROW_SPAN
                lo = v - NARROW_SPAN if lo is None else max(lo, v - NARROW_SPAN)
            elif op in ("<", "<="):  # low < v, or low < high <= v
                top = v + 1 if column == "low" and op == "<=" else v
                hi = top if hi is None else min(hi, top)
        los.append(lo)
        his.append(hi)
    lower = None if None in los else min(b for b in los if b is not None)
    upper = None if None in his else max(b for b in his if b is not None)
    return lower, upper


def sliced(nodes: list[ir.DateMatch]) -> bool:
    """Whether the date matches ``nodes`` (on one parameter) are better read together as a
    slice: several that bound ``low`` on some side, or one that bounds it on both (``eq``,
    ``ap``)."""
    bounds = [narrow_low_bounds(n.prefix, {}) for n in nodes]
    if len(nodes) == 1:
        return all(b is not None for b in bounds[0])
    return any(b is not None for pair in bounds for b in pair)


def date_ranges(children: tuple[ir.Predicate, ...]) -> dict[str, list[ir.DateMatch]]:
    """The date matches among ``children`` (an AND) to read together, per parameter."""
    found: dict[str, list[ir.DateMatch]] = {}
    for child in children:
        if isinstance(child, ir.DateMatch) and child.param != "_lastUpdated":
            found.setdefault(child.param, []).append(child)
    return {param: nodes for param, nodes in found.items() if len(nodes) > 1 and sliced(nodes)}
