"""Index rows: the normalised values every backend stores and every search compares against.

One row type per parameter type, mirroring the relational index tables (DESIGN.md, "Search
index model"). Dates are ``[low, high)`` in microseconds since the epoch (UTC); numbers and
quantities carry the interval their written precision implies.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

__all__ = [
    "CompositeRow",
    "DateRow",
    "IndexRow",
    "NumberRow",
    "QuantityRow",
    "ReferenceRow",
    "ResourceIndex",
    "StringRow",
    "TokenRow",
    "UriRow",
]


@dataclass(frozen=True, slots=True)
class StringRow:
    """``norm`` is :func:`helios_persistence.fhir_values.fold` of ``exact``."""

    param: str
    norm: str
    exact: str


@dataclass(frozen=True, slots=True)
class TokenRow:
    """A Coding, CodeableConcept coding, Identifier, ContactPoint, code, boolean or string.

    ``text`` is the display / CodeableConcept.text / Identifier.type.text used by ``:text``
    (folded). ``type_system``/``type_code`` are an Identifier's type coding (``:of-type``).
    """

    param: str
    system: str | None
    code: str | None
    text: str | None = None
    type_system: str | None = None
    type_code: str | None = None


@dataclass(frozen=True, slots=True)
class DateRow:
    param: str
    low: int
    high: int


@dataclass(frozen=True, slots=True)
class NumberRow:
    param: str
    value: Decimal
    low: Decimal
    high: Decimal


@dataclass(frozen=True, slots=True)
class QuantityRow:
    """A Quantity as written plus, when UCUM knows the unit, its canonical form."""

    param: str
    value: Decimal
    low: Decimal
    high: Decimal
    system: str | None
    code: str | None
    unit: str | None
    canonical_value: Decimal | None = None
    canonical_low: Decimal | None = None
    canonical_high: Decimal | None = None
    canonical_unit: str | None = None


@dataclass(frozen=True, slots=True)
class ReferenceRow:
    """A reference: relative (``Patient/1``), absolute URL, canonical, logical or contained.

    ``target_type``/``target_id`` are set for references the store can follow (relative, or
    absolute on this server); ``url`` holds absolute and canonical references as written;
    ``identifier_system``/``identifier_value`` a logical reference's identifier (``:identifier``).
    """

    param: str
    target_type: str | None
    target_id: str | None
    version: str | None = None
    url: str | None = None
    identifier_system: str | None = None
    identifier_value: str | None = None


@dataclass(frozen=True, slots=True)
class UriRow:
    param: str
    uri: str


IndexRow = StringRow | TokenRow | DateRow | NumberRow | QuantityRow | ReferenceRow | UriRow


@dataclass(frozen=True, slots=True)
class CompositeRow:
    """One repetition of a composite parameter: its component rows, in definition order."""

    param: str
    components: tuple[IndexRow, ...]


@dataclass(frozen=True, slots=True)
class ResourceIndex:
    """Everything extracted from one resource."""

    rows: tuple[IndexRow | CompositeRow, ...]
    #: the narrative text (``text.div`` without markup), for ``_text``
    narrative: str
    #: every string in the resource, for ``_content``
    content: str
