"""Decimals as text keys whose byte order is their numeric order: exact number indexes on
engines without an exact decimal type (SQLite, DuckDB over an export).

A float holds 53 bits, so ``9007199254740993`` would be stored as ``...992``; a key keeps every
digit of any FHIR decimal, and ``key(a) < key(b)`` (plain byte comparison, SQLite's ``BINARY``
collation, DuckDB's default) exactly when ``a < b``, so range scans and ``MIN``/``MAX`` on
the key column answer as they would on the numbers. Equal numbers have equal keys whatever
their written precision (``1.50`` and ``1.5``): the precision lives in the search ranges.

The layout, for ``±0.d₁d₂…dₙ × 10^e`` with ``d₁`` and ``dₙ`` non-zero:

* ``A`` is −Infinity, ``C`` zero, ``E`` +Infinity (the open ends of a Range);
* a positive number is ``D``, then ``e`` as an ordered integer, then the digits;
* a negative number is ``B``, then ``-e`` as an ordered integer, then every digit ``d`` as
  ``9 - d``, then ``~`` (so that ``-0.12`` sorts after ``-0.125``).

An ordered integer is its digit count as one letter (``a`` = 1 digit, ``b`` = 2, ...) then its
digits for ``n ≥ 0``; for ``n < 0``, ``Z`` = 1 digit, ``Y`` = 2, ... then the digits of ``-n``
as ``9 - d``.
"""

from __future__ import annotations

from decimal import Decimal

__all__ = ["decimal_of_key", "number_key"]

_COMPLEMENT = str.maketrans("0123456789", "9876543210")


def _ordered_int(n: int) -> str:
    if n >= 0:
        digits = str(n)
        return chr(0x60 + len(digits)) + digits
    digits = str(-n)
    return chr(0x5B - len(digits)) + digits.translate(_COMPLEMENT)


def number_key(value: Decimal) -> str:
    """The order-preserving text key of ``value`` (any finite Decimal, or ±Infinity)."""
    if value.is_infinite():
        return "A" if value.is_signed() else "E"
    sign, digit_tuple, exponent = value.as_tuple()
    assert isinstance(exponent, int), "NaN has no key"
    digits = "".join(map(str, digit_tuple)).lstrip("0")
    if not digits:
        return "C"
    stripped = digits.rstrip("0")
    e = len(digits) + exponent  # value = 0.digits × 10^e
    if sign:
        return "B" + _ordered_int(-e) + stripped.translate(_COMPLEMENT) + "~"
    return "D" + _ordered_int(e) + stripped


def _read_int(key: str, at: int) -> tuple[int, int]:
    """The ordered integer at ``key[at:]`` and the position after it."""
    head = ord(key[at])
    if head >= 0x61:
        size = head - 0x60
        return int(key[at + 1 : at + 1 + size]), at + 1 + size
    size = 0x5B - head
    return -int(key[at + 1 : at + 1 + size].translate(_COMPLEMENT)), at + 1 + size


def decimal_of_key(key: str) -> Decimal:
    """The number a key was made from (normalised: ``1.50`` comes back as ``1.5``)."""
    if key in ("A", "C", "E"):
        return {"A": Decimal("-Infinity"), "C": Decimal(0), "E": Decimal("Infinity")}[key]
    if key[0] == "D":
        e, at = _read_int(key, 1)
        return Decimal(f"0.{key[at:]}E{e}")
    e, at = _read_int(key, 1)
    return -Decimal(f"0.{key[at:-1].translate(_COMPLEMENT)}E{-e}")
