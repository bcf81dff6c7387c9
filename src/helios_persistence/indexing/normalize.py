"""Normalisers: one FHIR value of a known type → the index rows of one parameter type.

A normaliser is ``(param, value, root, out) -> None`` and appends rows to ``out``. It is chosen
once per (parameter type, FHIR type) by :func:`normaliser`; values of a type a parameter type
cannot use (a ``string`` under a date parameter, an ``Age`` under a date) are skipped, which is
what the R4 definitions mean by listing them. A value whose JSON has the wrong shape (a date
that is a number, a Quantity whose value is a string) raises :class:`BadValue`, which
:func:`~helios_persistence.indexing.extract` turns into ``InvalidResource``.

Rules beyond the row docstrings:

* **string** — ``norm`` is :func:`~helios_persistence.fhir_values.fold`, ``exact`` as written;
  HumanName gives family, each given, prefix, suffix and text; Address each line, city,
  district, state, postalCode, country and text.
* **token** — Coding: system, code, folded display. CodeableConcept: one row per coding,
  ``text`` the folded ``CodeableConcept.text`` or else the coding's display; a concept with
  only text gives one row with no system and code. Identifier: system and value, the type's
  codings in ``type_system``/``type_code`` (one row per type coding), folded ``type.text``.
  ContactPoint: the value as code, no system (R4: token on ContactPoint matches the value).
  code/string/id/uri: the code, no system. boolean: ``true``/``false``.
* **date** — dates via :func:`~helios_persistence.fhir_values.parse_date` (no timezone = UTC);
  Period ``[start.low, end.high)`` with a missing end open (``MIN_MICROS``/``MAX_MICROS``);
  Timing: each ``event``, and ``repeat.boundsPeriod`` as a Period.
* **number / quantity** — the value's written precision gives ``[low, high)``; a JSON float
  is read through its shortest repr (parse JSON with ``parse_float=Decimal`` to keep trailing
  zeros). Range: ``value`` is low.value (else high.value), ``[low.low, high.high)``, an open
  end ±Infinity. Quantity ``comparator`` is not indexed. Money: system
  ``urn:iso:std:iso:4217``, code = currency. UCUM quantities also get the canonical form
  (:mod:`helios_persistence.ucum`). SampledData is not indexed.
* **reference** — :mod:`helios_persistence.indexing.references`. **uri** — as written.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from functools import lru_cache
from typing import Any

from helios_persistence import ucum
from helios_persistence.fhir_values import MAX_MICROS, MIN_MICROS, fold, parse_date, parse_number
from helios_persistence.indexing import model as m
from helios_persistence.indexing.references import BadReference, reference_rows
from helios_persistence.indexing.rows import (
    DateRow,
    NumberRow,
    QuantityRow,
    StringRow,
    TokenRow,
    UriRow,
)
from helios_persistence.registry import ParamType

__all__ = ["BadValue", "Normaliser", "dynamic", "infer_type", "normaliser", "number_text"]

Normaliser = Callable[[str, Any, dict[str, Any], list[Any]], None]

ISO_4217 = "urn:iso:std:iso:4217"
_INF = Decimal("Infinity")


class BadValue(ValueError):
    """A value whose JSON shape the index cannot read."""


_fold = lru_cache(maxsize=1 << 16)(fold)


@lru_cache(maxsize=1 << 16)
def _date(text: str) -> tuple[int, int]:
    found = parse_date(text)
    return found.low, found.high


def _date_range(value: Any) -> tuple[int, int]:
    if not isinstance(value, str):
        raise BadValue(f"expected a date string, got {type(value).__name__}")
    try:
        return _date(value)
    except ValueError as exc:
        raise BadValue(str(exc)) from None


def number_text(value: Any) -> str:
    """The text of a JSON number (int, float via its shortest repr, or Decimal)."""
    kind = type(value)
    if kind is int or kind is Decimal:
        return str(value)
    if kind is float:
        return repr(value)
    raise BadValue(f"expected a number, got {kind.__name__}")


@lru_cache(maxsize=1 << 16)
def _number(text: str) -> tuple[Decimal, Decimal, Decimal]:
    found = parse_number(text)
    return found.value, found.low, found.high


def _number_range(value: Any) -> tuple[Decimal, Decimal, Decimal]:
    try:
        return _number(number_text(value))
    except ValueError as exc:
        raise BadValue(str(exc)) from None


def _str(value: Any, what: str) -> str:
    if type(value) is not str:
        raise BadValue(f"expected {what}, got {type(value).__name__}")
    return value


def _opt_str(obj: dict[str, Any], key: str) -> str | None:
    value = obj.get(key)
    if value is None or type(value) is str:
        return value
    raise BadValue(f"{key} must be a string, got {type(value).__name__}")


def _obj(value: Any, what: str) -> dict[str, Any]:
    if type(value) is not dict:
        raise BadValue(f"expected a {what} object, got {type(value).__name__}")
    return value


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if type(value) is list else [value]


# -- string -------------------------------------------------------------------------------------
def _string_primitive(param: str, value: Any, root: dict[str, Any], out: list[Any]) -> None:
    text = _str(value, "a string")
    out.append(StringRow(param, _fold(text), text))


def _string_parts(keys: tuple[str, ...], what: str) -> Normaliser:
    def normalise(param: str, value: Any, root: dict[str, Any], out: list[Any]) -> None:
        obj = _obj(value, what)
        for key in keys:
            for part in _list(obj.get(key)):
                if part is not None:
                    text = _str(part, f"{what}.{key} to be a string")
                    out.append(StringRow(param, _fold(text), text))

    return normalise


_human_name = _string_parts(("family", "given", "prefix", "suffix", "text"), "HumanName")
_address = _string_parts(
    ("line", "city", "district", "state", "postalCode", "country", "text"), "Address"
)


# -- token --------------------------------------------------------------------------------------
def _coding(param: str, value: Any, root: dict[str, Any], out: list[Any]) -> None:
    obj = _obj(value, "Coding")
    system, code, display = _opt_str(obj, "system"), _opt_str(obj, "code"), _opt_str(obj, "display")
    if system is None and code is None and display is None:
        return
    out.append(TokenRow(param, system, code, _fold(display) if display else None))


def _codeable_concept(param: str, value: Any, root: dict[str, Any], out: list[Any]) -> None:
    # the hottest normaliser (every code, category, composite code): checks inlined
    if type(value) is not dict:
        raise BadValue(f"expected a CodeableConcept object, got {type(value).__name__}")
    text = value.get("text")
    folded = _fold(_str(text, "CodeableConcept.text to be a string")) if text else None
    codings = value.get("coding")
    if codings:
        for c in codings if type(codings) is list else (codings,):
            if type(c) is not dict:
                raise BadValue(f"expected a Coding object, got {type(c).__name__}")
            system, code = c.get("system"), c.get("code")
            if (system is not None and type(system) is not str) or (
                code is not None and type(code) is not str
            ):
                raise BadValue("Coding.system and Coding.code must be strings")
            label = folded
            if label is None:
                display = c.get("display")
                if display:
                    label = _fold(_str(display, "Coding.display to be a string"))
            out.append(TokenRow(param, system, code, label))
    elif folded:
        out.append(TokenRow(param, None, None, folded))


def _identifier(param: str, value: Any, root: dict[str, Any], out: list[Any]) -> None:
    obj = _obj(value, "Identifier")
    system, code = _opt_str(obj, "system"), _opt_str(obj, "value")
    if system is None and code is None:
        return
    id_type = obj.get("type")
    if id_type is None:
        out.append(TokenRow(param, system, code))
        return
    id_type = _obj(id_type, "Identifier.type")
    text = _opt_str(id_type, "text")
    folded = _fold(text) if text else None
    codings = _list(id_type.get("coding"))
    if not codings:
        out.append(TokenRow(param, system, code, folded))
    for coding in codings:
        c = _obj(coding, "Coding")
        out.append(
            TokenRow(param, system, code, folded, _opt_str(c, "system"), _opt_str(c, "code"))
        )


def _contact_point(param: str, value: Any, root: dict[str, Any], out: list[Any]) -> None:
    obj = _obj(value, "ContactPoint")
    code = _opt_str(obj, "value")
    if code is not None:
        out.append(TokenRow(param, None, code))


def _token_code(param: str, value: Any, root: dict[str, Any], out: list[Any]) -> None:
    out.append(TokenRow(param, None, _str(value, "a code string")))


def _token_boolean(param: str, value: Any, root: dict[str, Any], out: list[Any]) -> None:
    if type(value) is not bool:
        raise BadValue(f"expected a boolean, got {type(value).__name__}")
    out.append(TokenRow(param, None, "true" if value else "false"))


# -- date ---------------------------------------------------------------------------------------
def _date_primitive(param: str, value: Any, root: dict[str, Any], out: list[Any]) -> None:
    low, high = _date_range(value)
    out.append(DateRow(param, low, high))


def _period(param: str, value: Any, root: dict[str, Any], out: list[Any]) -> None:
    obj = _obj(value, "Period")
    start, end = obj.get("start"), obj.get("end")
    if start is None and end is None:
        return
    low = _date_range(start)[0] if start is not None else MIN_MICROS
    high = _date_range(end)[1] if end is not None else MAX_MICROS
    out.append(DateRow(param, low, high))


def _timing(param: str, value: Any, root: dict[str, Any], out: list[Any]) -> None:
    obj = _obj(value, "Timing")
    for event in _list(obj.get("event")):
        if event is not None:
            _date_primitive(param, event, root, out)
    repeat = obj.get("repeat")
    if repeat is not None:
        bounds = _obj(repeat, "Timing.repeat").get("boundsPeriod")
        if bounds is not None:
            _period(param, bounds, root, out)


# -- number and quantity ------------------------------------------------------------------------
def _number_primitive(param: str, value: Any, root: dict[str, Any], out: list[Any]) -> None:
    out.append(NumberRow(param, *_number_range(value)))


def _quantity_row(
    param: str,
    value: Decimal,
    low: Decimal,
    high: Decimal,
    system: str | None,
    code: str | None,
    unit: str | None,
) -> QuantityRow:
    if system == ucum.UCUM_SYSTEM and code:
        found = ucum.canonical_range(value, low, high, code)
        if found is not None:
            return QuantityRow(param, value, low, high, system, code, unit, *found)
    return QuantityRow(param, value, low, high, system, code, unit)


def _quantity(param: str, value: Any, root: dict[str, Any], out: list[Any]) -> None:
    obj = _obj(value, "Quantity")
    number = obj.get("value")
    if number is None:
        return
    val, low, high = _number_range(number)
    system, code, unit = _opt_str(obj, "system"), _opt_str(obj, "code"), _opt_str(obj, "unit")
    out.append(_quantity_row(param, val, low, high, system, code, unit))


def _money(param: str, value: Any, root: dict[str, Any], out: list[Any]) -> None:
    obj = _obj(value, "Money")
    number = obj.get("value")
    if number is None:
        return
    currency = _opt_str(obj, "currency")
    out.append(QuantityRow(param, *_number_range(number), ISO_4217, currency, currency))


def _range_parts(value: Any) -> tuple[Decimal, Decimal, Decimal, dict[str, Any]] | None:
    obj = _obj(value, "Range")
    low_q = _obj(obj["low"], "Range.low") if obj.get("low") is not None else None
    high_q = _obj(obj["high"], "Range.high") if obj.get("high") is not None else None
    low_v = low_q.get("value") if low_q else None
    high_v = high_q.get("value") if high_q else None
    if low_v is None and high_v is None:
        return None
    low = _number_range(low_v) if low_v is not None else None
    high = _number_range(high_v) if high_v is not None else None
    val = low[0] if low else high[0]  # type: ignore[index]
    unit_of = low_q if low_v is not None else high_q
    assert unit_of is not None
    return val, low[1] if low else -_INF, high[2] if high else _INF, unit_of


def _quantity_range(param: str, value: Any, root: dict[str, Any], out: list[Any]) -> None:
    parts = _range_parts(value)
    if parts is None:
        return
    val, low, high, q = parts
    system, code, unit = _opt_str(q, "system"), _opt_str(q, "code"), _opt_str(q, "unit")
    out.append(_quantity_row(param, val, low, high, system, code, unit))


def _number_from_range(param: str, value: Any, root: dict[str, Any], out: list[Any]) -> None:
    parts = _range_parts(value)
    if parts is not None:
        out.append(NumberRow(param, *parts[:3]))


# -- reference and uri --------------------------------------------------------------------------
def _reference(param: str, value: Any, root: dict[str, Any], out: list[Any]) -> None:
    if type(value) is not dict:
        raise BadValue(f"expected a Reference object, got {type(value).__name__}")
    try:
        out.extend(reference_rows(param, value, None, root))
    except BadReference as exc:
        raise BadValue(str(exc)) from None


def _reference_of(fhir_type: str) -> Normaliser:
    def normalise(param: str, value: Any, root: dict[str, Any], out: list[Any]) -> None:
        if type(value) is not str:
            raise BadValue(f"expected a {fhir_type} string, got {type(value).__name__}")
        out.extend(reference_rows(param, value, fhir_type, root))

    return normalise


def _uri(param: str, value: Any, root: dict[str, Any], out: list[Any]) -> None:
    out.append(UriRow(param, _str(value, "a uri string")))


# -- dispatch -----------------------------------------------------------------------------------
_STRINGY = frozenset({"string", "markdown", "code", "id", "uri", "url", "canonical", "oid", "uuid"})
_DATES = frozenset({"date", "dateTime", "instant"})
_NUMBERS = frozenset({"decimal", "integer", "positiveInt", "unsignedInt"})


def _skip(param: str, value: Any, root: dict[str, Any], out: list[Any]) -> None:
    return None


def normaliser(param_type: ParamType, fhir_type: str | None) -> Normaliser | None:
    """The normaliser for values of ``fhir_type`` under a parameter of ``param_type``.

    None means "this type gives no rows for this parameter type"; ``fhir_type`` None means
    "unknown until run time" (fhirpathpy results), answered by :func:`infer_type` per value.
    """
    if fhir_type is None:
        return dynamic(param_type)
    t = fhir_type
    if param_type is ParamType.STRING:
        if t in _STRINGY:
            return _string_primitive
        return {"HumanName": _human_name, "Address": _address}.get(t)
    if param_type is ParamType.TOKEN:
        if t in _STRINGY:
            return _token_code
        return {
            "Coding": _coding,
            "CodeableConcept": _codeable_concept,
            "Identifier": _identifier,
            "ContactPoint": _contact_point,
            "boolean": _token_boolean,
        }.get(t)
    if param_type is ParamType.DATE:
        if t in _DATES:
            return _date_primitive
        return {"Period": _period, "Timing": _timing}.get(t)
    if param_type is ParamType.NUMBER:
        if t in _NUMBERS:
            return _number_primitive
        return _number_from_range if t == "Range" else None
    if param_type is ParamType.QUANTITY:
        if t == "Money":
            return _money
        if t == "Range":
            return _quantity_range
        return _quantity if m.is_subtype(t, "Quantity") else None
    if param_type is ParamType.REFERENCE:
        if t == "Reference" or t == "Resource" or m.is_resource_type(t):
            return _reference
        if t in ("canonical", "uri", "url", "uuid", "oid"):
            return _reference_of(t)
        return None
    if param_type is ParamType.URI:
        return _uri if t in _STRINGY else None
    return None


def infer_type(value: Any) -> str | None:
    """A FHIR type for a value of unknown type, from its JSON shape (fhirpathpy results)."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float | Decimal):
        return "decimal"
    if isinstance(value, str):
        return "string"
    if not isinstance(value, dict):
        return None
    keys = value.keys() - {"id", "extension"}
    if "resourceType" in keys:
        return "Resource"
    if "coding" in keys or keys == {"text"}:
        return "CodeableConcept"
    if keys & {"reference", "identifier"} or keys == {"display"}:
        return "Reference"
    if keys & {"family", "given", "prefix", "suffix"}:
        return "HumanName"
    if keys & {"line", "city", "district", "state", "postalCode", "country"}:
        return "Address"
    if keys & {"start", "end"}:
        return "Period"
    if keys & {"event", "repeat"}:
        return "Timing"
    if keys & {"low", "high"}:
        return "Range"
    if "currency" in keys:
        return "Money"
    if "value" in keys and not isinstance(value["value"], str):
        return "Quantity"
    if "value" in keys:
        phone = {"phone", "fax", "email", "pager", "url", "sms", "other"}
        return "ContactPoint" if value.get("system") in phone else "Identifier"
    if keys & {"system", "code", "display"}:
        return "Coding"
    return None


_STRING_AS = {
    ParamType.DATE: "dateTime",
    ParamType.URI: "uri",
    ParamType.REFERENCE: "uri",
    ParamType.STRING: "string",
    ParamType.TOKEN: "code",
}


def dynamic(param_type: ParamType) -> Normaliser:
    """A normaliser for values whose type is known only from their shape (fhirpathpy)."""

    def normalise(param: str, value: Any, root: dict[str, Any], out: list[Any]) -> None:
        t = infer_type(value)
        if t == "string":
            t = _STRING_AS.get(param_type)
        elif t == "Resource" and param_type is ParamType.REFERENCE:
            t = "Reference"
        found = normaliser(param_type, t) if t else None
        if found is not None:
            found(param, value, root, out)

    return normalise
