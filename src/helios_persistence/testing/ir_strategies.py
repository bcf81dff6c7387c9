"""Hypothesis strategies for the IR the binder produces, from the real R4 registry.

``queries()`` draws an :class:`ir.Query` exactly as ``hp.parse`` would build it for some query
string: parameters, modifiers and chain/``_has`` hops come from the SearchParameter registry
(resource types Patient, Observation, Encounter, Condition and RiskAssessment, whose
``probability`` is a number, plus whatever types their chains lead to); derived fields
(date ranges, number precision ranges, UCUM canonical quantities) are computed with the
library's value functions (``values.parse_date``, ``values.parse_number``,
``ucum.canonical_range``), never with the parser.

Two families of predicates are drawn:

* **plain**: everything a single search parameter can express (every modifier, OR lists of
  one parameter, ``:not``, ``:missing``, chains with type modifiers, nested ``_has``,
  ``_list``, composites, ``_text``/``_content``, ``:text-advanced``, terminology);
* **filter**: what ``_filter`` can express (Or across parameters, Not of anything, nested
  And/Or, chains whose next parameter implies the target type, ``p[filter].q`` chains).
  The constructs ``_filter`` structurally lacks (see ``parsing/render.py``) are not drawn
  in filter positions, because the binder never builds them there either.
"""

from __future__ import annotations

from decimal import Decimal
from functools import cache
from typing import Any

from hypothesis import strategies as st

from helios_persistence import ir
from helios_persistence.fhir_values import parse_date, parse_number
from helios_persistence.registry import ParamType, SearchParam, default_registry
from helios_persistence.ucum import UCUM_SYSTEM, canonical_range

REGISTRY = default_registry()
TYPES = ("Patient", "Observation", "Encounter", "Condition", "RiskAssessment")
#: parameters every resource type has (system-level searches may use them)
COMMON = ("_id", "_lastUpdated", "_tag", "_profile", "_security", "_source")
#: how many chain/_has hops a drawn predicate may take (the default limit is 4)
MAX_HOPS = 3

# -- registry look-ups ------------------------------------------------------------------------


@cache
def params_of(rtype: str) -> tuple[SearchParam, ...]:
    """The searchable parameters of ``rtype`` (special and expression-less ones excluded)."""
    return tuple(
        p
        for p in REGISTRY.params_for(rtype)
        if p.expression is not None and p.type is not ParamType.SPECIAL
    )


@cache
def params_by_type(rtype: str, kind: ParamType) -> tuple[SearchParam, ...]:
    return tuple(p for p in params_of(rtype) if p.type is kind and p.code != "_id")


@cache
def chain_targets(rtype: str) -> tuple[tuple[SearchParam, str], ...]:
    """(reference parameter, target type) pairs a chain from ``rtype`` may take."""
    out = []
    for p in params_by_type(rtype, ParamType.REFERENCE):
        for target in p.targets or TYPES:
            if target in REGISTRY.resource_types and params_of(target):
                out.append((p, target))
    return tuple(out)


@cache
def single_target_chains(rtype: str) -> tuple[tuple[SearchParam, str], ...]:
    """Chains _filter can write: the reference has one target type."""
    return tuple(
        (p, p.targets[0])
        for p in params_by_type(rtype, ParamType.REFERENCE)
        if len(p.targets) == 1 and p.targets[0] in REGISTRY.resource_types
    )


@cache
def has_sources(rtype: str) -> tuple[tuple[str, str], ...]:
    """(source type, reference parameter) pairs whose reference can point at ``rtype``."""
    out = []
    for source in sorted(REGISTRY.resource_types):
        for p in params_by_type(source, ParamType.REFERENCE):
            if rtype in p.targets:
                out.append((source, p.code))
    return tuple(out)


# -- values -----------------------------------------------------------------------------------

#: characters that stress escaping and encoding, mixed with arbitrary ones
_TRICKY = list(",|$\\&=%#+?; \"'()[]:/._-~*\téü€ǅ𝔸\u00a0")
_CHARS = st.one_of(
    st.sampled_from(_TRICKY),
    st.characters(codec="utf-8", exclude_characters="\x00"),  # no surrogates, no NUL
)


def texts(min_size: int = 1, max_size: int = 8) -> st.SearchStrategy[str]:
    return st.text(_CHARS, min_size=min_size, max_size=max_size)


_WORDS = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9éü]{0,7}", fullmatch=True).filter(
    lambda w: w not in ("OR", "AND", "NOT", "NEAR")
)


def text_queries() -> st.SearchStrategy[str]:
    """Valid full-text queries (``grammar/text.lark``): words, prefixes, phrases, OR, NOT."""
    atom = st.one_of(
        _WORDS,
        _WORDS.map(lambda w: w + "*"),
        st.lists(_WORDS, min_size=2, max_size=3).map(lambda ws: '"' + " ".join(ws) + '"'),
    )
    return st.one_of(
        st.lists(atom, min_size=1, max_size=3).map(" ".join),
        st.tuples(atom, atom).map(lambda ab: f"{ab[0]} OR {ab[1]}"),
        st.tuples(atom, atom).map(lambda ab: f"{ab[0]} -{ab[1]}"),
    )


def piped_texts() -> st.SearchStrategy[str]:
    """Text without ``|`` (what _filter can write inside a token or reference)."""
    return texts().filter(lambda t: "|" not in t)


IDS = st.from_regex(r"[A-Za-z0-9\-.]{1,16}", fullmatch=True)
PREFIXES = st.sampled_from(list(ir.Prefix))
URLS = st.builds(
    lambda scheme, rest: scheme + rest,
    st.sampled_from(["http://", "https://", "urn:uuid:", "urn:oid:", "#"]),
    texts(0, 10),
).filter(lambda u: u != "#")
UNITS = st.one_of(
    st.sampled_from(["mg", "kg", "/min", "mm[Hg]", "%", "10*3/uL", "g/dL", "Cel", "{beats}/min"]),
    texts(1, 6).filter(lambda t: not any(c.isdigit() for c in t)),
)


@st.composite
def date_texts(draw: Any) -> str:
    year = draw(st.integers(2, 9998))  # a time-zone offset may not leave years 1-9999
    parts = [f"{year:04d}"]
    precision = draw(st.integers(1, 6))
    if precision >= 2:
        parts.append(f"-{draw(st.integers(1, 12)):02d}")
    if precision >= 3:
        parts.append(f"-{draw(st.integers(1, 28)):02d}")
    if precision >= 4:
        parts.append(f"T{draw(st.integers(0, 23)):02d}:{draw(st.integers(0, 59)):02d}")
        if precision >= 5:
            parts.append(f":{draw(st.integers(0, 59)):02d}")
        if precision >= 6:
            parts.append("." + draw(st.from_regex(r"[0-9]{1,9}", fullmatch=True)))
        tz = draw(st.sampled_from(["", "Z", "+01:00", "-05:30", "+14:00", "-12:00"]))
        parts.append(tz)
    return "".join(parts)


def decimals() -> st.SearchStrategy[Decimal]:
    return st.decimals(allow_nan=False, allow_infinity=False, places=None).filter(
        lambda d: abs(d.adjusted()) < 30
    ) | st.decimals(min_value=-1000, max_value=1000, places=2)


# -- leaves -------------------------------------------------------------------------------------


def date_match(code: str, prefix: ir.Prefix, text: str) -> ir.DateMatch:
    rng = parse_date(text)
    return ir.DateMatch(code, prefix, rng.low, rng.high, text)


def number_match(code: str, prefix: ir.Prefix, value: Decimal) -> ir.NumberMatch:
    rng = parse_number(str(value))
    return ir.NumberMatch(code, prefix, rng.value, rng.low, rng.high)


def quantity_match(
    code: str, prefix: ir.Prefix, value: Decimal, system: str | None, unit: str | None
) -> ir.QuantityMatch:
    rng = parse_number(str(value))
    canonical = None
    if unit and system == UCUM_SYSTEM:  # only a search naming UCUM converts
        try:
            canonical = canonical_range(rng.value, rng.low, rng.high, unit)
        except ArithmeticError:  # as the parser does
            canonical = None
    extra = canonical or (None, None, None, None)
    return ir.QuantityMatch(code, prefix, rng.value, rng.low, rng.high, system, unit, *extra)


@st.composite
def token_value(draw: Any, code: str, *, piped: bool = True) -> ir.TokenMatch:
    """A plain ``system|code`` token (``piped=False``: no ``|`` inside the parts)."""
    part = texts() if piped else piped_texts()
    form = draw(st.sampled_from(["code", "system|code", "|code", "system|"]))
    if form == "code":
        return ir.TokenMatch(code, ir.TokenOp.EQ, None, draw(part))
    if form == "|code":
        return ir.TokenMatch(code, ir.TokenOp.EQ, "", draw(part))
    if form == "system|":
        return ir.TokenMatch(code, ir.TokenOp.EQ, draw(part), None)
    return ir.TokenMatch(code, ir.TokenOp.EQ, draw(part), draw(part))


@st.composite
def reference_value(draw: Any, param: SearchParam, *, piped: bool = True) -> ir.ReferenceMatch:
    version = draw(st.none() | (texts() if piped else piped_texts()))
    if draw(st.booleans()):
        url = draw(URLS if piped else URLS.filter(lambda u: "|" not in u))
        return ir.ReferenceMatch(param.code, ir.ReferenceOp.EQ, None, None, url, version)
    target = draw(st.none() | st.sampled_from(param.targets or TYPES))
    if target is None and version is not None and "/" in version:
        version = None
    return ir.ReferenceMatch(param.code, ir.ReferenceOp.EQ, target, draw(IDS), None, version)


@st.composite
def component_value(draw: Any, param: SearchParam, code: str) -> ir.Predicate:
    """A value of a composite component, as the binder parses it (no modifier)."""
    kind = param.type
    if kind is ParamType.TOKEN:
        return draw(token_value(code))
    if kind is ParamType.STRING:
        return ir.StringMatch(code, ir.StringOp.STARTS, draw(texts()))
    if kind is ParamType.DATE:
        return date_match(code, draw(PREFIXES), draw(date_texts()))
    if kind is ParamType.QUANTITY:
        return draw(quantity(code))
    if kind is ParamType.NUMBER:
        return number_match(code, draw(PREFIXES), draw(decimals()))
    if kind is ParamType.URI:
        return ir.UriMatch(code, ir.UriOp.EQ, draw(texts()))
    if kind is ParamType.REFERENCE:
        return draw(reference_value(param))
    raise AssertionError(kind)


@st.composite
def quantity(draw: Any, code: str, *, piped: bool = True) -> ir.QuantityMatch:
    system = draw(st.none() | st.just(UCUM_SYSTEM) | (texts() if piped else piped_texts()))
    unit = draw(st.none() | UNITS.filter(lambda u: piped or "|" not in u))
    return quantity_match(code, draw(PREFIXES), draw(decimals()), system, unit)


@st.composite
def leaf(draw: Any, param: SearchParam) -> ir.Predicate:
    """One value of ``param`` with one of the modifiers its type allows (OR-able)."""
    code, kind = param.code, param.type
    if code == "_id":
        return ir.TokenMatch("_id", ir.TokenOp.EQ, None, draw(texts()))
    if kind is ParamType.STRING:
        op = draw(st.sampled_from([ir.StringOp.STARTS, ir.StringOp.EXACT, ir.StringOp.CONTAINS]))
        return ir.StringMatch(code, op, draw(texts()))
    if kind is ParamType.TOKEN:
        form = draw(st.sampled_from(["eq", "eq", "text", "of-type", "in", "not-in", "above"]))
        if form == "eq":
            return draw(token_value(code))
        if form == "text":
            return ir.TokenMatch(code, ir.TokenOp.TEXT, None, None, draw(texts()))
        if form == "of-type":
            return ir.TokenMatch(
                code, ir.TokenOp.OF_TYPE, draw(texts()), draw(texts()), draw(texts())
            )
        if form in ("in", "not-in"):
            return ir.Terminology(code, ir.TerminologyOp(form), None, draw(texts()))
        op = draw(st.sampled_from([ir.TerminologyOp.ABOVE, ir.TerminologyOp.BELOW]))
        return ir.Terminology(code, op, draw(st.none() | texts()), draw(texts()))
    if kind is ParamType.DATE:
        return date_match(code, draw(PREFIXES), draw(date_texts()))
    if kind is ParamType.NUMBER:
        return number_match(code, draw(PREFIXES), draw(decimals()))
    if kind is ParamType.QUANTITY:
        return draw(quantity(code))
    if kind is ParamType.REFERENCE:
        if draw(st.integers(0, 3)) == 0:
            system, value = draw(st.sampled_from([(1, 1), (1, 0), (0, 1)]))
            return ir.ReferenceMatch(
                code,
                ir.ReferenceOp.IDENTIFIER,
                None,
                draw(texts()) if value else None,
                draw(texts()) if system else None,
            )
        return draw(reference_value(param))
    if kind is ParamType.URI:
        op = draw(st.sampled_from(list(ir.UriOp)))
        return ir.UriMatch(code, op, draw(texts()))
    if kind is ParamType.COMPOSITE:
        components = []
        for i, component in enumerate(param.components):
            target = REGISTRY.component_param(param.resource_type, component)
            assert target is not None
            components.append(draw(component_value(target, f"{code}${i}")))
        return ir.Composite(code, tuple(components))
    raise AssertionError(kind)


def _same_form(a: ir.Predicate, b: ir.Predicate) -> bool:
    """Whether ``b`` can follow ``a`` in one OR list (same parameter and modifier)."""
    if type(a) is not type(b):
        return False
    return getattr(a, "op", None) == getattr(b, "op", None)


# -- predicates -------------------------------------------------------------------------------


@st.composite
def plain(draw: Any, rtype: str, hops: int = 0, after_chain: bool = False) -> ir.Predicate:
    """A predicate one search parameter of ``rtype`` expresses (a chain link cannot be
    followed by ``_has``)."""
    choices = ["leaf", "leaf", "leaf", "or", "not", "missing", "text", "list"]
    if (
        any(p.type in (ParamType.TOKEN, ParamType.REFERENCE) for p in params_of(rtype))
        and rtype != "Resource"
    ):
        choices.append("advanced")
    if hops < MAX_HOPS and chain_targets(rtype):
        choices += ["chain", "chain"]
    if hops < MAX_HOPS and has_sources(rtype) and not after_chain:
        choices.append("has")
    form = draw(st.sampled_from(choices))
    params = params_of(rtype)
    if form in ("leaf", "or"):
        param = draw(st.sampled_from(params))
        first = draw(leaf(param))
        if form == "leaf":
            return first
        more = draw(
            st.lists(leaf(param).filter(lambda x: _same_form(first, x)), min_size=1, max_size=2)
        )
        return ir.Or((first, *more))
    if form == "not":
        tokens = [p for p in params if p.type is ParamType.TOKEN]
        param = draw(st.sampled_from(tokens))
        if param.code == "_id":
            values = draw(st.lists(leaf(param), min_size=1, max_size=3))
        else:
            values = draw(st.lists(token_value(param.code), min_size=1, max_size=3))
        return ir.Not(values[0] if len(values) == 1 else ir.Or(tuple(values)))
    if form == "missing":
        param = draw(st.sampled_from(params))
        return ir.Missing(param.code, param.type.value, draw(st.booleans()))
    if form == "text":
        kind = draw(st.sampled_from([ir.TextKind.NARRATIVE, ir.TextKind.CONTENT]))
        values = draw(st.lists(text_queries(), min_size=1, max_size=3))
        alternatives = tuple(ir.Text(kind, v) for v in values)
        return alternatives[0] if len(alternatives) == 1 else ir.Or(alternatives)
    if form == "list":
        ids = draw(st.lists(texts(), min_size=1, max_size=3))
        where = tuple(ir.TokenMatch("_id", ir.TokenOp.EQ, None, i) for i in ids)
        return ir.Has("List", "item", where[0] if len(where) == 1 else ir.Or(where))
    if form == "advanced":
        param = draw(
            st.sampled_from(
                [
                    p
                    for p in params
                    if p.type in (ParamType.TOKEN, ParamType.REFERENCE) and p.code != "_id"
                ]
            )
        )
        return ir.Text(ir.TextKind.ADVANCED, draw(text_queries()), param.code)
    if form == "chain":
        param, target = draw(st.sampled_from(chain_targets(rtype)))
        return ir.Chain(param.code, (target,), draw(plain(target, hops + 1, after_chain=True)))
    source, code = draw(st.sampled_from(has_sources(rtype)))
    return ir.Has(source, code, draw(plain(source, hops + 1)))


@st.composite
def comparison(draw: Any, rtype: str, hops: int = 0) -> ir.Predicate:
    """A predicate one ``_filter`` comparison (``path op value``) lowers to."""
    choices = ["leaf"] * 4 + ["ne", "missing"]
    if hops < MAX_HOPS and single_target_chains(rtype):
        choices += ["chain", "bracket"]
    form = draw(st.sampled_from(choices))
    params = params_of(rtype)
    if form == "leaf":
        param = draw(st.sampled_from([p for p in params if p.type is not ParamType.COMPOSITE]))
        return draw(filter_leaf(param))
    if form == "ne":
        param = draw(
            st.sampled_from(
                [
                    p
                    for p in params
                    if p.type in (ParamType.STRING, ParamType.TOKEN, ParamType.URI)
                    or p.type is ParamType.REFERENCE
                ]
            )
        )
        kind = param.type
        if param.code == "_id":
            inner: ir.Predicate = ir.TokenMatch("_id", ir.TokenOp.EQ, None, draw(texts()))
        elif kind is ParamType.STRING:
            inner = ir.StringMatch(param.code, ir.StringOp.EQUALS, draw(texts(0)))
        elif kind is ParamType.TOKEN:
            inner = draw(token_value(param.code, piped=False))
        elif kind is ParamType.URI:
            inner = ir.UriMatch(param.code, ir.UriOp.EQ, draw(texts()))
        else:
            inner = draw(reference_value(param, piped=False))
        return ir.Not(inner)
    if form == "missing":
        param = draw(st.sampled_from(params))
        return ir.Missing(param.code, param.type.value, draw(st.booleans()))
    param, target = draw(st.sampled_from(single_target_chains(rtype)))
    rest = draw(comparison(target, hops + 1))
    if form == "chain":
        return ir.Chain(param.code, (target,), rest)
    first = draw(filter_expr(target, hops + 1, depth=1))
    return ir.Chain(param.code, (target,), ir.And((first, rest)))


@st.composite
def filter_leaf(draw: Any, param: SearchParam) -> ir.Predicate:
    code, kind = param.code, param.type
    if code == "_id":
        return ir.TokenMatch("_id", ir.TokenOp.EQ, None, draw(texts()))
    if kind is ParamType.STRING:
        op = draw(st.sampled_from([op for op in ir.StringOp if op is not ir.StringOp.EXACT]))
        return ir.StringMatch(code, op, draw(texts(0)))  # _filter has no :exact
    if kind is ParamType.TOKEN:
        form = draw(st.sampled_from(["eq", "eq", "in", "not-in", "above", "below"]))
        if form == "eq":
            return draw(token_value(code, piped=False))
        if form in ("in", "not-in"):
            return ir.Terminology(code, ir.TerminologyOp(form), None, draw(texts()))
        system = draw(st.none() | piped_texts())
        return ir.Terminology(code, ir.TerminologyOp(form), system, draw(piped_texts()))
    if kind is ParamType.DATE:
        return date_match(code, draw(PREFIXES), draw(date_texts()))
    if kind is ParamType.NUMBER:
        return number_match(code, draw(PREFIXES), draw(decimals()))
    if kind is ParamType.QUANTITY:
        return draw(quantity(code, piped=False))
    if kind is ParamType.REFERENCE:
        return draw(reference_value(param, piped=False))
    if kind is ParamType.URI:
        op = draw(st.sampled_from([ir.UriOp.EQ, ir.UriOp.BELOW]))
        return ir.UriMatch(code, op, draw(texts()))
    raise AssertionError(kind)


@st.composite
def filter_expr(draw: Any, rtype: str, hops: int = 0, depth: int = 0) -> ir.Predicate:
    """A predicate a ``_filter`` expression on ``rtype`` lowers to."""
    if depth >= 2:
        return draw(comparison(rtype, hops))
    form = draw(st.sampled_from(["cmp", "cmp", "and", "or", "not"]))
    if form == "cmp":
        return draw(comparison(rtype, hops))
    if form == "not":
        return ir.Not(draw(filter_expr(rtype, hops, depth + 1)))
    cls = ir.And if form == "and" else ir.Or
    children = draw(
        st.lists(
            filter_expr(rtype, hops, depth + 1).filter(lambda c: not isinstance(c, cls)),
            min_size=2,
            max_size=3,
        )
    )
    return cls(tuple(children))


@st.composite
def top_predicate(draw: Any, rtype: str) -> ir.Predicate:
    """One top-level parameter: plain, or a ``_filter`` (never an And: the binder flattens)."""
    if draw(st.integers(0, 2)) == 0:
        return draw(filter_expr(rtype).filter(lambda p: not isinstance(p, ir.And)))
    return draw(plain(rtype))


@st.composite
def system_predicate(draw: Any) -> ir.Predicate:
    """A predicate of a system-level search: common parameters only, no _filter or _has."""
    form = draw(st.sampled_from(["common", "common", "text", "list"]))
    if form == "common":
        code = draw(st.sampled_from(COMMON))
        param = REGISTRY.get("Resource", code)
        assert param is not None
        return draw(leaf(param))
    if form == "text":
        kind = draw(st.sampled_from([ir.TextKind.NARRATIVE, ir.TextKind.CONTENT]))
        return ir.Text(kind, draw(text_queries()))
    return ir.Has("List", "item", ir.TokenMatch("_id", ir.TokenOp.EQ, None, draw(texts())))


# -- queries ----------------------------------------------------------------------------------


@st.composite
def includes(draw: Any, rtype: str | None) -> tuple[ir.Include, ...]:
    out = []
    for _ in range(draw(st.integers(0, 3))):
        reverse = draw(st.booleans())
        iterate = draw(st.booleans())
        if rtype is not None and not reverse and not iterate:
            source = rtype
        else:
            source = draw(st.sampled_from(TYPES))
        refs = params_by_type(source, ParamType.REFERENCE)
        if draw(st.integers(0, 5)) == 0:
            if rtype is None and not reverse and not iterate:
                out.append(ir.Include("*", "*", None, False, False))
            else:
                out.append(ir.Include(source, "*", None, iterate, reverse))
            continue
        param = draw(st.sampled_from(refs))
        target = draw(
            st.none() | st.sampled_from([t for t in param.targets if t in TYPES] or [None])
        )
        out.append(ir.Include(source, param.code, target, iterate, reverse))
    return tuple(out)


@st.composite
def sort_keys(draw: Any, rtype: str | None) -> tuple[ir.SortKey, ...]:
    keys = []
    candidates: list[tuple[str, str]] = [("_id", "token"), ("_lastUpdated", "date")]
    if rtype is not None:
        candidates += [
            (p.code, p.type.value)
            for p in params_of(rtype)
            if p.type is not ParamType.COMPOSITE and p.code not in ("_id", "_lastUpdated")
        ]
    for _ in range(draw(st.integers(0, 3))):
        code, kind = draw(st.sampled_from(candidates))
        keys.append(ir.SortKey(code, kind, draw(st.booleans())))
    return tuple(keys)


@st.composite
def queries(draw: Any, system_level: bool | None = None) -> ir.Query:
    """An ir.Query as ``hp.parse`` builds it."""
    if system_level is None:
        system_level = draw(st.integers(0, 5)) == 0
    rtype = None if system_level else draw(st.sampled_from(TYPES))
    if rtype is None:
        predicates = draw(st.lists(system_predicate(), max_size=3))
    else:
        predicates = draw(st.lists(top_predicate(rtype), max_size=3))
    where = None
    if len(predicates) == 1:
        where = predicates[0]
    elif predicates:
        flat: list[ir.Predicate] = []
        for p in predicates:  # as the binder does: a top-level And is flat
            flat.extend(p.children if isinstance(p, ir.And) else (p,))
        where = ir.And(tuple(flat))
    optional = st.booleans()
    types: tuple[str, ...] = ()
    if rtype is None and draw(optional):
        types = tuple(draw(st.lists(st.sampled_from(TYPES), min_size=1, max_size=3)))
    return ir.Query(
        resource_type=rtype,
        where=where,
        types=types,
        sort=draw(sort_keys(rtype)),
        count=draw(st.none() | st.integers(0, 1000)),
        offset=draw(st.none() | st.integers(0, 10**9)),
        total=draw(st.none() | st.sampled_from(list(ir.TotalMode))),
        summary=draw(st.none() | st.sampled_from(list(ir.Summary))),
        elements=tuple(draw(st.lists(texts(), max_size=2))),
        include=draw(includes(rtype)),
        contained=draw(st.none() | st.sampled_from(["true", "false", "both"])),
        cursor=draw(st.none() | texts()),
    )
