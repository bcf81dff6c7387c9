from __future__ import annotations

import base64
import copy
import json
from typing import Any

import pytest

from helios_persistence.errors import InvalidResource
from helios_persistence.storage.patch import apply_patch, is_patch

PATIENT: dict[str, Any] = {
    "resourceType": "Patient",
    "id": "p1",
    "identifier": [{"system": "http://a", "value": "1"}, {"system": "http://b", "value": "2"}],
    "name": [{"use": "official", "family": "Smith", "given": ["Ann", "Bea"]}, {"family": "Old"}],
    "deceasedBoolean": False,
    "birthDate": "1970-01-01",
}


def op(kind: str, path: str, **parts: Any) -> dict[str, Any]:
    out = [{"name": "type", "valueCode": kind}, {"name": "path", "valueString": path}]
    for name, value in parts.items():
        if name == "value" and isinstance(value, list):
            out.append({"name": "value", "part": value})
        elif name == "value" and isinstance(value, dict):
            out.append({"name": "value", **value})
        elif name in ("index", "source", "destination"):
            out.append({"name": name, "valueInteger": value})
        else:
            out.append({"name": name, "valueString": value})
    return {"name": "operation", "part": out}


def fhirpatch(*ops: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Parameters", "parameter": list(ops)}


def patched(*ops: dict[str, Any]) -> dict[str, Any]:
    before = copy.deepcopy(PATIENT)
    out = apply_patch(PATIENT, fhirpatch(*ops))
    assert before == PATIENT  # the input is never changed
    return out


# -- JSON Patch ---------------------------------------------------------------------------


def test_json_patch() -> None:
    out = apply_patch(
        PATIENT,
        [
            {"op": "replace", "path": "/name/0/family", "value": "Jones"},
            {"op": "add", "path": "/gender", "value": "female"},
            {"op": "remove", "path": "/deceasedBoolean"},
            {"op": "test", "path": "/birthDate", "value": "1970-01-01"},
        ],
    )
    assert out["name"][0]["family"] == "Jones" and out["gender"] == "female"
    assert "deceasedBoolean" not in out and PATIENT["name"][0]["family"] == "Smith"


@pytest.mark.parametrize(
    "ops",
    [
        [{"op": "replace", "path": "/nothing/here", "value": 1}],
        [{"op": "test", "path": "/birthDate", "value": "2000"}],
        [{"op": "bogus", "path": "/x"}],
        [{"op": "replace", "path": "/id", "value": "other"}],
        [{"op": "remove", "path": "/resourceType"}],
        ["not an object"],
    ],
)
def test_bad_json_patches(ops: list[Any]) -> None:
    with pytest.raises(InvalidResource):
        apply_patch(PATIENT, ops)


def test_binary_json_patch() -> None:
    ops = [{"op": "add", "path": "/gender", "value": "male"}]
    binary = {
        "resourceType": "Binary",
        "contentType": "application/json-patch+json",
        "data": base64.b64encode(json.dumps(ops).encode()).decode(),
    }
    assert apply_patch(PATIENT, binary)["gender"] == "male"
    with pytest.raises(InvalidResource):
        apply_patch(PATIENT, {**binary, "contentType": "text/plain"})
    with pytest.raises(InvalidResource):
        apply_patch(PATIENT, {**binary, "data": "!!!"})


def test_is_patch() -> None:
    assert is_patch([]) and is_patch(fhirpatch())
    assert not is_patch({"resourceType": "Patient"}) and not is_patch("x")
    with pytest.raises(InvalidResource):
        apply_patch(PATIENT, {"resourceType": "Patient"})


# -- FHIRPath Patch -------------------------------------------------------------------------


def test_add_primitive_and_to_list() -> None:
    out = patched(op("add", "Patient", name="gender", value="female"))
    assert out["gender"] == "female"
    out = patched(op("add", "Patient.name.where(use='official')", name="given", value="Cy"))
    assert out["name"][0]["given"] == ["Ann", "Bea", "Cy"]


def test_add_complex_value_from_parts() -> None:
    value = [{"name": "system", "valueCode": "phone"}, {"name": "value", "valueString": "555"}]
    out = patched(op("add", "Patient", name="telecom", value=value))
    assert out["telecom"] == [{"system": "phone", "value": "555"}]
    name = [{"name": "family", "valueString": "New"}, {"name": "given", "valueString": "X"}]
    out = patched(op("add", "Patient", name="name", value=name))
    assert out["name"][-1] == {"family": "New", "given": ["X"]}


def test_add_typed_complex_value() -> None:
    value = {"valueCodeableConcept": {"text": "married"}}
    out = patched(op("add", "Patient", name="maritalStatus", value=value))
    assert out["maritalStatus"] == {"text": "married"}


def test_add_to_existing_single_value_is_an_error() -> None:
    with pytest.raises(InvalidResource):
        patched(op("add", "Patient", name="birthDate", value="2000"))


def test_insert() -> None:
    out = patched(op("insert", "Patient.name[0].given", index=1, value="Zed"))
    assert out["name"][0]["given"] == ["Ann", "Zed", "Bea"]
    out = patched(op("insert", "Patient.name[0].given", index=2, value="End"))
    assert out["name"][0]["given"] == ["Ann", "Bea", "End"]
    out = patched(op("insert", "Patient.name[0].suffix", index=0, value="Jr"))
    assert out["name"][0]["suffix"] == ["Jr"]
    with pytest.raises(InvalidResource):
        patched(op("insert", "Patient.name[0].given", index=5, value="x"))
    with pytest.raises(InvalidResource):
        patched(op("insert", "Patient.name[0].suffix", index=1, value="x"))


def test_delete() -> None:
    out = patched(op("delete", "Patient.identifier.where(system='http://a')"))
    assert out["identifier"] == [{"system": "http://b", "value": "2"}]
    out = patched(op("delete", "Patient.birthDate"))
    assert "birthDate" not in out
    out = patched(op("delete", "Patient.deceased"))  # a choice element by its FHIRPath name
    assert "deceasedBoolean" not in out
    out = patched(op("delete", "Patient.name[1]"), op("delete", "Patient.name[0].given[0]"))
    assert out["name"] == [{"use": "official", "family": "Smith", "given": ["Bea"]}]
    out = patched(
        op("delete", "Patient.name[0].given[0]"), op("delete", "Patient.name[0].given[0]")
    )
    assert "given" not in out["name"][0]  # an emptied array disappears
    assert patched(op("delete", "Patient.multipleBirth")) == PATIENT  # nothing there: no-op
    with pytest.raises(InvalidResource):
        patched(op("delete", "Patient.identifier"))  # two elements


def test_replace() -> None:
    out = patched(op("replace", "Patient.name.where(use='official').family", value="Jones"))
    assert out["name"][0]["family"] == "Jones"
    out = patched(op("replace", "Patient.name[0].given[1]", value="Bee"))
    assert out["name"][0]["given"] == ["Ann", "Bee"]
    out = patched(op("replace", "Patient.deceased", value={"valueBoolean": True}))
    assert out["deceasedBoolean"] is True
    with pytest.raises(InvalidResource):
        patched(op("replace", "Patient.gender", value="male"))  # nothing to replace


def test_move() -> None:
    out = patched(op("move", "Patient.name[0].given", source=0, destination=1))
    assert out["name"][0]["given"] == ["Bea", "Ann"]
    out = patched(op("move", "Patient.identifier", source=1, destination=0))
    assert [i["value"] for i in out["identifier"]] == ["2", "1"]
    with pytest.raises(InvalidResource):
        patched(op("move", "Patient.identifier", source=0, destination=2))


def test_operations_apply_in_order() -> None:
    out = patched(
        op("add", "Patient", name="gender", value="male"),
        op("replace", "Patient.gender", value="female"),
    )
    assert out["gender"] == "female"


@pytest.mark.parametrize(
    "operation",
    [
        op("frobnicate", "Patient"),
        op("replace", "Patient.name.given.first().lower()", value="x"),  # computed: no location
        op("replace", "Patient.id", value="other"),
        op("delete", "Patient"),
        op("add", "Patient", name="bad name", value="x"),
        op("replace", "Patient.name[", value="x"),
        {"name": "operation", "part": [{"name": "path", "valueString": "Patient"}]},
        {"name": "nope", "part": []},
    ],
)
def test_bad_fhirpath_patches(operation: dict[str, Any]) -> None:
    with pytest.raises(InvalidResource):
        patched(operation)


def test_patch_of_observation_choice_value() -> None:
    obs = {
        "resourceType": "Observation",
        "id": "o",
        "status": "final",
        "valueQuantity": {"value": 1, "unit": "mg"},
    }
    out = apply_patch(
        obs, fhirpatch(op("replace", "Observation.value.value", value={"valueDecimal": 2}))
    )
    assert out["valueQuantity"] == {"value": 2, "unit": "mg"}


def test_add_shapes_nested_parts_by_the_r4_definitions() -> None:
    # Patient.contact is a backbone element: its name is one HumanName, its telecom repeats,
    # and inside the HumanName given repeats while family does not.
    name = [{"name": "family", "valueString": "Kin"}, {"name": "given", "valueString": "Al"}]
    value = [
        {"name": "name", "part": name},
        {"name": "telecom", "part": [{"name": "value", "valueString": "555"}]},
    ]
    out = patched(op("add", "Patient", name="contact", value=value))
    assert out["contact"] == [
        {"name": {"family": "Kin", "given": ["Al"]}, "telecom": [{"value": "555"}]}
    ]
    # Reference.identifier is single, Patient.identifier repeats; Patient.link repeats
    ref = [{"name": "identifier", "part": [{"name": "value", "valueString": "x"}]}]
    out = patched(op("add", "Patient", name="managingOrganization", value=ref))
    assert out["managingOrganization"] == {"identifier": {"value": "x"}}
    link = [{"name": "type", "valueCode": "seealso"}]
    assert patched(op("add", "Patient", name="link", value=link))["link"] == [{"type": "seealso"}]
    # replace of a complex element shapes its parts by that element's type
    out = patched(op("replace", "Patient.name[1]", value=name))
    assert out["name"][1] == {"family": "Kin", "given": ["Al"]}
