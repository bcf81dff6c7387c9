"""The fast path's shapes, one by one, and what it leaves to fhirpathpy."""

from __future__ import annotations

import functools
import json
from typing import Any

import pytest

from helios_persistence.indexing.fhirpath import compile_fast, evaluate_slow
from helios_persistence.indexing.references import reference_type

OBS: dict[str, Any] = {
    "resourceType": "Observation",
    "id": "o1",
    "meta": {"tag": [{"system": "s", "code": "t"}], "profile": ["http://p"]},
    "code": {"coding": [{"system": "http://loinc.org", "code": "1"}], "text": "one"},
    "subject": {"reference": "Patient/p1"},
    "performer": [
        {"reference": "Practitioner/d1"},
        {"reference": "http://other/fhir/Patient/p2"},
        {"reference": "#c1"},
    ],
    "contained": [{"resourceType": "Patient", "id": "c1"}],
    "valueQuantity": {"value": 5.4, "system": "http://unitsofmeasure.org", "code": "mg"},
    "effectivePeriod": {"start": "2020-01-01"},
    "component": [
        {"code": {"text": "a"}, "valueQuantity": {"value": 1}},
        {"code": {"text": "b"}, "valueString": "x"},
    ],
    "extension": [
        {"url": "http://ext/a", "valueCode": "A"},
        {"url": "http://ext/b", "valueCoding": {"code": "B"}},
    ],
}


def values(expression: str, resource: dict[str, Any] = OBS, context: str | None = None) -> list:
    fast = compile_fast(expression, context or resource["resourceType"])
    assert fast is not None, expression
    return fast.values(resource)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("Observation.id", [("o1", "string")]),
        ("Observation.meta.profile", [("http://p", "canonical")]),
        ("Observation.meta.tag", [({"system": "s", "code": "t"}, "Coding")]),
        ("Observation.code.text", [("one", "string")]),
        # a choice element finds its typed key and reports the type
        ("Observation.value", [(OBS["valueQuantity"], "Quantity")]),
        ("Observation.effective", [(OBS["effectivePeriod"], "Period")]),
        ("Observation.value.ofType(Quantity)", [(OBS["valueQuantity"], "Quantity")]),
        ("Observation.value.ofType(string)", []),
        ("(Observation.value as Quantity)", [(OBS["valueQuantity"], "Quantity")]),
        ("Observation.value.as(Quantity).value", [(5.4, "decimal")]),
        ("(Observation.value.ofType(Quantity)).code", [("mg", "code")]),
        # where(resolve() is X) is decided from the reference: relative, absolute, contained
        ("Observation.subject.where(resolve() is Patient)", [(OBS["subject"], "Reference")]),
        (
            "Observation.performer.where(resolve() is Patient)",
            [(OBS["performer"][1], "Reference"), (OBS["performer"][2], "Reference")],
        ),
        (
            "Observation.performer.where(resolve() is Practitioner or resolve() is Group)",
            [(OBS["performer"][0], "Reference")],
        ),
        ("Observation.component.value.ofType(string)", [("x", "string")]),
        ("Observation.component[0].code.text", []),  # [0] of the components, then code.text
        ("Observation.component.code.text", [("a", "string"), ("b", "string")]),
        ("Observation.component.first().code.text", [("a", "string")]),
        ("Observation.extension('http://ext/a').value", [("A", "code")]),
        ("Observation.extension.where(url='http://ext/b').value.code", [("B", "code")]),
        ("Observation.code | Observation.component.code.text", None),
    ],
)
def test_shapes(expression: str, expected: list | None) -> None:
    found = values(expression)
    if expression == "Observation.component[0].code.text":
        assert found == [("a", "string")]
    elif expected is None:
        assert [t for _, t in found] == ["CodeableConcept", "string", "string"]
    else:
        assert found == expected


def test_results_equal_fhirpathpy_for_the_shapes() -> None:
    for expression in (
        "Observation.value",
        "Observation.performer.where(resolve() is Patient)",
        "Observation.extension('http://ext/a').value",
        "Observation.component.first().code.text",
        "(Observation.value as Quantity)",
    ):
        fast = [v for v, _ in values(expression)]
        slow = evaluate_slow(expression, OBS, OBS)
        dump = functools.partial(json.dumps, sort_keys=True, default=float)
        assert [dump(v) for v in fast] == [dump(v) for v in slow], expression


def test_percent_resource_in_a_component_context() -> None:
    seq = {"resourceType": "MolecularSequence", "referenceSeq": {"chromosome": {"text": "1"}}}
    fast = compile_fast("%resource.referenceSeq.chromosome", "MolecularSequence.variant")
    assert fast is not None
    assert fast.values({"start": 1}, seq) == [({"text": "1"}, "CodeableConcept")]


def test_component_expressions_are_relative_to_their_base() -> None:
    fast = compile_fast("value.ofType(Quantity)", "Observation.component", "Observation")
    assert fast is not None
    assert fast.values(OBS["component"][0], OBS) == [({"value": 1}, "Quantity")]


def test_a_resource_typed_element_can_be_narrowed() -> None:
    bundle = {"resourceType": "Bundle", "entry": [{"resource": {"resourceType": "Patient"}}]}
    assert values("Bundle.entry[0].resource", bundle) == [({"resourceType": "Patient"}, "Resource")]
    assert values("Bundle.entry.resource.ofType(Patient)", bundle) == [
        ({"resourceType": "Patient"}, "Patient")
    ]
    assert values("Bundle.entry.resource.ofType(Observation)", bundle) == []


@pytest.mark.parametrize(
    "expression",
    [
        "Patient.deceased.exists() and Patient.deceased != false",
        "Patient.name.where(family.startsWith('A'))",
        "Patient.unknownElement",
        "Patient.name.family.value",  # member of a primitive
        "Patient.name[1]",
        "Patient.name.select(given)",
        "%context.name",
    ],
)
def test_other_expressions_are_left_to_fhirpathpy(expression: str) -> None:
    assert compile_fast(expression, "Patient") is None


def test_an_expression_for_another_type_selects_nothing() -> None:
    fast = compile_fast("Practitioner.name", "Patient")
    assert fast is not None and fast.branches == ()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"reference": "Patient/1"}, "Patient"),
        ({"reference": "Patient/1/_history/2"}, "Patient"),
        ({"reference": "https://x.org/fhir/Observation/1"}, "Observation"),
        ({"reference": "#c1"}, "Patient"),  # the contained resource's type
        ({"reference": "#nope"}, None),
        ({"reference": "urn:uuid:9d6e"}, None),
        ({"reference": "urn:uuid:9d6e", "type": "Patient"}, "Patient"),
        ({"identifier": {"value": "1"}, "type": "Device"}, "Device"),
        ({"type": "http://hl7.org/fhir/StructureDefinition/Group"}, "Group"),
        ({"reference": "Unknown/1"}, None),
        ({"resourceType": "Patient"}, "Patient"),
        ("http://x.org/fhir/ValueSet/vs", "ValueSet"),
        ({"display": "only a display"}, None),
    ],
)
def test_reference_type(value: Any, expected: str | None) -> None:
    assert reference_type(value, OBS) == expected
