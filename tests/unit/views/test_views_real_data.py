"""Views over real data: every dialect gives the same rows, and those rows agree with
fhirpathpy (the indexer's FHIRPath engine) evaluating the same paths resource by resource."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from helios_persistence.views import run
from helios_persistence.views.model import repeating_paths
from helios_persistence.views.suite import engine, rows_match

#: views over the kinds of data the official suite has little of (FHIR R4 examples)
VIEWS: list[dict[str, Any]] = [
    {
        "resource": "Patient",
        "select": [
            {
                "column": [
                    {"name": "id", "path": "getResourceKey()"},
                    {"name": "gender", "path": "gender"},
                    {"name": "birth", "path": "birthDate"},
                    {"name": "family", "path": "name.family.first()"},
                    {"name": "given", "path": "name.given.join(' ')"},
                    {"name": "deceased", "path": "deceased.ofType(boolean)", "type": "boolean"},
                    {"name": "org", "path": "managingOrganization.getReferenceKey(Organization)"},
                ]
            },
            {
                "forEachOrNull": "telecom",
                "column": [
                    {"name": "system", "path": "system"},
                    {"name": "value", "path": "value"},
                ],
            },
        ],
    },
    {
        "resource": "Observation",
        "select": [
            {
                "column": [
                    {"name": "id", "path": "id"},
                    {"name": "subject", "path": "subject.getReferenceKey(Patient)"},
                    {
                        "name": "code",
                        "path": "code.coding.where(system = 'http://loinc.org').code.first()",
                    },
                    {"name": "value", "path": "value.ofType(Quantity).value", "type": "decimal"},
                    {"name": "has_components", "path": "component.exists()", "type": "boolean"},
                ]
            },
            {
                "forEachOrNull": "component",
                "column": [
                    {"name": "c_code", "path": "code.coding.code.first()"},
                    {"name": "c_value", "path": "value.ofType(Quantity).value", "type": "decimal"},
                ],
            },
        ],
    },
    {  # nested forEach with %rowIndex, the union operator, a quantity comparison
        "resource": "Observation",
        "select": [
            {
                "column": [
                    {"name": "id", "path": "id"},
                    {
                        "name": "codes",
                        "path": "code.coding.code | component.code.coding.code",
                        "collection": True,
                    },
                ]
            },
            {
                "forEach": "component",
                "column": [
                    {"name": "c_index", "path": "%rowIndex", "type": "integer"},
                    {
                        "name": "c_over_100_mmhg",
                        "path": "value.ofType(Quantity) > 100 'mm[Hg]'",
                        "type": "boolean",
                    },
                    {  # 13 kPa is 97.5 mm[Hg]: a conversion between units
                        "name": "c_over_13_kpa",
                        "path": "value.ofType(Quantity) >= 13 'kPa'",
                        "type": "boolean",
                    },
                ],
                "select": [
                    {"forEach": "code.coding", "column": [{"name": "c_code", "path": "code"}]}
                ],
            },
        ],
    },
    {
        "resource": "Questionnaire",
        "select": [
            {"column": [{"name": "id", "path": "id"}]},
            {
                "repeat": ["item"],
                "column": [{"name": "link", "path": "linkId"}, {"name": "type", "path": "type"}],
            },
        ],
    },
    {
        "resource": "Patient",
        "select": [
            {"column": [{"name": "id", "path": "id"}]},
            {
                "unionAll": [
                    {
                        "forEach": "telecom",
                        "column": [
                            {"name": "kind", "path": "'telecom'"},
                            {"name": "v", "path": "value"},
                        ],
                    },
                    {
                        "forEach": "address",
                        "column": [
                            {"name": "kind", "path": "'address'"},
                            {"name": "v", "path": "city"},
                        ],
                    },
                ]
            },
        ],
    },
]


@pytest.fixture(scope="module")
def examples(examples_dir: Path) -> list[dict[str, Any]]:
    wanted = {"Patient", "Observation", "Questionnaire"}
    out = []
    questionnaires = 0
    for path in sorted(examples_dir.glob("*.json")):
        resource = json.loads(path.read_text(encoding="utf-8"))
        if resource.get("resourceType") in wanted and "id" in resource:
            if resource["resourceType"] == "Questionnaire":
                # PostgreSQL's repeat copies every node's subtree: keep the deep ones few
                questionnaires += 1
                if questionnaires > 25:
                    continue
            out.append(resource)
    assert len(out) > 100
    return out


@pytest.mark.parametrize("index", range(len(VIEWS)))
@pytest.mark.parametrize("dialect", ["sqlite", "postgres"])
def test_dialects_agree_on_the_fhir_examples(
    dialect: str, index: int, examples: list[dict[str, Any]], request: pytest.FixtureRequest
) -> None:
    view = VIEWS[index]
    reference = run(view, examples).to_pylist()
    assert reference, "the view should produce rows on the examples"
    url = request.getfixturevalue("postgres_url") if dialect == "postgres" else None
    with engine(dialect, url) as load:
        rows = run(view, load(tuple(examples))).to_pylist()
    assert rows_match(rows, reference)


def test_rows_agree_with_fhirpathpy(examples: list[dict[str, Any]]) -> None:
    from fhirpathpy import evaluate

    patients = [r for r in examples if r["resourceType"] == "Patient"]
    view = {
        "resource": "Patient",
        "select": [
            {
                "column": [
                    {"name": "id", "path": "id"},
                    {"name": "family", "path": "name.family.first()"},
                    {"name": "given", "path": "name.given.join(',')"},
                    {
                        "name": "phones",
                        "path": "telecom.where(system = 'phone').value",
                        "collection": True,
                    },
                    {"name": "has_address", "path": "address.exists()", "type": "boolean"},
                    {"name": "names", "path": "name.given | name.family", "collection": True},
                ]
            }
        ],
    }
    rows = {r["id"]: r for r in run(view, patients).to_pylist()}
    assert len(rows) == len(patients)
    for patient in patients:
        row = rows[patient["id"]]
        family = evaluate(patient, "Patient.name.family")
        assert row["family"] == (family[0] if family else None), patient["id"]
        assert row["given"] == ",".join(evaluate(patient, "Patient.name.given")), patient["id"]
        phones = evaluate(patient, "Patient.telecom.where(system = 'phone').value")
        assert row["phones"] == phones, patient["id"]
        assert row["has_address"] == bool(evaluate(patient, "Patient.address")), patient["id"]
        names = evaluate(patient, "Patient.name.given | Patient.name.family")
        assert sorted(row["names"]) == sorted(names), patient["id"]


def test_shipped_cardinalities_match_the_r4_definitions(examples_dir: Path) -> None:
    from importlib import resources

    folder = examples_dir.parent
    built = repeating_paths([folder / "profiles-resources.json", folder / "profiles-types.json"])
    shipped = json.loads(
        resources.files("helios_persistence.views")
        .joinpath("data/r4-repeating-elements.json")
        .read_text(encoding="utf-8")
    )
    assert shipped == built
    assert "Patient.name" in shipped and "HumanName.given" in shipped
    assert "Patient.gender" not in shipped
