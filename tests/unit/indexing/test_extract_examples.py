"""Every official R4 example and every Synthea resource indexes without an error."""

from __future__ import annotations

import collections
from typing import Any

import pytest

from helios_persistence.errors import InvalidResource
from helios_persistence.fhir_values import MAX_MICROS, MIN_MICROS, fold
from helios_persistence.indexing import (
    CompositeRow,
    DateRow,
    NumberRow,
    QuantityRow,
    ReferenceRow,
    StringRow,
    TokenRow,
    UriRow,
    extract,
    plan_for,
)
from helios_persistence.registry import ParamType, default_registry

ROW_TYPE = {
    StringRow: ParamType.STRING,
    TokenRow: ParamType.TOKEN,
    DateRow: ParamType.DATE,
    NumberRow: ParamType.NUMBER,
    QuantityRow: ParamType.QUANTITY,
    ReferenceRow: ParamType.REFERENCE,
    UriRow: ParamType.URI,
    CompositeRow: ParamType.COMPOSITE,
}


def _check_row(resource_type: str, row: Any) -> None:
    """A row is of its parameter's type and internally consistent."""
    registry = default_registry()
    param = registry.get(resource_type, row.param)
    assert param is not None, (resource_type, row.param)
    assert ROW_TYPE[type(row)] is param.type, (resource_type, row)
    if isinstance(row, StringRow):
        assert row.norm == fold(row.exact)
    elif isinstance(row, DateRow):
        assert MIN_MICROS <= row.low < row.high <= MAX_MICROS, row
    elif isinstance(row, NumberRow | QuantityRow):
        assert row.low <= row.value <= row.high, row
    elif isinstance(row, CompositeRow):
        codes = [registry.component_param(resource_type, c).code for c in param.components]
        assert [c.param for c in row.components] == codes


def test_every_example_indexes(examples: list[tuple[str, dict[str, Any]]]) -> None:
    assert len(examples) == 2253
    by_type: collections.Counter[str] = collections.Counter()
    rows_by_kind: collections.Counter[str] = collections.Counter()
    rejected = []
    for name, resource in examples:
        if "resourceType" not in resource:
            with pytest.raises(InvalidResource, match="no resourceType"):
                extract(resource)
            rejected.append(name)
            continue
        index = extract(resource)
        by_type[resource["resourceType"]] += 1
        for row in index.rows:
            _check_row(resource["resourceType"], row)
            rows_by_kind[type(row).__name__] += 1
        assert isinstance(index.content, str) and isinstance(index.narrative, str)
    # the package's one non-resource file (package-min-ver.json) is rejected, nothing else
    assert rejected == ["package-min-ver.json"]
    assert sum(by_type.values()) == 2252 and len(by_type) == 140
    # every kind of row comes out of the examples
    assert set(rows_by_kind) == {t.__name__ for t in ROW_TYPE}
    assert rows_by_kind["CompositeRow"] > 100


def test_only_patient_deceased_needs_fhirpathpy() -> None:
    """The fast path covers every R4 expression but one; that one still works (fhirpathpy)."""
    registry = default_registry()
    slow = {e for t in registry.resource_types for e in plan_for(t, registry).slow}
    assert slow == {"Patient.deceased.exists() and Patient.deceased != false"}


def _index_synthea(resources: list[dict[str, Any]]) -> collections.Counter[str]:
    """Index ``resources``; the count per type (Observations checked for their rows)."""
    counts: collections.Counter[str] = collections.Counter()
    for resource in resources:
        index = extract(resource)
        counts[resource["resourceType"]] += 1
        params = {r.param for r in index.rows}
        if resource["resourceType"] == "Observation":
            # urn:uuid references were rewritten, so resolve() is Patient is decidable
            assert {"code", "subject", "patient", "status"} <= params, resource["id"]
            assert "date" in params
    return counts


def test_synthea_resources_of_every_type_index(synthea: list[dict[str, Any]]) -> None:
    """One resource in 10 and the first of every type (all 45,874: ``make test-slow``)."""
    first = {r["resourceType"]: r for r in reversed(synthea)}
    counts = _index_synthea([*synthea[::10], *first.values()])
    assert set(counts) == set(first) and counts["Observation"] > 1700


@pytest.mark.slow
def test_every_synthea_resource_indexes(synthea: list[dict[str, Any]]) -> None:
    assert len(synthea) == 45874
    assert _index_synthea(synthea)["Observation"] == 17117


def test_synthea_rows_are_consistent(synthea: list[dict[str, Any]]) -> None:
    for resource in synthea[::50]:
        for row in extract(resource).rows:
            _check_row(resource["resourceType"], row)
