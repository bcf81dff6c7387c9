"""FHIR search strings and ``_filter`` → the IR: syntax (Lark), then binding (registry)."""

from __future__ import annotations

from dataclasses import replace

from helios_persistence import ir
from helios_persistence.errors import InvalidSearch
from helios_persistence.parsing.bind import Binder, Limits
from helios_persistence.parsing.syntax import parse_syntax
from helios_persistence.registry import Registry, default_registry

__all__ = ["Limits", "ParseResult", "parse", "parse_lenient"]


class ParseResult:
    """A query parsed leniently, with the parameters that were ignored."""

    __slots__ = ("ignored", "query")

    def __init__(self, query: ir.Query, ignored: tuple[str, ...]) -> None:
        self.query = query
        self.ignored = ignored

    def __repr__(self) -> str:
        return f"ParseResult({self.query}, ignored={self.ignored!r})"


def parse(
    query: str,
    resource_type: str | None = None,
    *,
    registry: Registry | None = None,
    limits: Limits | None = None,
) -> ir.Query:
    """Parse a FHIR search (``"Observation?code=..."`` or ``"code=..."`` with
    ``resource_type``) strictly: any unknown parameter is an :class:`InvalidSearch`."""
    return _parse(query, resource_type, registry, limits, strict=True).query


def parse_lenient(
    query: str,
    resource_type: str | None = None,
    *,
    registry: Registry | None = None,
    limits: Limits | None = None,
) -> ParseResult:
    """Like :func:`parse`, but unknown parameters are ignored and reported
    (``Prefer: handling=lenient``)."""
    return _parse(query, resource_type, registry, limits, strict=False)


def _parse(
    query: str,
    resource_type: str | None,
    registry: Registry | None,
    limits: Limits | None,
    *,
    strict: bool,
) -> ParseResult:
    limits = limits or _DEFAULT_LIMITS
    _check_text(query)
    _check_param_count(query, limits)
    raw = parse_syntax(query)
    if resource_type is not None:
        if raw.resource_type not in (None, resource_type):
            raise InvalidSearch(
                f"the query names {raw.resource_type} but {resource_type} was expected",
                position=0,
            )
        raw = replace(raw, resource_type=resource_type)
    binder = Binder(registry or default_registry(), limits, strict)
    try:
        bound = binder.bind(raw)
    except InvalidSearch as exc:
        exc.position = raw.position(exc.position)  # offsets in the query as given
        raise
    return ParseResult(bound, tuple(binder.ignored))


_DEFAULT_LIMITS = Limits()


def _check_text(query: object) -> None:
    """A query is text that UTF-8 can encode (a lone surrogate cannot reach a database)."""
    if not isinstance(query, str):
        raise InvalidSearch(f"a search is a query string, not {type(query).__name__}")
    try:
        query.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidSearch(
            "the query has a character that is not valid text (a lone surrogate)",
            position=exc.start,
        ) from None


def _check_param_count(query: str, limits: Limits) -> None:
    """Refuse a query with too many parameters before parsing it (it would be refused after)."""
    if query.count("&") < limits.max_params:
        return
    head, sep, tail = query.partition("?")
    count = sum(1 for pair in (tail if sep else head).split("&") if pair)
    if count > limits.max_params:
        raise InvalidSearch(f"too many parameters ({count} > {limits.max_params})")
