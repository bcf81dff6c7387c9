"""DuckDB's substring pre-filter of a plain ``forEach`` keeps exactly the rows of the plan
without it (escaped member names, the name in values, empty arrays, nested forEach)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helios_persistence.views import run
from helios_persistence.views import view as view_module
from helios_persistence.views.definition import parse_view
from helios_persistence.views.sources import DuckDBSource
from helios_persistence.views.suite import rows_match
from helios_persistence.views.view import compile_view

COMPONENTS = {
    "resource": "Observation",
    "select": [
        {"column": [{"name": "id", "path": "id"}]},
        {
            "forEach": "component",
            "column": [{"name": "code", "path": "code.text"}],
            "select": [{"forEach": "code.coding", "column": [{"name": "c", "path": "code"}]}],
        },
    ],
}
FLAT = {"forEach": "component", "column": [{"name": "code", "path": "code.text"}]}
OR_NULL = {
    "resource": "Observation",
    "select": [
        {"column": [{"name": "id", "path": "id"}]},
        {"forEachOrNull": "component", "column": [{"name": "code", "path": "code.text"}]},
    ],
}


def _without_prefilter(view: dict[str, Any], source: DuckDBSource) -> list[dict[str, Any]]:
    """The rows of the plan with no pre-filter (compiled with it switched off)."""
    original = view_module.text_prefilters
    view_module.text_prefilters = lambda joins, bind: []
    try:
        compiled = compile_view(parse_view(view), "duckdb", table=source.table)
    finally:
        view_module.text_prefilters = original
    assert "contains" not in compiled.text.lower().split("from", 1)[1]
    return source.execute(compiled).to_pylist()


def test_a_plain_for_each_is_pre_filtered_and_for_each_or_null_is_not() -> None:
    text = compile_view(COMPONENTS, "duckdb").text
    assert "CONTAINS(r.json" in text
    assert "CONTAINS(r.json" not in compile_view(OR_NULL, "duckdb").text
    for dialect in ("sqlite", "postgres"):  # their JSON is not the raw text: no pre-filter
        assert "CONTAINS(r.json" not in compile_view(COMPONENTS, dialect).text


def test_a_member_name_written_with_escapes_still_gives_its_rows(tmp_path: Path) -> None:
    lines = [  # the raw text of the second names "component" with \u escapes only
        b'{"resourceType":"Observation","id":"plain","component":[{"code":{"text":"a"}}]}',
        b'{"resourceType":"Observation","id":"escaped",'
        b'"compon\\u0065nt":[{"code":{"text":"b","coding":[{"code":"x"}]}}]}',
        b'{"resourceType":"Observation","id":"none","note":[{"text":"component\\""}]}',
    ]
    (tmp_path / "Observation.ndjson").write_bytes(b"\n".join(lines) + b"\n")
    source = DuckDBSource.from_ndjson(tmp_path)
    rows = run(COMPONENTS, source).to_pylist()
    assert rows == [{"id": "escaped", "code": "b", "c": "x"}]
    assert rows_match(rows, _without_prefilter(COMPONENTS, source))


_TEXT = st.sampled_from(["component", 'mponent"', "x", "\\u0041", "compo"])
_CODE = st.fixed_dictionaries(
    {"text": _TEXT}, optional={"coding": st.lists(st.just({"code": "c"}), max_size=2)}
)
_COMPONENT = st.fixed_dictionaries({"code": _CODE})
_OBSERVATION = st.fixed_dictionaries(
    {"resourceType": st.just("Observation")},
    optional={
        "component": st.lists(_COMPONENT, max_size=3),
        "note": st.lists(st.fixed_dictionaries({"text": _TEXT}), max_size=2),
        "xcomponent": st.lists(_COMPONENT, max_size=1),  # a longer name ending the same way
        "method": st.fixed_dictionaries({"text": _TEXT}),
    },
)


@settings(max_examples=40, deadline=None)
@given(st.lists(_OBSERVATION, min_size=1, max_size=8))
def test_the_pre_filter_keeps_exactly_the_rows(observations: list[dict[str, Any]]) -> None:
    resources = [{**o, "id": f"o{i}"} for i, o in enumerate(observations)]
    source = DuckDBSource.from_resources(resources)
    for view in (COMPONENTS, OR_NULL):
        rows = run(view, source).to_pylist()
        assert rows_match(rows, _without_prefilter(view, source))
    flat = {**COMPONENTS, "select": [*COMPONENTS["select"][:1], FLAT]}
    # an independent count: one row per component
    assert run(flat, source).num_rows == sum(len(o.get("component", [])) for o in resources)


@pytest.mark.parametrize("name", ["component", "note", "identifier"])
def test_the_needle_is_the_last_eight_bytes_of_the_name_and_quote(name: str) -> None:
    view = {
        "resource": "Observation",
        "select": [{"forEach": name, "column": [{"name": "x", "path": "id"}]}],
    }
    params = compile_view(view, "duckdb").params.values()
    assert f'{name}"'[-8:] in params and "\\u" in params
