"""Properties of the parser, the renderer and the IR, checked with hypothesis.

* round trip: for IR the binder produces (``helios_persistence.testing.ir_strategies.queries``),
  ``parse(render(q)) == q`` and the rendering is canonical (a fixed point);
* robustness: arbitrary text, arbitrary text after ``Patient?`` and random
  ``name:modifier=value`` soup never raise anything but ``InvalidSearch`` (and whatever does
  parse renders back to itself);
* shapes: queries that differ only in values share ``shape_key`` and differ in ``values``;
  S-expressions are deterministic, across processes too.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import fields, replace
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

import helios_persistence as hp
from helios_persistence import ir
from helios_persistence.errors import InvalidSearch
from helios_persistence.ir.shape import QUERY_VALUE_FIELDS
from helios_persistence.parsing.render import render
from helios_persistence.testing import ir_strategies as strategies

PROFILE = settings.get_profile("parsing")

# -- round trip -------------------------------------------------------------------------------


@settings(PROFILE)
@given(strategies.queries())
def test_render_then_parse_gives_the_query_back(query: ir.Query) -> None:
    text = render(query)
    parsed = hp.parse(text)
    assert parsed == query, f"\n{query}\n{text}\n{parsed}"
    assert render(parsed) == text  # canonical: rendering is a fixed point
    assert str(parsed) == str(query)


@settings(PROFILE, max_examples=max(PROFILE.max_examples // 4, 25))
@given(strategies.queries(system_level=True))
def test_system_level_queries_round_trip(query: ir.Query) -> None:
    assert hp.parse(render(query)) == query


@settings(PROFILE)
@given(strategies.filter_expr("Observation"))
def test_filter_expressions_round_trip(predicate: ir.Predicate) -> None:
    """Whatever _filter builds, alone as the where clause (flattened as the binder does)."""
    query = ir.Query("Observation", predicate)
    text = render(query)
    parsed = hp.parse(text)
    if isinstance(predicate, ir.And):  # a top-level And becomes separate parameters
        assert parsed.where is not None
    else:
        assert parsed == query, f"\n{query}\n{text}\n{parsed}"


# -- robustness -------------------------------------------------------------------------------


def _parse_or_invalid(text: str) -> ir.Query | None:
    try:
        return hp.parse(text)
    except InvalidSearch as error:
        assert error.message
        assert error.outcome["issue"][0]["code"] in ("invalid", "not-supported")
        assert error.position is None or 0 <= error.position <= len(text)
        return None


@settings(PROFILE)
@given(st.text())
def test_arbitrary_text_is_a_query_or_invalid_search(text: str) -> None:
    _parse_or_invalid(text)


@settings(PROFILE)
@given(st.text(alphabet=st.sampled_from(list('?&=:.,|$\\%_-aA1 "()[]')) | st.characters()))
def test_arbitrary_text_after_a_type_is_a_query_or_invalid_search(text: str) -> None:
    for prefix in ("Patient?", "Observation?_filter=", "?"):
        query = _parse_or_invalid(prefix + text)
        if query is not None:
            assert hp.parse(render(query)) == query


NAMES = [
    "name", "family", "gender", "birthdate", "identifier", "general-practitioner",
    "organization", "code", "date", "subject", "patient", "value-quantity", "performer",
    "code-value-quantity", "combo-code", "status", "url", "_id", "_lastUpdated", "_tag",
    "_profile", "_text", "_content", "_list", "_sort", "_count", "_offset", "_total",
    "_summary", "_elements", "_include", "_revinclude", "_contained", "_type", "_cursor",
    "_filter", "_format", "foo", "partof",
]  # fmt: skip
MODIFIERS = [
    "exact", "contains", "text", "not", "missing", "above", "below", "in", "not-in",
    "of-type", "identifier", "iterate", "text-advanced", "Patient", "Organization",
    "Practitioner", "Foo",
]  # fmt: skip
VALUES = [
    "smith", "2020", "ge2020-01-01", "lt2020-01-01T10:00:00+01:00", "http://loinc.org|8867-4",
    "|x", "s|", "5.4|http://unitsofmeasure.org|mg", "ap5.40||mg", "Patient/1",
    "Patient/1/_history/2", "http://x.org/a|1", "urn:uuid:1", "true", "false", "a,b",
    "a\\,b", "x$y", "8867-4$gt5", "%2C", "%25", "%", "-name", "name,-birthdate",
    "Patient:organization", "Observation:subject:Patient", "*", "10", "accurate", "count",
    "both", "Patient,Observation", 'name eq "x"', "name sw a or gender eq male",
    "patient[name eq x].birthdate gt 2000", "not(name co \"a b\")", "code in http://vs|1",
]  # fmt: skip


@st.composite
def soup(draw: Any) -> str:
    """Structured but random queries: names, modifiers, chains, _has and values."""
    pairs = []
    for _ in range(draw(st.integers(0, 4))):
        links = []
        for _ in range(draw(st.integers(1, 3))):
            link = draw(st.sampled_from(NAMES))
            if draw(st.integers(0, 2)) == 0:
                link += ":" + draw(st.sampled_from(MODIFIERS))
            links.append(link)
        name = ".".join(links)
        if draw(st.integers(0, 5)) == 0:
            source = draw(st.sampled_from(["Observation", "Encounter", "Foo"]))
            name = f"_has:{source}:{draw(st.sampled_from(['subject', 'patient']))}:{name}"
        value = draw(st.sampled_from(VALUES) | strategies.texts(0, 6))
        pairs.append(f"{name}={value}")
    rtype = draw(st.sampled_from(["Patient", "Observation", "Encounter", ""]))
    return f"{rtype}?{'&'.join(pairs)}"


@settings(PROFILE, max_examples=PROFILE.max_examples * 2)
@given(soup())
def test_parameter_soup_is_a_query_or_invalid_search(text: str) -> None:
    query = _parse_or_invalid(text)
    if query is not None:  # and whatever parses renders back to the same IR
        canonical = render(query)
        assert hp.parse(canonical) == query, f"\n{text}\n{canonical}"


@settings(PROFILE)
@given(soup())
def test_lenient_parsing_never_crashes(text: str) -> None:
    try:
        result = hp.parse_lenient(text)
    except InvalidSearch:
        return
    for name in result.ignored:
        assert name in text


# -- shapes -----------------------------------------------------------------------------------


def _other(value: Any) -> Any:
    """A different value of the same kind (blank stays blank)."""
    if isinstance(value, bool):
        raise AssertionError("flags are shape, not values")
    if isinstance(value, int):
        return value + 7
    if isinstance(value, Decimal):
        return value + 1
    if isinstance(value, ir.TextQuery):
        return ir.Text(ir.TextKind.CONTENT, f"{value.source} other").query
    assert isinstance(value, str)
    return value + "′"


def revalue(node: Any) -> Any:
    """``node`` with every present value changed and everything else kept."""
    if isinstance(node, tuple):
        return tuple(revalue(n) for n in node)
    if not isinstance(node, ir.Node):
        return node
    value_fields = QUERY_VALUE_FIELDS if isinstance(node, ir.Query) else node.VALUE_FIELDS
    changes = {}
    for f in fields(node):
        value = getattr(node, f.name)
        if f.name in value_fields:
            if value is not None and value != "":
                changes[f.name] = _other(value)
        else:
            changes[f.name] = revalue(value)
    return replace(node, **changes)


@settings(PROFILE)
@given(strategies.queries())
def test_shape_key_ignores_values(query: ir.Query) -> None:
    other = revalue(query)
    assert ir.shape_key(other) == ir.shape_key(query)
    assert hash(ir.shape_key(other)) == hash(ir.shape_key(query))
    before, after = ir.values(query), ir.values(other)
    assert len(before) == len(after)
    assert all(a != b for a, b in zip(before, after, strict=True))
    if before:
        assert other != query


@settings(PROFILE)
@given(soup(), soup())
def test_equal_queries_have_equal_shapes_and_strings(a: str, b: str) -> None:
    qa, qb = _parse_or_invalid(a), _parse_or_invalid(b)
    if qa is None or qb is None:
        return
    if qa == qb:
        assert ir.shape_key(qa) == ir.shape_key(qb)
        assert str(qa) == str(qb)
    if ir.shape_key(qa) == ir.shape_key(qb):
        assert len(ir.values(qa)) == len(ir.values(qb))


@settings(PROFILE)
@given(strategies.queries())
def test_s_expression_is_deterministic(query: ir.Query) -> None:
    copy = replace(query)
    assert copy == query and copy is not query
    assert str(copy) == str(query)
    assert str(query).startswith("(Query") and _balanced(str(query))


def _balanced(sexpr: str) -> bool:
    """Parentheses balance outside the quoted strings (which escape \\ and \")."""
    depth, quoted, escaped = 0, False, False
    for ch in sexpr:
        if quoted:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                quoted = False
        elif ch == '"':
            quoted = True
        elif ch in "()":
            depth += 1 if ch == "(" else -1
            if depth < 0:
                return False
    return depth == 0 and not quoted


def test_values_only_templates_share_a_shape() -> None:
    template = "Observation?code={}|{}&date=ge{}&subject=Patient/{}&value-quantity=lt{}||{}"
    a = hp.parse(template.format("http://loinc.org", "8867-4", "2020", "1", "5.4", "mg"))
    b = hp.parse(template.format("http://snomed.info", "x", "2021-03-04", "2", "6", "kg"))
    assert ir.shape_key(a) == ir.shape_key(b)
    assert ir.values(a) != ir.values(b)
    assert len(ir.values(a)) == len(ir.values(b))
    c = hp.parse(template.format("", "8867-4", "2020", "1", "5.4", "mg"))  # no system: "|code"
    assert ir.shape_key(c) != ir.shape_key(a)


SCRIPT = """
import helios_persistence as hp
from helios_persistence import ir
for q in {queries!r}:
    parsed = hp.parse(q)
    print(parsed)
    print(repr(ir.shape_key(parsed)))
"""


def test_strings_and_shapes_are_the_same_in_every_process() -> None:
    queries = [
        "Observation?code=http://loinc.org|8867-4,9279-1&date=ge2020&_sort=-date",
        "Patient?_filter=name eq a or (gender eq male and birthdate lt 2000)",
        "Patient?_has:Observation:subject:code=x&_include=Patient:organization&_count=5",
        "?_type=Patient,Observation&_lastUpdated=gt2020",
    ]
    outputs = []
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(
            [sys.executable, "-c", SCRIPT.format(queries=queries)],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
        outputs.append(done.stdout)
    assert outputs[0] == outputs[1]
    assert outputs[0].count("(Query") == len(queries)
