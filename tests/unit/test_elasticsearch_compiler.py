"""The Elasticsearch compiler without a server: every compiled conformance query carries the
tenant filter first, full text is structured (never ``query_string``), cursors are checked,
and the mapping declares every field a compiled body names."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import helios_persistence as hp
from helios_persistence.backends.elasticsearch.mapping import index_body
from helios_persistence.compilers.elasticsearch import compiler, with_tenant
from helios_persistence.conformance.cases import load_cases
from helios_persistence.errors import InvalidSearch

_SYNTAX = ("query_string", "simple_query_string", "script", "regexp")


def _compiled_conformance_bodies() -> list[tuple[str, dict[str, Any]]]:
    out = []
    for case in load_cases():
        try:
            query = compiler.lower(hp.parse(case.query))
        except InvalidSearch:
            continue
        if not compiler.supports(query):
            continue
        try:
            out.append((case.query, compiler.compile(query).body))
        except InvalidSearch:  # a value the dialect refuses (e.g. a NEAR it cannot express)
            continue
    return out


def _keys(node: Any) -> set[str]:
    if isinstance(node, dict):
        return set(node) | {k for v in node.values() for k in _keys(v)}
    if isinstance(node, list):
        return {k for v in node for k in _keys(v)}
    return set()


def test_every_compiled_conformance_query_is_confined_to_its_tenant() -> None:
    bodies = _compiled_conformance_bodies()
    assert len(bodies) > 300
    for text, body in bodies:
        assert body is not None, text
        filters = body["query"]["bool"]["filter"]
        assert filters[0] == {"term": {"tenant": None}}, text
        assert filters[1] == {"term": {"deleted": False}}, text
        # the only place a query sits is under the tenant filter's bool
        assert set(body) <= {"query", "sort", "size", "from", "search_after", "_source",
                             "track_total_hits"}, text  # fmt: skip
        assert set(body["query"]) == {"bool"} and set(body["query"]["bool"]) == {"filter"}
        assert not _keys(body) & set(_SYNTAX), text
        confined = with_tenant(body, "acme/research")
        assert confined["query"]["bool"]["filter"][0] == {"term": {"tenant": "acme/research"}}
        assert body["query"]["bool"]["filter"][0] == {"term": {"tenant": None}}  # not mutated


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1, max_size=40))
def test_user_text_only_reaches_term_level_queries(text: str) -> None:
    try:
        query = hp.parse("Patient?_content=" + _quote(text))
        body = compiler.compile(compiler.lower(query)).body
    except InvalidSearch:
        return
    assert body is not None
    assert not _keys(body) & set(_SYNTAX)
    leaves = {"term", "prefix", "match_phrase", "span_term", "span_multi", "match_none"}
    filters = body["query"]["bool"]["filter"]
    if query.where is None:  # (only empty values, e.g. ",": FHIR ignores the parameter)
        assert len(filters) == 3 and not text.replace(",", "").strip()
        return
    assert _keys(filters[3]) & leaves


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")


def test_forged_cursors_are_invalid_searches() -> None:
    for cursor in ("not-base64!", "WzFd", "eyJhIjogMX0"):
        with pytest.raises(InvalidSearch, match="_cursor"):
            hp.compile(hp.parse(f"Patient?_sort=name&_cursor={cursor}"), "elasticsearch")


def _fields_of(mapping: dict[str, Any], prefix: str = "") -> set[str]:
    out = set()
    for name, spec in mapping.get("properties", {}).items():
        out.add(prefix + name)
        out |= _fields_of(spec, f"{prefix}{name}.")
    return out


def test_the_mapping_declares_every_field_a_body_names() -> None:
    mapping = index_body()["mappings"]
    declared = _fields_of(mapping)
    dynamic = ("d.", "n.", "nc.", "pt.", "sd.", "sdh.", "sk.", "comp.d.", "comp.n.", "comp.nc.")
    for text, body in _compiled_conformance_bodies():
        for name in _field_names(body):
            assert name in declared or name.startswith(dynamic), (text, name)
    assert json.dumps(mapping)  # (serialisable as sent)


def _field_names(node: Any) -> set[str]:
    out: set[str] = set()
    if isinstance(node, list):
        for v in node:
            out |= _field_names(v)
    elif isinstance(node, dict):
        for k, v in node.items():
            if k in ("term", "terms", "prefix", "wildcard", "range", "match_phrase",
                     "span_term") and isinstance(v, dict):  # fmt: skip
                out |= set(v)
            elif k == "sort" and isinstance(v, list):
                out |= {f for entry in v for f in entry}
            else:
                out |= _field_names(v)
    return out


def test_helios_compile_prints_the_request_body(capsys: Any) -> None:
    from helios_persistence.cli import main

    assert main(["compile", "Patient?_text=heart attack", "--dialect", "elasticsearch"]) == 0
    out = capsys.readouterr().out
    assert '"narrative"' in out and '"tenant": null' in out and "query_string" not in out
