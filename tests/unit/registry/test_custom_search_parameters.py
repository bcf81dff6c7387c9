"""Custom SearchParameter resources: validation, registration, update, removal."""

from __future__ import annotations

from typing import Any

import pytest

from helios_persistence.errors import InvalidResource
from helios_persistence.registry import ParamType, Registry, default_registry
from helios_persistence.registry.validate import validate


def _param(**changes: Any) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "SearchParameter",
        "url": "http://example.org/SearchParameter/patient-birth-place",
        "name": "birth-place",
        "status": "active",
        "code": "birth-place",
        "base": ["Patient"],
        "type": "string",
        "expression": "Patient.extension('http://hl7.org/fhir/StructureDefinition/"
        "patient-birthPlace').value.ofType(Address).city",
    }
    resource.update(changes)
    return {k: v for k, v in resource.items() if v is not None}


@pytest.fixture
def registry() -> Registry:
    return default_registry().copy()


def test_an_active_parameter_is_registered(registry: Registry) -> None:
    (bound,) = registry.from_search_parameter(_param())
    assert (bound.resource_type, bound.code, bound.type) == (
        "Patient",
        "birth-place",
        ParamType.STRING,
    )
    assert registry.get("Patient", "birth-place") == bound
    assert default_registry().get("Patient", "birth-place") is None


def test_update_replaces_and_a_non_active_status_removes(registry: Registry) -> None:
    registry.from_search_parameter(_param())
    registry.from_search_parameter(_param(code="birth-city", expression="Patient.address.city"))
    assert registry.get("Patient", "birth-place") is None
    assert registry.get("Patient", "birth-city").expression == "Patient.address.city"
    assert registry.from_search_parameter(_param(code="birth-city", status="retired")) == ()
    assert registry.get("Patient", "birth-city") is None


def test_multi_base_and_composite(registry: Registry) -> None:
    found = registry.from_search_parameter(
        _param(
            url="http://example.org/SearchParameter/x-phone",
            code="x-phone",
            type="token",
            base=["Patient", "Practitioner"],
            expression="Patient.telecom.where(system='phone') | Practitioner.telecom",
        )
    )
    assert {(p.resource_type, p.expression) for p in found} == {
        ("Patient", "Patient.telecom.where(system='phone')"),
        ("Practitioner", "Practitioner.telecom"),
    }
    (composite,) = registry.from_search_parameter(
        _param(
            url="http://example.org/SearchParameter/obs-code-status",
            code="code-status",
            type="composite",
            base=["Observation"],
            expression="Observation",
            component=[
                {"definition": "http://hl7.org/fhir/SearchParameter/clinical-code",
                 "expression": "code"},
                {"definition": "http://hl7.org/fhir/SearchParameter/Observation-status",
                 "expression": "status"},
            ],
        )
    )  # fmt: skip
    assert len(composite.components) == 2


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"resourceType": "Patient"}, "not a SearchParameter"),
        ({"url": None}, "url"),
        ({"url": "relative/url"}, "url"),
        ({"code": None}, "code"),
        ({"code": "has space"}, "not a valid parameter code"),
        ({"code": "_custom"}, "reserved"),
        ({"status": None}, "status"),
        ({"status": "enabled"}, "status"),
        ({"type": "geo"}, "unknown type"),
        ({"base": []}, "base"),
        ({"base": ["NoSuchType"]}, "unknown base"),
        ({"base": "Patient"}, "list of strings"),
        ({"expression": None}, "needs an expression"),
        ({"expression": "  "}, "non-empty"),
        ({"expression": "Patient.name.where("}, "not valid FHIRPath"),
        ({"expression": "Observation.code"}, "not a base"),
        (
            {"base": ["Patient", "Practitioner"], "expression": "name.family"},
            "must start with one of its bases",
        ),
        ({"type": "reference", "target": ["Nope"], "expression": "Patient.link.other"}, "target"),
        ({"target": ["Patient"]}, "only reference parameters"),
        ({"comparator": ["bigger"]}, "comparator"),
        ({"modifier": ["fuzzy"]}, "modifier"),
        ({"multipleOr": "yes"}, "multipleOr"),
        ({"type": "composite", "expression": "Patient"}, "at least two components"),
        (
            {"type": "composite", "expression": "Patient",
             "component": [{"definition": "http://nowhere/x", "expression": "name"},
                           {"definition": "http://nowhere/y", "expression": "name"}]},
            "not registered",
        ),
        (
            {"type": "composite", "expression": "Observation", "base": ["Observation"],
             "component": [
                 {"definition": "http://hl7.org/fhir/SearchParameter/Observation-code-value-quantity",
                  "expression": "code"},
                 {"definition": "http://hl7.org/fhir/SearchParameter/clinical-code",
                  "expression": "code"}]},
            "cannot itself be a composite",
        ),
        ({"component": [{"definition": "x", "expression": "y"}]}, "only composite"),
    ],
)  # fmt: skip
def test_invalid_parameters_are_rejected(
    registry: Registry, changes: dict[str, Any], message: str
) -> None:
    before = registry.get("Patient", "birth-place")
    with pytest.raises(InvalidResource, match=message) as caught:
        registry.from_search_parameter(_param(**changes))
    assert caught.value.http_status == 400
    assert registry.get("Patient", "birth-place") == before is None


def test_rejected_update_keeps_the_previous_definition(registry: Registry) -> None:
    registry.from_search_parameter(_param())
    with pytest.raises(InvalidResource):
        registry.from_search_parameter(_param(expression="Patient.("))
    assert registry.get("Patient", "birth-place") is not None


def test_a_standard_definition_can_be_registered_again(registry: Registry) -> None:
    standard = dict(registry.by_url("http://hl7.org/fhir/SearchParameter/Resource-tag") or {})
    standard["status"] = "active"
    assert registry.from_search_parameter(standard) == ()  # base Resource: bound on demand
    assert registry.get("Patient", "_tag") is not None


def test_every_r4_definition_validates() -> None:
    """The validator accepts all 1,377 standard definitions (expressions and components)."""
    registry = default_registry()
    urls = {p.url for p in registry}
    assert len(urls) == 1377
    for url in urls:
        definition = dict(registry.by_url(url) or {})
        definition["status"] = "active"
        assert validate(definition, registry) is definition
