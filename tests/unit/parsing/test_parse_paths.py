"""The search grammar read three ways gives the same syntax, pair for pair, error for error.

``grammar/search.lark`` reads the usual pairs (no ``_has``, no ``_filter``, no backslash) as
one ``PLAIN_PARAMS`` token that ``parsing/syntax.py`` splits, and ``Type?`` as one
``TYPE_QMARK`` token; its rules read everything else, and would read those the same. Valid
queries go through lark-cython's runtime where it is installed; errors are always reported
by pure Lark. Each query here is parsed with

* ``fast``: what :func:`parse_syntax` uses (lark-cython when installed, else pure Lark),
* ``lark``: the same grammar on pure Lark (what runs without lark-cython),
* ``rules``: pure Lark with those two tokens disabled, i.e. the grammar's rules alone,

and all three must give the same :class:`RawQuery` (positions included) or raise the same
:class:`InvalidSearch` (message, parameter, position).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lark import Lark, Token
from lark.lexer import PatternRE, TerminalDef
from test_parse_cases import CASES
from test_parse_errors import ERRORS

from helios_persistence.assets import read_asset
from helios_persistence.errors import InvalidSearch
from helios_persistence.parsing import syntax

PROFILE = settings.get_profile("parsing")
GOAL = "Observation?code=http://loinc.org|8867-4&date=ge2020-01-01&subject=Patient/123"


def _rules_only(terminal: TerminalDef) -> None:
    if terminal.name in ("PLAIN_PARAMS", "TYPE_QMARK"):
        terminal.pattern = PatternRE("(?!)x")  # matches nothing


RULES = syntax._make_parser(edit_terminals=_rules_only)
#: name → (parser for valid queries, parser that reports errors)
PARSERS: dict[str, Callable[[], tuple[Lark, Lark]]] = {
    "fast": lambda: (syntax._parser(), syntax._lark()),
    "lark": lambda: (syntax._lark(), syntax._lark()),
    "rules": lambda: (RULES, RULES),
}


@contextmanager
def _parsing_with(name: str) -> Iterator[None]:
    parser, reporter = PARSERS[name]()
    with (
        mock.patch.object(syntax, "_parser", lambda: parser),
        mock.patch.object(syntax, "_lark", lambda: reporter),
    ):
        syntax.clear_caches()
        try:
            yield
        finally:
            syntax.clear_caches()


def _outcome(name: str, query: str) -> object:
    with _parsing_with(name):
        try:
            raw = syntax.parse_syntax(query)
        except InvalidSearch as error:
            return ("InvalidSearch", error.message, error.parameter, error.position)
        return (raw.resource_type, raw.params, [raw.position(p.pos) for p in raw.params])


def _assert_same(query: str) -> None:
    expected = _outcome("rules", query)
    for name in ("fast", "lark"):
        assert _outcome(name, query) == expected, (name, query)


@pytest.mark.parametrize(("query", "expected"), CASES)
def test_cases_read_the_same_every_way(query: str, expected: str) -> None:
    _assert_same(query)


@pytest.mark.parametrize("query", [error[0] for error in ERRORS])
def test_errors_read_the_same_every_way(query: str) -> None:
    _assert_same(query)


@pytest.mark.parametrize(
    "query",
    [
        GOAL,
        "Patient?_has:Observation:subject:code=x&name=a",
        "Patient?_has=x",  # the keyword alone: an error, not a plain name
        "_has?x=1",  # a type, not the keyword
        "?name=x",
        "Patient?",
        "Patient?_hasx=1&_filterx=2&_has-x=3&_filter_=4",  # names that only start like one
        "Patient?_filter:exact=x",
        "Patient?name._has=x&name:_filter=y",
        "Patient?name=a\\,b&family=c",  # an escape: the rules read that pair
        "Patient?name=a\\",
        "Patient?name=a&&=b&c",
        "Patient?a:b:c=1&x=2",
        "Patient?a.=1",
        "Patient?a:=1",
        "Patient?name=x\ny&family=\t",
        "Patient?name==x&given=a=b",
        "Patient?name=,,$||$,&given=",
        "code=a&date=ge2020",  # no "?"
        "Patient",
        "Pat ient",
        "Patient?name=%5C%2C&given=%26%3D&family=%zz",
        "Patient?na%6De=a&x%3Dy=1",
        "Patient?name=x&name=x&&name=x",  # repeated and empty pairs
    ],
)
def test_edge_cases_read_the_same_every_way(query: str) -> None:
    _assert_same(query)


#: mostly what reads as PLAIN_PARAMS, now and then what must not (a comparison needs the
#: pairs before the one that differs to be valid)
NAMES = ["name", "code", "subject", "_id", "a-b", "x_1", "_hasx", "_filter-x"] * 3
NAMES += ["_has", "_filter"] * 3 + ["1x", "", "é"]
PIECES = ["a", "Z", "0", " ", "é", "\n", "/", "-", "_", "http://x", ",", "|", "$", ".", ":", "="]
PIECES += ["?", "%2C", "%26", "%3D", "%C3%A9", "%"] * 2
PIECES += ["\\", "\\,", "\\\\", "%5C", "%zz", "%00", "%FF"]


@st.composite
def pairs(draw: st.DrawFn) -> str:
    """Queries of pairs made of names, modifiers, chains, _has and values with separators,
    escapes and percent-escapes where they may and may not be."""
    out = []
    for _ in range(draw(st.integers(0, 4))):
        links = []
        for _ in range(draw(st.integers(1, 3))):
            link = draw(st.sampled_from(NAMES))
            if draw(st.integers(0, 3)) == 0:
                link += ":" + draw(st.sampled_from(NAMES))
            links.append(link)
        name = ".".join(links)
        if draw(st.integers(0, 5)) == 0:
            name = f"_has:Observation:{draw(st.sampled_from(NAMES))}:{name}"
        value = "".join(draw(st.lists(st.sampled_from(PIECES) | st.text(max_size=2), max_size=6)))
        out.append(name + draw(st.sampled_from(["="] * 8 + ["", "%3D"])) + value)
    rtype = draw(st.sampled_from(["Patient"] * 6 + ["", "Pat ient", "_has"]))
    return rtype + draw(st.sampled_from(["?"] * 6 + [""])) + "&".join(out)


@settings(PROFILE, max_examples=PROFILE.max_examples * 2)
@given(pairs())
def test_random_pairs_read_the_same_every_way(query: str) -> None:
    _assert_same(query)


@settings(PROFILE)
@given(st.text(alphabet=st.sampled_from(list('?&=:.,|$\\%_-aA1 "\x00')) | st.characters()))
def test_random_text_reads_the_same_every_way(text: str) -> None:
    _assert_same("Patient?" + text)


def test_usual_pairs_are_one_token() -> None:
    """What makes a cold parse fast: the goal query is two tokens, not sixteen."""
    trees = Lark(read_asset("grammar", "search.lark"), start="query", parser="lalr")
    tree = trees.parse(GOAL.replace("&", "\x00"))
    tokens = [t.type for t in tree.scan_values(lambda v: isinstance(v, Token))]
    assert tokens == ["TYPE_QMARK", "PLAIN_PARAMS"]


def test_valid_queries_go_through_lark_cython_where_installed() -> None:
    try:
        import lark_cython
    except ImportError:
        assert syntax._parser() is syntax._lark()
        pytest.skip("lark-cython is not installed: pure Lark parses (tested above)")
    assert syntax._parser().options._plugins == lark_cython.plugins
    assert not syntax._lark().options._plugins
