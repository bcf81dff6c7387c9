from __future__ import annotations

import math

import pytest

from helios_persistence.errors import InvalidResource
from helios_persistence.registry import default_registry
from helios_persistence.storage.validation import (
    check_id,
    known_resource_types,
    validate_resource,
)


def test_valid_resource() -> None:
    assert validate_resource({"resourceType": "Patient", "id": "a-1.b"}) == "Patient"
    assert validate_resource({"resourceType": "Parameters"}) == "Parameters"


@pytest.mark.parametrize(
    "resource",
    [
        None,
        [],
        "Patient",
        {},
        {"resourceType": "Nope"},
        {"resourceType": 3},
        {"resourceType": "Patient", "id": "has space"},
        {"resourceType": "Patient", "id": "x" * 65},
        {"resourceType": "Patient", "id": ""},
        {"resourceType": "Patient", "id": 12},
        {"resourceType": "Patient", "meta": "x"},
        {"resourceType": "Patient", "extension": [{"valueDecimal": math.nan}]},
        {"resourceType": "Patient", "x": object()},
    ],
)
def test_invalid_resources(resource: object) -> None:
    with pytest.raises(InvalidResource):
        validate_resource(resource)


def test_require_id_and_size_limit() -> None:
    with pytest.raises(InvalidResource):
        validate_resource({"resourceType": "Patient"}, require_id=True)
    big = {"resourceType": "Patient", "id": "p", "text": {"div": "x" * 2000}}
    with pytest.raises(InvalidResource, match="over the limit"):
        validate_resource(big, max_bytes=1000)
    assert validate_resource(big, max_bytes=10_000) == "Patient"


def test_ids() -> None:
    assert check_id("A-z.0") == "A-z.0"
    for bad in ["a/b", "a_b", "é", "a b", "x" * 65]:
        with pytest.raises(InvalidResource):
            check_id(bad)


def test_known_types_include_every_registry_type() -> None:
    registry = default_registry()
    types = known_resource_types(registry)
    assert registry.resource_types <= types
    assert {"Patient", "Binary", "Bundle", "Parameters", "OperationOutcome"} <= types
    assert len(known_resource_types()) >= 145
