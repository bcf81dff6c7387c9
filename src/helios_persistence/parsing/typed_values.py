"""Phase two, per parameter type: one raw value (``$``-components of ``|``-parts) → a predicate.

A ``{ParamType: parse_fn}`` table, as the Microsoft FHIR server's
``SearchParameterExpressionParser`` has; every function raises ``ValueError`` with a message
a person understands, which the binder turns into :class:`InvalidSearch`.
"""

from __future__ import annotations

from collections.abc import Callable

from helios_persistence import ir
from helios_persistence.fhir_values import NumberRange, parse_date, parse_number
from helios_persistence.parsing.syntax import MEMOS
from helios_persistence.registry import ParamType
from helios_persistence.ucum import UCUM_SYSTEM, canonical_range

__all__ = ["PREFIXED_TYPES", "ValueParser", "parse_value", "split_prefix"]

PREFIXED_TYPES = frozenset({ParamType.DATE, ParamType.NUMBER, ParamType.QUANTITY})
_PREFIXES = {p.value: p for p in ir.Prefix}
#: a memo of values (UCUM's unit definitions, ucum.canonical, stay: they are not query text)
MEMOS.append(canonical_range.cache_clear)

ValueParser = Callable[[str, str | None, tuple[str, ...]], ir.Predicate]


def split_prefix(text: str) -> tuple[ir.Prefix, str]:
    """``ge2020`` → (GE, ``2020``); no prefix means ``eq``."""
    if len(text) > 2 and text[:2] in _PREFIXES and not text[2].isalpha():
        return _PREFIXES[text[:2]], text[2:]
    return ir.Prefix.EQ, text


def _joined(parts: tuple[str, ...]) -> str:
    return "|".join(parts)


def _string(param: str, modifier: str | None, parts: tuple[str, ...]) -> ir.Predicate:
    op = {None: ir.StringOp.STARTS, "exact": ir.StringOp.EXACT, "contains": ir.StringOp.CONTAINS}
    return ir.StringMatch(param, op[modifier], _joined(parts))


def _token(param: str, modifier: str | None, parts: tuple[str, ...]) -> ir.Predicate:
    if modifier == "text":
        return ir.TokenMatch(param, ir.TokenOp.TEXT, None, None, _joined(parts))
    if modifier == "of-type":
        if len(parts) != 3 or not all(parts):
            raise ValueError(":of-type needs type-system|type-code|value")
        return ir.TokenMatch(param, ir.TokenOp.OF_TYPE, parts[0], parts[1], parts[2])
    if modifier in ("in", "not-in", "above", "below"):
        op = ir.TerminologyOp(modifier)
        if op in (ir.TerminologyOp.IN, ir.TerminologyOp.NOT_IN):
            return ir.Terminology(param, op, None, _joined(parts))
        if len(parts) > 2:
            raise ValueError(f":{modifier} takes [system|]code: too many '|'")
        # "|code": a coding with no system (system ""), as for a plain token
        system, code = (parts[0], parts[1]) if len(parts) == 2 else (None, parts[0])
        if not code:
            raise ValueError(f":{modifier} needs a code")
        return ir.Terminology(param, op, system, code)
    if len(parts) == 1:
        if not parts[0]:
            raise ValueError("empty token")
        return ir.TokenMatch(param, ir.TokenOp.EQ, None, parts[0])
    if len(parts) == 2:
        system, code = parts
        if not system and not code:
            raise ValueError("a token needs a system or a code, not just '|'")
        return ir.TokenMatch(param, ir.TokenOp.EQ, system, code or None)
    raise ValueError("a token is [system|]code: too many '|'")


def _date(param: str, modifier: str | None, parts: tuple[str, ...]) -> ir.Predicate:
    prefix, text = split_prefix(_joined(parts))
    try:
        rng = parse_date(text)
    except ArithmeticError:  # the offset moves it outside years 1-9999
        raise ValueError(f"{text!r} is out of range") from None
    return ir.DateMatch(param, prefix, rng.low, rng.high, text)


def _parse_number(text: str) -> NumberRange:
    try:
        return parse_number(text)
    except ArithmeticError:  # e.g. an exponent beyond the decimal context: 1e99999999999
        raise ValueError(f"{text!r} is out of range") from None


def _number(param: str, modifier: str | None, parts: tuple[str, ...]) -> ir.Predicate:
    prefix, text = split_prefix(_joined(parts))
    rng = _parse_number(text)
    return ir.NumberMatch(param, prefix, rng.value, rng.low, rng.high)


def _quantity(param: str, modifier: str | None, parts: tuple[str, ...]) -> ir.Predicate:
    if len(parts) > 3:
        raise ValueError("a quantity is number|system|code: too many '|'")
    prefix, text = split_prefix(parts[0])
    rng = _parse_number(text)
    system = parts[1] if len(parts) > 1 and parts[1] else None
    code = parts[2] if len(parts) > 2 and parts[2] else None
    if len(parts) == 2 and parts[1]:
        code, system = parts[1], None  # "5.4|mg" is read as a unit code
    canonical = None
    if code and system == UCUM_SYSTEM:  # only a search that names UCUM converts units
        try:
            canonical = canonical_range(rng.value, rng.low, rng.high, code)
        except ArithmeticError:
            canonical = None
    if canonical is None:
        return ir.QuantityMatch(param, prefix, rng.value, rng.low, rng.high, system, code)
    cv, clow, chigh, cunit = canonical
    return ir.QuantityMatch(
        param, prefix, rng.value, rng.low, rng.high, system, code, cv, clow, chigh, cunit
    )


def _reference(param: str, modifier: str | None, parts: tuple[str, ...]) -> ir.Predicate:
    if modifier == "identifier":
        if not any(parts):
            raise ValueError(":identifier needs a value")
        if len(parts) == 1:
            return ir.ReferenceMatch(param, ir.ReferenceOp.IDENTIFIER, None, parts[0] or None)
        if len(parts) == 2:
            return ir.ReferenceMatch(
                param, ir.ReferenceOp.IDENTIFIER, None, parts[1] or None, parts[0] or None
            )
        raise ValueError(":identifier takes [system|]value")
    text = parts[0]
    version = (parts[1] or None) if len(parts) == 2 else None
    if len(parts) > 2 or not text:
        raise ValueError("a reference is [Type/]id, a URL, or canonical-url|version")
    target_type = modifier  # a :Type modifier (checked by the binder)
    if "://" in text or text.startswith(("urn:", "#")):
        return ir.ReferenceMatch(param, ir.ReferenceOp.EQ, None, None, text, version)
    segments = text.split("/")
    if len(segments) == 4 and segments[2] == "_history":
        if version is not None:
            raise ValueError(f"{text!r} names a version twice")
        segments, version = segments[:2], segments[3] or None
    if not all(segments):
        raise ValueError(f"{text!r} is not a reference: expected [Type/]id")
    if len(segments) == 2:
        if target_type and segments[0] != target_type:
            raise ValueError(f"{text!r} does not match the type modifier :{target_type}")
        target_type, ident = segments
    elif len(segments) == 1:
        ident = segments[0]
    else:
        raise ValueError(f"{text!r} is not a reference: expected [Type/]id")
    return ir.ReferenceMatch(param, ir.ReferenceOp.EQ, target_type, ident, None, version)


def _uri(param: str, modifier: str | None, parts: tuple[str, ...]) -> ir.Predicate:
    op = {None: ir.UriOp.EQ, "above": ir.UriOp.ABOVE, "below": ir.UriOp.BELOW}[modifier]
    value = _joined(parts)
    if not value:
        raise ValueError("empty uri")
    return ir.UriMatch(param, op, value)


_PARSERS: dict[ParamType, ValueParser] = {
    ParamType.STRING: _string,
    ParamType.TOKEN: _token,
    ParamType.DATE: _date,
    ParamType.NUMBER: _number,
    ParamType.QUANTITY: _quantity,
    ParamType.REFERENCE: _reference,
    ParamType.URI: _uri,
}


def parse_value(
    kind: ParamType, param: str, modifier: str | None, parts: tuple[str, ...]
) -> ir.Predicate:
    """One value of a parameter of type ``kind`` → its predicate (raises ``ValueError``)."""
    try:
        parser = _PARSERS[kind]
    except KeyError:
        raise ValueError(f"{kind.value} parameters are not supported") from None
    return parser(param, modifier, parts)
