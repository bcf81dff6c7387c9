"""UCUM canonicalisation (ucumvert): canonical units, factors, and what is left alone."""

from __future__ import annotations

from decimal import Decimal

import pytest

from helios_persistence.ucum import canonical, canonical_range, convert


@pytest.mark.parametrize(
    ("value", "code", "expected", "unit"),
    [
        ("5.4", "mg", "0.0054", "g"),
        ("5400", "ug", "0.0054", "g"),
        ("1", "kg", "1000", "g"),
        ("100", "mg/dL", "1000", "g.m-3"),  # 1 mg/dL = 10 g/m3
        ("1", "g/dL", "10000", "g.m-3"),
        ("1", "L", "0.001", "m3"),
        ("2", "h", "7200", "s"),
        ("1", "/min", "0.0166666666666667", "s-1"),
        ("1", "mm[Hg]", "133322.387415", "g.m-1.s-2"),
        ("1", "mmol/L", "6.0221367E+23", "m-3"),  # mol is a count (Avogadro) in UCUM
        ("1", "10*3/uL", "1E+12", "m-3"),
        ("50", "%", "0.5", "1"),
        ("3", "{score}", "3", "1"),  # an annotation alone is unity
        ("1", "mL/min/{1.73_m2}", "1.66666666666667E-8", "m3.s-1"),
        ("1", "[lb_av]", "453.59237", "g"),
        ("37", "Cel", "310.15", "K"),
        ("98.6", "[degF]", "310.15", "K"),
    ],
)
def test_canonical_forms(value: str, code: str, expected: str, unit: str) -> None:
    assert convert(Decimal(value), code) == (Decimal(expected), unit)


@pytest.mark.parametrize("code", ["[iU]/L", "m[IU]/mL", "[pH]", "dB", "not-a-unit", "", "kg/"])
def test_units_that_are_not_canonicalised(code: str) -> None:
    assert canonical(code) is None


def test_conversions_are_cached_per_unit() -> None:
    assert canonical("mg") is canonical("mg")


def test_canonical_range_orders_the_bounds() -> None:
    found = canonical_range(Decimal("5.4"), Decimal("5.35"), Decimal("5.45"), "mg")
    assert found == (Decimal("0.0054"), Decimal("0.00535"), Decimal("0.00545"), "g")
    assert canonical_range(Decimal(1), Decimal("0.5"), Decimal("1.5"), "[iU]") is None
