"""``extract``: rejection of resources that cannot be indexed, text, registries."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from helios_persistence.errors import InvalidResource
from helios_persistence.indexing import ResourceIndex, TokenRow, extract, plan_for
from helios_persistence.registry import default_registry

_P = {"resourceType": "Patient"}
_O = {"resourceType": "Observation"}


@pytest.mark.parametrize(
    ("resource", "message", "expression"),
    [
        ([], "JSON object", None),
        ({"id": "x"}, "no resourceType", "resourceType"),
        ({"resourceType": 5}, "resourceType must be a string", "resourceType"),
        ({"resourceType": "Foo"}, "unknown resourceType 'Foo'", "resourceType"),
        ({"resourceType": "Patient", "id": 5}, "id must be a string", "Patient.id"),
        (_P | {"birthDate": 1974}, "expected a date string", "Patient.birthDate"),
        (_P | {"birthDate": "1974-13-01"}, "not a valid date", "Patient.birthDate"),
        (_P | {"name": "Smith"}, "wrong shape", "Patient.name.family"),
        (_P | {"gender": True}, "expected a code string", "Patient.gender"),
        (_O | {"code": "abc"}, "CodeableConcept", "Observation.code"),
        (_O | {"subject": "Patient/1"}, "Reference object", None),
        (_O | {"subject": {"reference": 5}}, "must be a string", None),
        (_O | {"valueQuantity": {"value": "5"}}, "expected a number", None),
        (_O | {"valueQuantity": {"value": True}}, "expected a number", None),
        (
            {"resourceType": "Encounter", "period": {"start": 2020}},
            "date string",
            "Encounter.period",
        ),
    ],
)
def test_resources_that_cannot_be_indexed_are_rejected(
    resource: Any, message: str, expression: str | None
) -> None:
    with pytest.raises(InvalidResource, match=message) as caught:
        extract(resource)
    if expression:
        assert caught.value.expression == expression
    assert caught.value.outcome["issue"][0]["code"] == "invalid"


def test_extract_does_not_modify_the_resource() -> None:
    patient = {
        "resourceType": "Patient",
        "name": [{"family": "A"}],
        "deceasedBoolean": False,
        "contained": [{"resourceType": "Organization", "id": "o"}],
        "managingOrganization": {"reference": "#o"},
    }
    before = copy.deepcopy(patient)
    extract(patient)
    assert patient == before


def test_narrative_and_content() -> None:
    patient = {
        "resourceType": "Patient",
        "id": "p1",
        "text": {
            "status": "generated",
            "div": '<div xmlns="http://www.w3.org/1999/xhtml"><p>Peter &amp; <b>Jim</b></p>\n'
            "<p>Chalmers</p></div>",
        },
        "name": [{"family": "Chalmers", "given": ["Peter"]}],
        "photo": [{"contentType": "image/png", "data": "iVBORw0KGgo="}],
        "active": True,
    }
    index = extract(patient)
    assert isinstance(index, ResourceIndex)
    assert index.narrative == "Peter & Jim Chalmers"
    assert index.content == "p1 generated Chalmers Peter image/png"
    assert "<p>" not in index.content and "iVBOR" not in index.content


def test_rows_are_distinct() -> None:
    patient = {"resourceType": "Patient", "identifier": [{"value": "1"}, {"value": "1"}]}
    assert [r for r in extract(patient).rows if r.param == "identifier"] == [
        TokenRow("identifier", None, "1")
    ]


def test_patient_deceased_through_fhirpathpy() -> None:
    def deceased(patient: dict[str, Any]) -> list[str | None]:
        return [r.code for r in extract(patient).rows if r.param == "deceased"]

    assert deceased({"resourceType": "Patient"}) == ["false"]
    assert deceased({"resourceType": "Patient", "deceasedBoolean": True}) == ["true"]
    assert deceased({"resourceType": "Patient", "deceasedDateTime": "2020"}) == ["true"]


def test_a_custom_parameter_is_extracted_and_the_plan_follows_the_registry() -> None:
    registry = default_registry().copy()
    assert not any(r.param == "eye-colour" for r in extract(_patient(), registry).rows)
    registry.from_search_parameter(_eye_colour())
    rows = [r for r in extract(_patient(), registry).rows if r.param == "eye-colour"]
    assert rows == [TokenRow("eye-colour", "http://colours", "blue")]
    # the default registry is untouched
    assert not any(r.param == "eye-colour" for r in extract(_patient()).rows)
    registry.unregister(_eye_colour()["url"])
    assert not any(r.param == "eye-colour" for r in extract(_patient(), registry).rows)
    assert all(s.code != "eye-colour" for s in plan_for("Patient", registry).steps)


def _eye_colour() -> dict[str, Any]:
    return {
        "resourceType": "SearchParameter",
        "url": "http://example.org/SearchParameter/eye-colour",
        "name": "eye-colour",
        "status": "active",
        "code": "eye-colour",
        "base": ["Patient"],
        "type": "token",
        "expression": "Patient.extension('http://example.org/eye-colour').value",
    }


def _patient() -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "extension": [
            {
                "url": "http://example.org/eye-colour",
                "valueCoding": {"system": "http://colours", "code": "blue"},
            }
        ],
    }
