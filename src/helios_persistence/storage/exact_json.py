"""Resources as JSON text, without going through floats: FHIR decimals keep their digits.

FHIR decimals carry their written precision (``1.50`` is not ``1.5``: R4 datatypes,
"decimal"). A resource given as a dict already went through ``float`` if its caller parsed it
with the standard ``json.loads``; a resource given as JSON text or bytes is parsed here with
every decimal a :class:`~decimal.Decimal` (and integers a double cannot hold too), so the
stored document, and :attr:`StoredResource.json` read back from it, keep the digits as
written. :func:`helios_persistence.storage.validation.serialize` writes a ``Decimal`` as its
own text.

What callers see: a dict caller's floats are stored as before (each float's shortest repr) and
its ``StoredResource.resource`` is unchanged; a text caller's ``StoredResource.resource`` is
what ``json.loads`` makes of the stored text (floats, as on every read), and
``StoredResource.json`` is the stored text with the digits as written.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from helios_persistence.errors import InvalidResource

__all__ = ["decimal_text", "loads", "parse_resource"]

#: integers a 64-bit engine (and orjson) holds; longer ones stay exact as Decimals
_MAX_INT_DIGITS = 18


def _constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _integer(text: str) -> int | Decimal:
    return int(text) if len(text.lstrip("-")) <= _MAX_INT_DIGITS else Decimal(text)


def loads(text: str | bytes) -> Any:
    """JSON text (or UTF-8 bytes) with every decimal a ``Decimal`` (``ValueError`` if it is
    not JSON; ``NaN`` and ``Infinity`` are not)."""
    return json.loads(text, parse_float=Decimal, parse_int=_integer, parse_constant=_constant)


def parse_resource(resource: Any) -> Any:
    """A resource given as JSON text or bytes, parsed exactly (:func:`loads`); anything else
    is returned as it is (validation then decides whether it is a resource)."""
    if not isinstance(resource, str | bytes | bytearray):
        return resource
    try:
        return loads(bytes(resource) if isinstance(resource, bytearray) else resource)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError too
        raise InvalidResource(f"the resource is not valid JSON: {exc}") from None


def decimal_text(value: Decimal) -> str:
    """The JSON text of a finite ``Decimal``, with its digits as written: plain notation for
    fractions (``0.0000001``, not ``1E-7``), the value's own text otherwise (``1.50``,
    ``1E+2``)."""
    if not value.is_finite():
        raise ValueError(f"{value} is not a JSON number")
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)
    return format(value, "f") if exponent < 0 else str(value)
