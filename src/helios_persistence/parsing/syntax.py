"""Phase one of parsing: a query string → unresolved syntax (names, modifiers, raw values).

URL handling is the only thing done outside the grammar: the query is split at its first
``?``, into ``name=value`` pairs on ``&`` and each pair at its first ``=``; every name and
value is percent-decoded exactly once (``+`` stays a plus: FHIR dates carry ``+hh:mm``
offsets). The decoded pairs are joined with NUL and parsed in **one** Lark call for the whole
query (``grammar/search.lark``): Lark's fixed cost per call is a large part of parsing
short inputs, so one call beats one per pair. Results are memoised per query string and per
decoded pair (see :func:`parse_syntax`).

Lark's cost is per token, so the grammar reads the usual pairs (no ``_has``, no ``_filter``,
no backslash in the value), however many in a row, as one ``PLAIN_PARAMS`` token, which the
builder splits at the separators the rules would have read (:func:`_plain_param`); every
other pair goes through the rules. ``Type?`` is one token too, so a cold parse of
``Observation?code=...&date=...&subject=...`` is two tokens, not sixteen. Valid queries run
on lark-cython's LALR runtime where it is installed (:func:`_parser`); errors are always
reported by pure Lark (:func:`_lark`). ``tests/unit/parsing/test_parse_paths.py`` checks that
all these readings agree.

Positions inside the syntax are offsets in the decoded text; :meth:`RawQuery.position` maps
them back to offsets in the query string as given (they differ only after a percent-escape
or when the ``?`` was left out). Errors raised here carry mapped positions already.
"""

from __future__ import annotations

import re
import warnings
from bisect import bisect_right
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from functools import cache
from typing import Any, NamedTuple
from urllib.parse import unquote

from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken, VisitError

from helios_persistence.assets import read_asset
from helios_persistence.errors import InvalidSearch

__all__ = [
    "Link",
    "RawChain",
    "RawFilter",
    "RawHas",
    "RawParam",
    "RawQuery",
    "SourceMap",
    "clear_caches",
    "parse_syntax",
]

_ESCAPES = {",": ",", "|": "|", "$": "$", "\\": "\\"}
#: joins the decoded pairs for the grammar; a NUL in a query is rejected
_SEP = "\x00"
#: queries (pairs) longer than this are parsed but not memoised: the memos stay under ~10 MB
_QUERY_LIMIT = 2048
_PAIR_LIMIT = 1024


class Link(NamedTuple):
    """One hop of a parameter name: ``code[:modifier]``."""

    name: str
    modifier: str | None
    pos: int


class RawChain(NamedTuple):
    links: tuple[Link, ...]


class RawHas(NamedTuple):
    """``_has:source_type:param:<inner>``."""

    source_type: str
    param: str
    inner: RawChain | RawHas
    pos: int


class RawParam(NamedTuple):
    """A search parameter as written: OR-values of ``$``-components of ``|``-parts.

    ``pos`` is where the name starts, ``value_pos`` where the value starts (after ``=``)."""

    name: RawChain | RawHas
    values: tuple[tuple[tuple[str, ...], ...], ...]
    text: str
    pos: int
    value_pos: int


class RawFilter(NamedTuple):
    text: str
    pos: int


class _Segment(NamedTuple):
    """A name or value that decoding changed: where it starts in the decoded text and in the
    query, both forms."""

    start: int
    raw_start: int
    raw: str
    decoded: str


@dataclass(frozen=True, slots=True)
class SourceMap:
    """Maps offsets in the decoded text the grammar saw to offsets in the query as given.

    Only the names and values that percent-decoding changed have a segment: the text after
    a segment moves with its end, the text before the first one by ``shift`` (-1 when the
    query has no "?" and the grammar reads "?" + the query)."""

    shift: int = 0
    segments: tuple[_Segment, ...] = ()
    starts: tuple[int, ...] = ()

    def position(self, pos: int) -> int:
        starts = self.starts
        if not starts or pos < starts[0]:
            return max(0, pos + self.shift)
        seg = self.segments[bisect_right(starts, pos) - 1]
        k = pos - seg.start
        if k >= len(seg.decoded):
            return seg.raw_start + len(seg.raw) + (k - len(seg.decoded))
        return seg.raw_start + _raw_index(seg.raw, k)


_IDENTITY = SourceMap()
#: a query without "?" (``code=...``): the text parsed is the query after a "?"
_NO_QMARK = SourceMap(-1)


@dataclass(frozen=True, slots=True)
class RawQuery:
    resource_type: str | None
    params: tuple[RawParam | RawFilter, ...]
    source: SourceMap = field(default=_IDENTITY, compare=False)

    def position(self, pos: int | None) -> int | None:
        """The offset in the original query string of ``pos`` (an offset in the syntax)."""
        return None if pos is None else self.source.position(pos)


def _unescape(token: Token) -> str:
    text: str = token.value
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


class _SyntaxBuilder(Transformer):  # type: ignore[type-arg]
    """Builds the unresolved syntax during the LALR parse (one method per grammar alias).

    The methods take Lark's children list as it is rather than ``@v_args(inline=True)``: the
    wrapper costs about 10 % of a parse, and the syntax is parsed on every new query."""

    def query(self, c: list[Any]) -> tuple[str | None, tuple[RawParam | RawFilter, ...]]:
        rtype, params = c
        return (None if rtype is None else rtype.value), params

    def typed_query(self, c: list[Any]) -> tuple[str, tuple[RawParam | RawFilter, ...]]:
        type_qmark, params = c
        return type_qmark.value[:-1], params

    def params(
        self, c: list[RawParam | RawFilter | list[RawParam] | None]
    ) -> tuple[RawParam | RawFilter, ...]:
        params: list[RawParam | RawFilter] = []
        for p in c:
            if type(p) is list:
                params.extend(p)
            elif p is not None:
                params.append(p)  # type: ignore[arg-type]
        return tuple(params)

    def param(self, c: list[Any]) -> RawParam:
        name, eq, values = c
        first = name.links[0].pos if isinstance(name, RawChain) else name.pos
        return RawParam(name, values, _name_text(name), first, eq.end_pos or 0)

    def filter_param(self, c: list[Any]) -> RawFilter:
        _, eq, text = c
        if text is None:
            return RawFilter("", eq.end_pos or 0)
        return RawFilter(text.value, text.start_pos or 0)

    def has(self, c: list[Any]) -> RawHas:
        kw, source, param, inner = c
        return RawHas(source.value, param.value, inner, kw.start_pos or 0)

    def chain(self, c: list[Link]) -> RawChain:
        return RawChain(tuple(c))

    def link(self, c: list[Token | None]) -> Link:
        name, modifier = c
        assert name is not None
        return Link(name.value, None if modifier is None else modifier.value, name.start_pos or 0)

    def plain_params(self, c: list[Any]) -> list[RawParam]:
        """A ``PLAIN_PARAMS`` token: pairs read as ``param`` reads them (see the grammar)."""
        token = c[0]
        at: int = token.start_pos
        params = []
        for pair in token.value.split(_SEP):
            params.append(_plain_param(pair, at))
            at += len(pair) + 1
        return params

    def values(
        self, c: list[tuple[tuple[str, ...], ...]]
    ) -> tuple[tuple[tuple[str, ...], ...], ...]:
        return tuple(c)

    def value(self, c: list[tuple[str, ...]]) -> tuple[tuple[str, ...], ...]:
        return tuple(c)

    def component(self, c: list[Token | None]) -> tuple[str, ...]:
        return tuple("" if p is None else _unescape(p) for p in c)


def _plain_param(text: str, pos: int) -> RawParam:
    """One pair of a ``PLAIN_PARAMS`` token at ``pos``: with no escape in the value, the
    separators of the rules are exactly where the text splits."""
    eq = text.index("=")
    name = text[:eq]
    if "." in name or ":" in name:
        links = []
        at = pos
        for hop in name.split("."):
            code, colon, modifier = hop.partition(":")
            links.append(Link(code, modifier if colon else None, at))
            at += len(hop) + 1
        chain = RawChain(tuple(links))
    else:
        chain = RawChain((Link(name, None, pos),))
    value = text[eq + 1 :]
    if "," in value or "$" in value:
        values = tuple(
            tuple(tuple(component.split("|")) for component in alternative.split("$"))
            for alternative in value.split(",")
        )
    elif "|" in value:
        values = ((tuple(value.split("|")),),)
    else:
        values = (((value,),),)
    return RawParam(chain, values, name, pos, pos + eq + 1)


def _name_text(name: RawChain | RawHas) -> str:
    """The parameter name as written (without recursion: ``_has`` may nest deeply)."""
    prefix: list[str] = []
    while isinstance(name, RawHas):
        prefix.append(f"_has:{name.source_type}:{name.param}:")
        name = name.inner
    links = ".".join(f"{k.name}:{k.modifier}" if k.modifier else k.name for k in name.links)
    return "".join(prefix) + links


def _make_parser(**options: Any) -> Lark:
    """The search grammar with :class:`_SyntaxBuilder` run during the parse (``options``
    are more Lark options: the tests build the other parsers with them)."""
    return Lark(
        read_asset("grammar", "search.lark"),
        start="query",
        parser="lalr",
        transformer=_SyntaxBuilder(),
        maybe_placeholders=True,
        **options,
    )


@cache
def _lark() -> Lark:
    """The parser in pure Lark, which reports the errors: its exceptions are what the
    messages are made from (:func:`_describe`)."""
    return _make_parser()


@cache
def _parser() -> Lark:
    """The parser valid queries go through: the same grammar and builder on lark-cython's
    LALR runtime (about 1.6 times faster) where it is installed, else :func:`_lark`.

    Its tokens are not ``str`` (hence ``token.value`` in the builder), and an error it
    raises is reported by parsing again with :func:`_lark`."""
    try:
        import lark_cython
    except ImportError:  # pragma: no cover - a dependency, but a compiled one
        return _lark()
    try:
        return _make_parser(_plugins=lark_cython.plugins)
    except Exception as exc:  # pragma: no cover - a lark-cython made for another Lark
        warnings.warn(
            f"lark-cython cannot run the search grammar ({exc!r}): parsing on pure Lark",
            RuntimeWarning,
            stacklevel=2,
        )
        return _lark()


# -- URL decoding ------------------------------------------------------------------------------
_ESCAPE_RUN = re.compile(r"(?:%[0-9A-Fa-f]{2})+")
_EQUALS_ESCAPE = re.compile(r"%3[Dd]")


def _decode(text: str, raw_start: int, parameter: str | None = None) -> str:
    if "%" not in text:
        return text
    try:
        return unquote(text, errors="strict")
    except UnicodeDecodeError:
        position = raw_start
        for run in _ESCAPE_RUN.finditer(text):
            try:
                unquote(run.group(), errors="strict")
            except UnicodeDecodeError:
                position = raw_start + run.start()
                break
        raise InvalidSearch(
            "a percent-escape in the query is not valid UTF-8",
            parameter=parameter,
            position=position,
        ) from None


def _raw_index(raw: str, k: int) -> int:
    """The offset in ``raw`` of the ``k``-th character of its decoded form."""
    n = 0
    i = 0
    while i < len(raw):
        run = _ESCAPE_RUN.match(raw, i) if raw[i] == "%" else None
        if run is None:
            if n == k:
                return i
            n += 1
            i += 1
            continue
        data = bytes.fromhex(run.group().replace("%", ""))
        try:
            chars = data.decode("utf-8")
        except UnicodeDecodeError:  # pragma: no cover - rejected by _decode before
            chars = data.decode("latin-1")
        offset = 0
        for ch in chars:
            if n == k:
                return i + 3 * offset
            n += 1
            offset += len(ch.encode("utf-8", "surrogatepass"))
        i = run.end()
    return len(raw)


class _Prepared(NamedTuple):
    """A query split and decoded: the type, each ``name=value`` pair and where it starts in
    the decoded text ``type + "?" + NUL.join(pairs)`` the grammar reads."""

    head: str
    pairs: tuple[str, ...]
    starts: tuple[int, ...]
    source: SourceMap

    @property
    def text(self) -> str:
        return self.head + "?" + _SEP.join(self.pairs)


def _prepare(query: str) -> _Prepared:
    nul = query.find(_SEP)
    if nul >= 0:
        raise InvalidSearch("the query contains a NUL character", position=nul)
    head, sep, tail = query.partition("?")
    if not sep:
        if "=" in query or "&" in query:
            head, tail = "", query  # parameters only: "code=...&date=..."
        else:
            head, tail = query, ""  # a type alone: "Patient"
    # the grammar reads type + "?" + pairs: without a "?", "code=..." moves one to the right
    shift = 0 if sep or head else -1
    if "%" not in query:  # nothing to decode
        pairs = tail.split("&")
        source = _IDENTITY if shift == 0 else _NO_QMARK
        return _Prepared(head, tuple(pairs), _starts(len(head), pairs), source)
    decoded_head = _decode(head, 0)
    segments = [] if decoded_head == head else [_Segment(0, 0, head, decoded_head)]
    decoded_pairs: list[str] = []
    at, raw_at = len(decoded_head) + 1, len(head) + 1 + shift
    nul = decoded_head.find(_SEP)
    for raw_pair in tail.split("&"):
        name, eq, value = raw_pair.partition("=")
        decoded_name = _decode(name, raw_at)
        if "=" in decoded_name:
            found = _EQUALS_ESCAPE.search(name)
            raise InvalidSearch(
                "a parameter name cannot contain '=' (%3D)",
                parameter=decoded_name.partition("=")[0],
                position=raw_at + (found.start() if found else 0),
            )
        if decoded_name != name:
            segments.append(_Segment(at, raw_at, name, decoded_name))
        decoded_value = ""
        if eq:
            decoded_value = _decode(value, raw_at + len(name) + 1, decoded_name)
            if decoded_value != value:
                segments.append(
                    _Segment(
                        at + len(decoded_name) + 1, raw_at + len(name) + 1, value, decoded_value
                    )
                )
        pair = decoded_name + eq + decoded_value
        if nul < 0 and _SEP in pair:
            nul = at + pair.index(_SEP)
        decoded_pairs.append(pair)
        at += len(pair) + 1
        raw_at += len(raw_pair) + 1
    source = SourceMap(shift, tuple(segments), tuple(s.start for s in segments))
    if nul >= 0:
        raise InvalidSearch(
            "the query contains a NUL character (%00)", position=source.position(nul)
        )
    return _Prepared(
        decoded_head, tuple(decoded_pairs), _starts(len(decoded_head), decoded_pairs), source
    )


def _starts(head_length: int, pairs: list[str]) -> tuple[int, ...]:
    starts = []
    at = head_length + 1
    for pair in pairs:
        starts.append(at)
        at += len(pair) + 1
    return tuple(starts)


# -- parsing ----------------------------------------------------------------------------------
class _Bounded(dict):  # type: ignore[type-arg]
    """A dict that forgets its oldest entry beyond ``size`` entries."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def put(self, key: object, value: object) -> None:
        if len(self) >= self.size:
            # another thread may have changed the dict meanwhile: then nothing needs doing
            with suppress(KeyError, RuntimeError, StopIteration):
                del self[next(iter(self))]
        self[key] = value


#: whole queries → RawQuery; decoded pairs → (RawParam/RawFilter, the offset it was parsed
#: at: its positions are moved by the difference where it occurs elsewhere); valid types
_QUERIES = _Bounded(4096)
_PAIRS = _Bounded(8192)
_TYPES: set[str] = set()


#: other memos of what parsing makes from query text (the _filter syntax, quantities in
#: canonical units), cleared with the ones above
MEMOS: list[Callable[[], object]] = []


def clear_caches() -> None:
    """Forget every memoised parse (benchmarks measure cold parses with this)."""
    _QUERIES.clear()
    _PAIRS.clear()
    _TYPES.clear()
    for clear in MEMOS:
        clear()


def parse_syntax(query: str) -> RawQuery:
    """Parse ``[Type?]name=value&...`` into :class:`RawQuery`; raise :class:`InvalidSearch`.

    ``Type`` alone (no ``?``, no ``=``) is a search with no parameters. Positions in errors
    are offsets in ``query`` as given.

    Memoised twice: whole queries, and each decoded ``name=value`` pair, so a query made of
    pairs seen before (in any combination) is not parsed again. The pairs not seen before
    are parsed together with the type, in one Lark call."""
    found = _QUERIES.get(query)
    if found is not None:
        return found  # type: ignore[no-any-return]
    prepared = _prepare(query)
    head = prepared.head
    known: dict[str, tuple[RawParam | RawFilter, int] | None] = {
        p: _PAIRS.get(p) for p in prepared.pairs if p
    }
    missing = [p for p, raw in known.items() if raw is None]
    if missing or (head and head not in _TYPES):
        known.update(_parse_new(prepared, missing))
    params: list[RawParam | RawFilter] = []
    for pair, start in zip(prepared.pairs, prepared.starts, strict=True):
        if pair:
            raw, at = known[pair]  # type: ignore[misc]
            params.append(raw if at == start else _shift(raw, start - at))
    result = RawQuery(head or None, tuple(params), prepared.source)
    if len(query) <= _QUERY_LIMIT:
        _QUERIES.put(query, result)
    return result


def _parse_new(
    prepared: _Prepared, pairs: list[str]
) -> dict[str, tuple[RawParam | RawFilter, int]]:
    """Parse the type and the new pairs in one Lark call: each pair with its offset in the
    text parsed, which is its offset in the query too when every pair is new (no shifting)."""
    head = prepared.head
    text = head + "?" + _SEP.join(pairs)
    try:
        tree: Any = _parser().parse(text)
        _, params = tree
    except (UnexpectedInput, VisitError, InvalidSearch):
        _parse_whole(prepared)  # raises the error with positions in the whole query
        raise  # pragma: no cover - the whole query fails in the same place
    if head and len(_TYPES) < 4096:  # names the grammar accepts, valid types or not
        _TYPES.add(head)
    parsed: dict[str, tuple[RawParam | RawFilter, int]] = {}
    at = len(head) + 1
    for pair, param in zip(pairs, params, strict=True):
        parsed[pair] = found = (param, at)
        if len(pair) <= _PAIR_LIMIT:
            _PAIRS.put(pair, found)
        at += len(pair) + 1
    return parsed


def _parse_whole(prepared: _Prepared) -> RawQuery:
    """Parse the whole decoded query in one piece (used to report an error in context)."""
    text, source, qmark = prepared.text, prepared.source, len(prepared.head)
    try:
        tree: Any = _lark().parse(text)
        rtype, params = tree
    except InvalidSearch as exc:  # from the builder (an invalid escape)
        raise _located(exc, text, source, qmark) from None
    except VisitError as exc:  # pragma: no cover - Lark passes the builder's errors through
        if isinstance(exc.orig_exc, InvalidSearch):
            raise _located(exc.orig_exc, text, source, qmark) from None
        raise
    except UnexpectedInput as exc:
        pos = exc.pos_in_stream or 0
        error = InvalidSearch(_describe(exc, text, qmark), position=pos)
        raise _located(error, text, source, qmark) from None
    return RawQuery(rtype, params, source)


def _shift(raw: RawParam | RawFilter, offset: int) -> RawParam | RawFilter:
    """Move a pair's positions by ``offset``."""
    if offset == 0:
        return raw
    if isinstance(raw, RawFilter):
        return RawFilter(raw.text, raw.pos + offset)
    return RawParam(
        _shift_name(raw.name, offset),
        raw.values,
        raw.text,
        raw.pos + offset,
        raw.value_pos + offset,
    )


def _shift_name(name: RawChain | RawHas, offset: int) -> RawChain | RawHas:
    hops: list[RawHas] = []
    while isinstance(name, RawHas):
        hops.append(name)
        name = name.inner
    shifted: RawChain | RawHas = RawChain(
        tuple(Link(k.name, k.modifier, k.pos + offset) for k in name.links)
    )
    for hop in reversed(hops):
        shifted = RawHas(hop.source_type, hop.param, shifted, hop.pos + offset)
    return shifted


def _pair_at(text: str, pos: int, qmark: int) -> str | None:
    """The decoded ``name=value`` pair around ``pos`` in ``text``; None inside the type."""
    if pos <= qmark:
        return None
    start = max(text.rfind(_SEP, 0, pos) + 1, qmark + 1)
    end = text.find(_SEP, start)
    return text[start : end if end >= 0 else len(text)]


def _located(error: InvalidSearch, text: str, source: SourceMap, qmark: int) -> InvalidSearch:
    pos = error.position or 0
    pair = _pair_at(text, pos, qmark)
    parameter = error.parameter or (pair.partition("=")[0] if pair is not None else None)
    return InvalidSearch(
        error.message,
        parameter=parameter or None,
        position=source.position(pos),
        not_supported=error.issue_code == "not-supported",
    )


def _describe(exc: UnexpectedInput, text: str, qmark: int) -> str:
    pos = exc.pos_in_stream or 0
    pair = _pair_at(text, pos, qmark)
    if pair is None:
        where = "the resource type"
    elif pos - max(text.rfind(_SEP, 0, pos) + 1, qmark + 1) <= pair.find("=") or "=" not in pair:
        where = "the parameter name"
    else:
        where = "the value"
    if isinstance(exc, UnexpectedToken) and exc.token.type in ("$END", "_SEP"):
        if pair is not None and "=" not in pair:
            return "the parameter has no '=value'"
        if pair is not None and pair.startswith("_has"):
            return "_has takes _has:Type:parameter:name=value"
        return f"{where} ends where more was expected"
    char = text[pos] if pos < len(text) else ""
    if char == "\\":
        return "a value ends with a lone backslash (write \\\\ for a backslash)"
    if pair is not None and pair.startswith("=") and pos == text.find("=", qmark):
        return "a parameter has no name"
    if isinstance(exc, UnexpectedCharacters | UnexpectedToken):
        hint = ""
        if pair is not None and pair.startswith("_has") and where == "the parameter name":
            hint = " (_has takes _has:Type:parameter:name=value)"
        return f"unexpected character {char!r} in {where}{hint}"
    return "not valid FHIR search syntax"  # pragma: no cover
