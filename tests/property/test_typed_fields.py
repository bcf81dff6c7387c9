"""Typed rows hold the fields their documents use, and no other (``analytics/typed_rows.py``):
any two batches of real Observations, converted apart, unite in the schema
:func:`fitted_schema` gives them (what one export file holds after the other), and every
document reads back from it JSON-equal."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest.importorskip("duckdb")

import pyarrow as pa

from helios_persistence.analytics.layout import layout_for
from helios_persistence.analytics.typed_rows import TypedRows, fitted_schema
from helios_persistence.analytics.writer import _conform
from helios_persistence.storage import exact_json
from helios_persistence.storage.validation import serialize

try:
    from tests.integration.analytics.shared_data import DATA
except ImportError:  # plain `pytest`: tests/ itself is on sys.path
    from integration.analytics.shared_data import DATA  # type: ignore[no-redef]

EXAMPLES = DATA / "fhir-r4" / "examples"
pytestmark = pytest.mark.skipif(
    not EXAMPLES.is_dir(), reason=f"FHIR R4 examples not found at {EXAMPLES}"
)


@cache
def _observations() -> list[str]:
    """The official Observation examples, as stored text (decimals as written)."""
    found = []
    for path in sorted(EXAMPLES.glob("observation-*.json")):
        resource = exact_json.loads(path.read_text(encoding="utf-8"))
        if resource.get("resourceType") == "Observation" and "id" in resource:
            found.append(serialize(resource))
    return found


@cache
def _converter() -> TypedRows:
    return TypedRows()


def _batch(documents: list[str]) -> pa.Table:
    ids = [json.loads(d)["id"] for d in documents]
    n = len(documents)
    return pa.table({
        "tenant": ["t"] * n, "id": ids, "version": [1] * n,
        "last_updated": [1_700_000_000_000_000] * n, "json": documents,
    })  # fmt: skip


def _leaves_used(array: pa.Array, path: str = "") -> list[str]:
    """The struct fields of ``array`` that hold no value at all (should be none)."""
    if pa.types.is_list(array.type):
        return _leaves_used(array.flatten(), path)
    if not pa.types.is_struct(array.type):
        return []
    empty = []
    for i, f in enumerate(array.type):
        child = array.field(i)  # (respecting the struct's own nulls is not needed: any value)
        if child.null_count == len(child):
            empty.append(f"{path}.{f.name}")
        else:
            empty += _leaves_used(child, f"{path}.{f.name}")
    return empty


def _digits(resource: dict[str, Any]) -> Any:
    """The resource with every decimal as its written text (so 1.10 is not 1.1)."""
    return json.loads(serialize(resource), parse_float=str)


def _indexes() -> st.SearchStrategy[list[int]]:
    return st.lists(st.integers(0, len(_observations()) - 1), min_size=1, max_size=6, unique=True)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_indexes(), _indexes())
def test_batches_keep_their_fields_and_unite(a: list[int], b: list[int]) -> None:
    docs = _observations()
    first, second = ([docs[i] for i in ids] for ids in (a, b))
    tables = [_converter().convert("Observation", _batch(d)) for d in (first, second)]
    for table in tables:
        for name in table.column_names:
            if name != "_raw":
                assert _leaves_used(table.column(name).combine_chunks(), name) == []
    both = fitted_schema("Observation", *(t.schema for t in tables))
    layout = layout_for("Observation")
    for table, documents in zip(tables, (first, second), strict=True):
        rows = _conform(table, both).to_pylist()  # (DuckDB's rows first, then the others)
        back = {row["id"]: _digits(layout.from_row(row)) for row in rows}
        assert back == {json.loads(d)["id"]: _digits(exact_json.loads(d)) for d in documents}
