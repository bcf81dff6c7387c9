"""The R4 registry as loaded: every definition, common parameters, targets, components,
the Patient compartment, and the corrected R4 errata."""

from __future__ import annotations

import collections

from helios_persistence.indexing.model import resource_types
from helios_persistence.registry import ParamType, Registry, default_registry


def test_all_1377_definitions_by_type() -> None:
    registry = default_registry()
    assert len({p.url for p in registry}) == 1377
    # every type's parameters, together, are all 1,377 (the 9 common ones bound per type)
    every = {p.url for t in resource_types() for p in registry.params_for(t)}
    assert len(every) == 1377
    by_type = collections.Counter(registry.by_url(u)["type"] for u in every)
    assert by_type == {
        "token": 538, "reference": 472, "string": 133, "date": 109, "composite": 46,
        "uri": 45, "quantity": 27, "number": 6, "special": 1,
    }  # fmt: skip


def test_common_parameters_apply_to_every_type() -> None:
    registry = default_registry()
    for rtype in resource_types():
        tag = registry.get(rtype, "_tag")
        assert tag is not None and tag.type is ParamType.TOKEN
        assert tag.expression == f"{rtype}.meta.tag"
        assert registry.get(rtype, "_lastUpdated").expression == f"{rtype}.meta.lastUpdated"
        assert registry.get(rtype, "_id").resource_type == rtype


def test_expressions_are_restricted_to_their_type() -> None:
    registry = default_registry()
    for param in registry:
        if (
            param.expression
            and param.url != "http://hl7.org/fhir/SearchParameter/InsurancePlan-name"
        ):
            assert param.resource_type in param.expression, (param.resource_type, param.code)
    # R4 writes this one relative to the resource, which FHIRPath allows
    assert registry.get("InsurancePlan", "name").expression == "name | alias"
    # a multi-base definition keeps only its own part
    assert registry.get("Patient", "name").expression == "Patient.name"
    assert registry.get("Practitioner", "phone").expression == (
        "Practitioner.telecom.where(system='phone')"
    )


def test_reference_targets_and_composite_components() -> None:
    registry = default_registry()
    assert set(registry.get("Observation", "subject").targets) == {
        "Group", "Device", "Patient", "Location",
    }  # fmt: skip
    composite = registry.get("Observation", "code-value-quantity")
    assert composite.type is ParamType.COMPOSITE
    parts = [registry.component_param("Observation", c) for c in composite.components]
    assert [(p.code, p.type) for p in parts] == [
        ("code", ParamType.TOKEN),
        ("value-quantity", ParamType.QUANTITY),
    ]
    for param in registry:
        for component in param.components:
            assert registry.component_param(param.resource_type, component) is not None


def test_patient_compartment() -> None:
    registry = default_registry()
    assert registry.compartment_params("Observation") == ("subject", "performer")
    assert registry.compartment_params("Patient") == ("link",)
    assert registry.compartment_params("Organization") == ()
    for rtype, codes in registry.compartments["Patient"].items():
        for code in codes:
            param = registry.get(rtype, code)
            assert param is not None and param.type is ParamType.REFERENCE, (rtype, code)
    assert (
        registry.copy().compartment_params("Encounter")
        == registry.compartment_params("Encounter")
        != ()
    )


def test_r4_errata_are_corrected() -> None:
    registry = default_registry()
    relationship = registry.get("DocumentReference", "relationship")
    assert [(c.definition.rsplit("-", 1)[-1], c.expression) for c in relationship.components] == [
        ("relatesto", "target"),
        ("relation", "code"),
    ]
    date = registry.get("Observation", "code-value-date")
    assert date.components[1].expression == "value.ofType(dateTime) | value.ofType(Period)"


def test_type_specific_beats_common_and_survives_common_changes() -> None:
    registry = Registry(
        [
            {"url": "http://x/common-name", "code": "name", "base": ["Resource"],
             "type": "string", "expression": "Resource.id"},
            {"url": "http://x/patient-name", "code": "name", "base": ["Patient"],
             "type": "string", "expression": "Patient.name"},
        ]
    )  # fmt: skip
    assert registry.get("Patient", "name").url == "http://x/patient-name"
    assert registry.get("Observation", "name").expression == "Observation.id"
    registry.register(
        {"url": "http://x/common-name2", "code": "name", "base": ["Resource"],
         "type": "string", "expression": "Resource.language"}
    )  # fmt: skip
    assert registry.get("Patient", "name").url == "http://x/patient-name"
    assert registry.get("Observation", "name").expression == "Observation.language"
    registry.unregister("http://x/patient-name")
    assert registry.get("Patient", "name").expression == "Patient.language"
    assert [p.code for p in registry.params_for("Patient")] == ["name"]


def test_derived_values_are_dropped_when_definitions_change() -> None:
    registry = Registry()
    calls = []
    assert registry.derived("k", lambda: calls.append(1) or len(calls)) == 1
    assert registry.derived("k", lambda: calls.append(1) or len(calls)) == 1
    registry.register(
        {"url": "http://x/a", "code": "a", "base": ["Patient"], "type": "token",
         "expression": "Patient.id"}
    )  # fmt: skip
    assert registry.derived("k", lambda: calls.append(1) or len(calls)) == 2
