"""UCUM canonical units for quantity search (``5.4|http://unitsofmeasure.org|mg`` finds 5400 ug).

The conversion comes from **ucumvert** (a Lark grammar of UCUM on top of pint, with UCUM's
own unit table): a unit code is parsed once, reduced to base units, and the result cached, so
indexing pays a dictionary lookup per quantity. Canonical units are UCUM's base units — ``g``
(not pint's kg), ``m``, ``s``, ``K``, ``C`` (pint's ampere becomes ``C.s-1``), ``cd`` — and
``mol`` is UCUM's dimensionless count (6.0221367×10²³), so ``mmol/L`` canonicalises to
``6.0221367e20 m-3`` as in UCUM (and HAPI). The canonical unit is written as dot-separated
atoms with exponents in a fixed order (``g.m-3``); a dimensionless unit is ``1``.

Not canonicalised (``canonical`` returns None, so a search compares system|code as written):
arbitrary units (``[iU]``, ``[arb'U]``, …: UCUM says they are commensurable with nothing),
non-linear special units (``[pH]``, ``B``, ``Np``), and codes UCUM does not know. The
temperature scales (``Cel``, ``[degF]``) are affine and convert with their offset (37 Cel is
310.15 K).

Conversion factors come from pint as binary floats and are rounded to 15 significant digits,
so ``mg/dL`` is exactly ``10 g.m-3``, not ``9.999999999999998``.
"""

from __future__ import annotations

import re
import threading
import warnings
from dataclasses import dataclass
from decimal import Decimal
from functools import cache, lru_cache
from typing import Any

__all__ = ["UCUM_SYSTEM", "Conversion", "canonical", "canonical_range", "convert"]

UCUM_SYSTEM = "http://unitsofmeasure.org"

#: Avogadro's number as UCUM defines ``mol``
_AVOGADRO = Decimal("6.0221367e23")
_ORDER = ("g", "m", "s", "K", "C", "cd")
_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class Conversion:
    """``canonical value = value × factor + offset``, in ``unit``."""

    unit: str
    factor: Decimal
    offset: Decimal = Decimal(0)

    def apply(self, value: Decimal) -> Decimal:
        result = value * self.factor + self.offset
        return _round(result) if result else result


def _round(value: Decimal, digits: int = 15) -> Decimal:
    if not value.is_finite() or value == 0:
        return value
    shift = digits - value.adjusted() - 1
    return value.scaleb(shift).quantize(Decimal(1)).scaleb(-shift).normalize()


@cache
def _registry() -> Any:
    from ucumvert import PintUcumRegistry

    return PintUcumRegistry()


@cache
def _arbitrary_atoms() -> frozenset[str]:
    from ucumvert.xml_util import get_units_with_full_definition

    return frozenset(u.code_cs for u in get_units_with_full_definition() if u.is_arbitrary)


_ANNOTATION_RE = re.compile(r"\{[^}]*\}")
_BRACKET_RE = re.compile(r"\[[^\]]*\]")


def _base(quantity: Any) -> tuple[Decimal, dict[str, int]]:
    """A pint quantity in UCUM base units: ``(magnitude, {atom: exponent})``."""
    base = quantity.to_base_units()
    magnitude = Decimal(repr(float(base.magnitude)))
    atoms: dict[str, int] = {}

    def add(atom: str, exponent: int) -> None:
        atoms[atom] = atoms.get(atom, 0) + exponent

    for unit, exp in base.unit_items():
        exponent = int(exp)
        if exponent != exp:
            raise ValueError("fractional exponent")
        if unit == "kilogram":
            magnitude *= Decimal(1000) ** exponent
            add("g", exponent)
        elif unit == "meter":
            add("m", exponent)
        elif unit == "second":
            add("s", exponent)
        elif unit == "kelvin":
            add("K", exponent)
        elif unit == "ampere":
            add("C", exponent)
            add("s", -exponent)
        elif unit == "mole":
            magnitude *= _AVOGADRO**exponent
        elif unit == "candela":
            add("cd", exponent)
        elif unit in ("radian", "bit", "steradian"):
            continue
        else:
            raise ValueError(f"no UCUM base unit for {unit}")
    return magnitude, {a: e for a, e in atoms.items() if e}


def _unit_text(atoms: dict[str, int]) -> str:
    parts = []
    for atom in _ORDER:
        exp = atoms.get(atom)
        if exp:
            parts.append(atom if exp == 1 else f"{atom}{exp}")
    return ".".join(parts) or "1"


#: units worth converting: short, without long digit runs (converting ``10^999999999``
#: takes minutes: a denial of service through one search value or one stored resource)
_CONVERTIBLE = re.compile(r"(?!.*\d{5})[^\x00-\x1f]{1,64}", re.S)


@lru_cache(maxsize=4096)
def canonical(code: str) -> Conversion | None:
    """How to bring a value in UCUM unit ``code`` to canonical form, or None (see module doc)."""
    code = code.strip()
    if not code or not _CONVERTIBLE.fullmatch(code):
        return None
    if not _ANNOTATION_RE.sub("", code):
        return Conversion("1", Decimal(1))  # only annotations, e.g. {score}: UCUM's unity
    try:
        arbitrary = _arbitrary_atoms()
    except ImportError:  # pragma: no cover - ucumvert is a dependency
        warnings.warn(
            "ucumvert is not installed: quantities get no UCUM canonical form",
            RuntimeWarning,
            stacklevel=2,
        )
        return None
    if any(atom in arbitrary for atom in _BRACKET_RE.findall(code)):
        return None
    try:
        with _lock:
            ureg = _registry()
            unit = ureg.from_ucum(code)
            if not hasattr(unit, "to_base_units"):
                return None
            points = [
                _base(ureg.Quantity(x * unit.magnitude, unit.units)) for x in (0, 1, 2, 10**6)
            ]
    except Exception:  # an unknown or unparsable unit: not canonicalised
        return None
    (v0, u0), (v1, u1), (v2, u2), (vm, um) = points
    if not u0 == u1 == u2 == um:
        return None
    if not all(v.is_finite() for v in (v0, v1, v2, vm)):
        return None  # logarithmic units overflow (pint computes them with numpy, if present)
    # multiplicative units: the value at 1; affine ones (Cel, [degF]): a wide secant, which
    # keeps the float error of the offset out of the factor
    factor = v1 if v0 == 0 else (vm - v0) / 10**6
    if factor == 0 or abs((v2 - v0) - 2 * factor) > abs(factor) * Decimal("1e-9"):
        return None  # not affine: [pH], bels, nepers
    return Conversion(_unit_text(u1), _round(factor), _round(v0) if v0 else Decimal(0))


def convert(value: Decimal, code: str) -> tuple[Decimal, str] | None:
    """``value`` in unit ``code`` as ``(canonical value, canonical unit)``, or None."""
    conversion = canonical(code)
    if conversion is None:
        return None
    return conversion.apply(value), conversion.unit


@lru_cache(maxsize=65536)
def canonical_range(
    value: Decimal, low: Decimal, high: Decimal, code: str
) -> tuple[Decimal, Decimal, Decimal, str] | None:
    """A value and its precision range in canonical form: ``(value, low, high, unit)``.

    Memoised: measurements repeat (same value, same unit) across resources.

    The same conversion the indexer applies to stored quantities, so a search value and an
    indexed value meet in one unit (the signature of the search parser's canonicaliser hook).
    """
    conversion = canonical(code)
    if conversion is None:
        return None
    c_low, c_high = conversion.apply(low), conversion.apply(high)
    if c_low > c_high:
        c_low, c_high = c_high, c_low
    return conversion.apply(value), c_low, c_high, conversion.unit
