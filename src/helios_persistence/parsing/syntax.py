"""Phase one of parsing: a query string → unresolved syntax (names, modifiers, raw values).

URL handling is the only thing done outside the grammar: the query is split into
``name=value`` pairs on ``&``, and each name and value is percent-decoded exactly once
(``+`` stays a plus: FHIR dates carry ``+hh:mm`` offsets). Everything else is
``grammar/search.lark``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, lru_cache
from urllib.parse import unquote

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken, VisitError

from helios_persistence.errors import InvalidSearch

__all__ = ["Link", "RawChain", "RawFilter", "RawHas", "RawParam", "RawQuery", "parse_syntax"]

_ESCAPES = {",": ",", "|": "|", "$": "$", "\\": "\\"}


@dataclass(frozen=True, slots=True)
class Link:
    """One hop of a parameter name: ``code[:modifier]``."""

    name: str
    modifier: str | None
    pos: int


@dataclass(frozen=True, slots=True)
class RawChain:
    links: tuple[Link, ...]


@dataclass(frozen=True, slots=True)
class RawHas:
    """``_has:source_type:param:<inner>``."""

    source_type: str
    param: str
    inner: RawChain | RawHas
    pos: int


@dataclass(frozen=True, slots=True)
class RawParam:
    """A search parameter as written: OR-values of ``$``-components of ``|``-parts."""

    name: RawChain | RawHas
    values: tuple[tuple[tuple[str, ...], ...], ...]
    text: str
    pos: int
    value_pos: int


@dataclass(frozen=True, slots=True)
class RawFilter:
    text: str
    pos: int


@dataclass(frozen=True, slots=True)
class RawQuery:
    resource_type: str | None
    params: tuple[RawParam | RawFilter, ...]


def _unescape(token: Token) -> str:
    text = str(token)
    if "\\" not in text:
        return text
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            nxt = text[i + 1] if i + 1 < len(text) else ""
            if nxt not in _ESCAPES:
                raise InvalidSearch(
                    f"invalid escape '\\{nxt}': only \\, \\| \\$ and \\\\ are allowed",
                    position=(token.start_pos or 0) + i,
                )
            out.append(_ESCAPES[nxt])
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


@v_args(inline=True)
class _SyntaxBuilder(Transformer):  # type: ignore[type-arg]
    """Builds the unresolved syntax during the LALR parse (one method per grammar alias)."""

    def param(self, name: RawChain | RawHas, values: tuple[tuple[tuple[str, ...], ...], int]) -> RawParam:
        vals, value_pos = values
        first = name.links[0].pos if isinstance(name, RawChain) else name.pos
        return RawParam(name, vals, _name_text(name), first, value_pos)

    def filter_param(self, keyword: Token, text: Token | None = None) -> RawFilter:
        if text is None:
            return RawFilter("", keyword.end_pos or 0)
        return RawFilter(str(text), text.start_pos or 0)

    def has(self, _kw: Token, source: Token, param: Token, inner: RawChain | RawHas) -> RawHas:
        return RawHas(str(source), str(param), inner, _kw.start_pos or 0)

    def chain(self, *links: Link) -> RawChain:
        return RawChain(links)

    def link(self, name: Token, modifier: Token | None = None) -> Link:
        return Link(str(name), str(modifier) if modifier is not None else None, name.start_pos or 0)

    def values(self, *values: tuple[tuple[tuple[str, ...], ...], int]) -> tuple[object, int]:
        return tuple(v for v, _ in values), values[0][1]

    def value(self, *components: tuple[tuple[str, ...], int]) -> tuple[object, int]:
        return tuple(c for c, _ in components), components[0][1]

    def component(self, *parts: tuple[str, int]) -> tuple[tuple[str, ...], int]:
        return tuple(p for p, _ in parts), parts[0][1]

    def part(self, text: Token | None = None) -> tuple[str, int]:
        if text is None:
            return "", -1
        return _unescape(text), text.start_pos or 0


def _name_text(name: RawChain | RawHas) -> str:
    if isinstance(name, RawHas):
        return f"_has:{name.source_type}:{name.param}:{_name_text(name.inner)}"
    return ".".join(f"{link.name}:{link.modifier}" if link.modifier else link.name for link in name.links)


@cache
def _parser() -> Lark:
    return Lark.open(
        "../grammar/search.lark",
        rel_to=__file__,
        start=["param", "resource_type"],
        parser="lalr",
        transformer=_SyntaxBuilder(),
        maybe_placeholders=True,
    )


def _lark_parse(text: str, start: str) -> object:
    try:
        return _parser().parse(text, start=start)
    except VisitError as exc:
        if isinstance(exc.orig_exc, InvalidSearch):
            raise exc.orig_exc from None
        raise
    except UnexpectedInput as exc:
        raise InvalidSearch(_describe(exc, text), position=exc.pos_in_stream or 0) from None


@lru_cache(maxsize=4096)
def _parse_pair(pair: str) -> RawParam | RawFilter:
    """Parse one decoded ``name=value`` pair (positions relative to the pair). Memoised:
    servers see the same parameters again and again, and the result is immutable."""
    result = _lark_parse(pair, "param")
    assert isinstance(result, (RawParam, RawFilter))
    return result


@lru_cache(maxsize=1024)
def _parse_type(text: str) -> str:
    _lark_parse(text, "resource_type")
    return text


def _shift(raw: RawParam | RawFilter, offset: int) -> RawParam | RawFilter:
    """Move a pair's positions to where it stands in the whole query."""
    if offset == 0:
        return raw
    if isinstance(raw, RawFilter):
        return RawFilter(raw.text, raw.pos + offset)
    return RawParam(
        _shift_name(raw.name, offset),
        raw.values,
        raw.text,
        raw.pos + offset,
        raw.value_pos + offset if raw.value_pos >= 0 else -1,
    )


def _shift_name(name: RawChain | RawHas, offset: int) -> RawChain | RawHas:
    if isinstance(name, RawHas):
        return RawHas(name.source_type, name.param, _shift_name(name.inner, offset), name.pos + offset)
    return RawChain(tuple(Link(k.name, k.modifier, k.pos + offset) for k in name.links))


def _decode(text: str, position: int) -> str:
    try:
        return unquote(text, errors="strict")
    except UnicodeDecodeError:
        raise InvalidSearch(
            "a percent-escape in the query is not valid UTF-8", position=position
        ) from None


def parse_syntax(query: str) -> RawQuery:
    """Parse ``[Type?]name=value&...`` into :class:`RawQuery`; raise :class:`InvalidSearch`.

    ``Type`` alone (no ``?``, no ``=``) is a search with no parameters. Positions in errors
    are offsets in ``query``; after a percent-escape in the same pair they are approximate."""
    head, sep, tail = query.partition("?")
    if not sep and "=" not in query and "&" not in query:
        head, tail = query, ""
        sep = "?"
    resource_type: str | None = None
    offset = 0
    if sep:
        offset = len(head) + 1
        if head:
            resource_type = _parse_type(_decode(head, 0))
    else:
        tail = query
    params: list[RawParam | RawFilter] = []
    for raw in tail.split("&"):
        if raw:
            name, eq, value = raw.partition("=")
            pair = _decode(name, offset) + eq + _decode(value, offset + len(name) + 1)
            try:
                params.append(_shift(_parse_pair(pair), offset))
            except InvalidSearch as exc:
                raise InvalidSearch(
                    exc.message,
                    parameter=name,
                    position=offset + (exc.position or 0),
                    not_supported=exc.issue_code == "not-supported",
                ) from None
        offset += len(raw) + 1
    return RawQuery(resource_type, tuple(params))


def _describe(exc: UnexpectedInput, text: str) -> str:
    pos = exc.pos_in_stream or 0
    if isinstance(exc, UnexpectedCharacters):
        char = text[pos] if pos < len(text) else ""
        return f"unexpected character {char!r}"
    if isinstance(exc, UnexpectedToken):
        if exc.token.type == "$END":
            if "=" not in text:
                return "the parameter has no '=value'"
            return "the text ends where more was expected"
        return f"unexpected {str(exc.token)!r}"
    return "not valid FHIR search syntax"
