"""The terminology model without a store: closures, expansion, ``$subsumes``, ``$lookup``.

The closure of a random is-a DAG (written as nested concepts and as properties) must be its
reflexive-transitive closure computed naively; expansion is checked operator by operator on
a small CodeSystem, and on the official R4 bundles (skipped when absent) against each
ValueSet's own explicit concept lists.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helios_persistence.errors import TerminologyError
from helios_persistence.terminology import (
    CodeSystemModel,
    ResourceSource,
    expand,
    expand_valueset,
    lookup,
    subsumes,
)

SYS = "http://example.org/cs"


@st.composite
def dags(draw: Any) -> tuple[list[str], dict[str, set[str]]]:
    codes = [f"k{i}" for i in range(draw(st.integers(1, 9)))]
    parents = {
        c: set(draw(st.lists(st.sampled_from(codes[:i]), max_size=3))) if i else set()
        for i, c in enumerate(codes)
    }
    return codes, parents


def _resource(codes: list[str], parents: dict[str, set[str]], nested: bool) -> dict[str, Any]:
    concepts = {c: {"code": c} for c in codes}
    roots = []
    for c in codes:
        ps = sorted(parents[c])
        if nested and ps:
            concepts[ps[0]].setdefault("concept", []).append(concepts[c])
            ps = ps[1:]
        else:
            roots.append(concepts[c])
        for i, p in enumerate(ps):
            if i % 2:
                concepts[p].setdefault("property", []).append({"code": "child", "valueCode": c})
            else:
                concepts[c].setdefault("property", []).append({"code": "parent", "valueCode": p})
    return {"resourceType": "CodeSystem", "url": SYS, "content": "complete", "concept": roots}


@settings(max_examples=150, deadline=None)
@given(dag=dags(), nested=st.booleans())
def test_closure_is_the_reflexive_transitive_closure(
    dag: tuple[list[str], dict[str, set[str]]], nested: bool
) -> None:
    codes, parents = dag
    model = CodeSystemModel.from_resource(_resource(codes, parents, nested))
    naive = {(c, c) for c in codes}
    changed = True
    while changed:
        changed = False
        for child, ps in parents.items():
            for p in ps:
                for a, d in list(naive):
                    if d == p and (a, child) not in naive:
                        naive.add((a, child))
                        changed = True
    assert {(a, d) for a, d, _ in model.closure()} == naive
    distances = {(a, d): n for a, d, n in model.closure()}
    assert all(distances[(c, c)] == 0 for c in codes)
    assert all(distances[(p, c)] == 1 for c, ps in parents.items() for p in ps)


def _small() -> list[dict[str, Any]]:
    cs = {
        "resourceType": "CodeSystem", "id": "cs", "url": SYS, "content": "complete",
        "name": "Small", "version": "1",
        "concept": [
            {"code": "a", "display": "A", "concept": [
                {"code": "b", "property": [{"code": "colour", "valueCode": "red"}],
                 "concept": [{"code": "c", "property": [{"code": "colour", "valueCode": "blue"}]}]},
                {"code": "d", "designation": [{"language": "de", "value": "D-de"}]},
            ]},
            {"code": "e", "property": [{"code": "subsumedBy", "valueCode": "d"}]},
        ],
    }  # fmt: skip
    return [cs]


def _codes(vs: dict[str, Any], resources: list[dict[str, Any]]) -> set[str]:
    return {code for _, code in expand_valueset(vs, ResourceSource(resources)).codes}


def _vs(*include: dict[str, Any], exclude: tuple[dict[str, Any], ...] = ()) -> dict[str, Any]:
    compose: dict[str, Any] = {"include": list(include)}
    if exclude:
        compose["exclude"] = list(exclude)
    return {"resourceType": "ValueSet", "url": "http://example.org/vs/x", "compose": compose}


def _filter(op: str, value: str, prop: str = "concept") -> dict[str, Any]:
    return {"system": SYS, "filter": [{"property": prop, "op": op, "value": value}]}


@pytest.mark.parametrize(
    ("include", "expected"),
    [
        (_filter("is-a", "a"), {"a", "b", "c", "d", "e"}),
        (_filter("is-a", "d"), {"d", "e"}),
        (_filter("descendent-of", "a"), {"b", "c", "d", "e"}),
        (_filter("is-not-a", "b"), {"a", "d", "e"}),
        (_filter("generalizes", "c"), {"a", "b", "c"}),
        (_filter("=", "red", "colour"), {"b"}),
        (_filter("in", "a,c, e"), {"a", "c", "e"}),
        (_filter("not-in", "a,c"), {"b", "d", "e"}),
        (_filter("regex", "[a-c]"), {"a", "b", "c"}),
        (_filter("regex", "bl.*", "colour"), {"c"}),
        (_filter("exists", "true", "colour"), {"b", "c"}),
        ({"system": SYS}, {"a", "b", "c", "d", "e"}),
        ({"system": SYS, "concept": [{"code": "c"}, {"code": "zz"}]}, {"c", "zz"}),
    ],
)
def test_each_compose_feature(include: dict[str, Any], expected: set[str]) -> None:
    assert _codes(_vs(include), _small()) == expected


def test_imports_intersect_and_excludes_remove() -> None:
    inner = {**_vs(_filter("is-a", "b")), "url": "http://example.org/vs/inner"}
    resources = [*_small(), inner]
    both = {"system": SYS, "filter": _filter("is-a", "a")["filter"], "valueSet": [inner["url"]]}
    assert _codes(_vs(both), resources) == {"b", "c"}
    excluded = _vs(_filter("is-a", "a"), exclude=({"valueSet": [inner["url"]]},))
    assert _codes(excluded, resources) == {"a", "d", "e"}


@pytest.mark.parametrize(
    ("vs", "code", "words"),
    [
        (_vs({"system": "http://nope"}), "not-found", "http://nope"),
        (_vs({"valueSet": ["http://example.org/vs/missing"]}), "not-found", "missing"),
        (_vs(_filter("child-of", "a")), "not-supported", "child-of"),
        (_vs(_filter("is-a", "a", "colour")), "not-supported", "colour"),
        (_vs(_filter("regex", "(")), "processing", "regex"),
    ],
)
def test_what_cannot_be_expanded_names_the_valueset(
    vs: dict[str, Any], code: str, words: str
) -> None:
    with pytest.raises(TerminologyError) as raised:
        expand_valueset(vs, ResourceSource(_small()))
    assert raised.value.issue_code == code
    assert "http://example.org/vs/x" in str(raised.value) and words in str(raised.value)


def test_import_cycle() -> None:
    a = {**_vs({"valueSet": ["http://example.org/vs/b"]}), "url": "http://example.org/vs/a"}
    b = {**_vs({"valueSet": ["http://example.org/vs/a"]}), "url": "http://example.org/vs/b"}
    with pytest.raises(TerminologyError, match=r"vs/a.*vs/b.*vs/a") as raised:
        expand_valueset(a, ResourceSource([a, b]))
    assert raised.value.issue_code == "processing"


def test_subsumes_and_lookup() -> None:
    source = ResourceSource(_small())

    def outcome(a: str, b: str) -> str:
        return str(subsumes(SYS, a, b, source)["parameter"][0]["valueCode"])

    assert outcome("a", "c") == "subsumes"
    assert outcome("c", "a") == "subsumed-by"
    assert outcome("d", "e") == "subsumes"  # subsumedBy property
    assert outcome("b", "d") == "not-subsumed"
    assert outcome("b", "b") == "equivalent"
    with pytest.raises(TerminologyError, match="'zz'"):
        subsumes(SYS, "a", "zz", source)
    found = lookup(SYS, "d", source)
    names = [p["name"] for p in found["parameter"]]
    assert found["resourceType"] == "Parameters"
    assert names[:2] == ["name", "version"]
    assert {"name": "designation", "part": [{"name": "language", "valueCode": "de"},
            {"name": "value", "valueString": "D-de"}]} in found["parameter"]  # fmt: skip
    props = {(p["part"][0]["valueCode"], p["part"][1]["valueCode"])
             for p in found["parameter"] if p["name"] == "property"}  # fmt: skip
    assert props == {("parent", "a"), ("child", "e")}
    vs = expand(_vs(_filter("is-a", "b")), source)
    assert vs["expansion"]["total"] == 2
    assert [c["code"] for c in vs["expansion"]["contains"]] == ["b", "c"]


def _shared() -> Path:
    env = os.environ.get("HELIOS_SHARED_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


def test_official_valuesets_with_explicit_codes_expand_to_them() -> None:
    path = _shared() / "fhir-r4" / "valuesets.json"
    if not path.is_file():
        pytest.skip(f"{path} not found (the official R4 ValueSets; set HELIOS_SHARED_DATA)")
    resources = [e["resource"] for e in json.loads(path.read_text(encoding="utf-8"))["entry"]]
    source = ResourceSource(resources)
    checked = 0
    for vs in resources:
        compose = vs.get("compose") or {}
        entries = compose.get("include", [])
        if vs["resourceType"] != "ValueSet" or compose.get("exclude") or not entries:
            continue
        if not all(e.get("concept") and not e.get("filter") and not e.get("valueSet")
                   for e in entries):  # fmt: skip
            continue
        want = {(e["system"], c["code"]) for e in entries for c in e["concept"]}
        assert set(expand_valueset(vs, source).codes) == want, vs["url"]
        checked += 1
    assert checked > 50
