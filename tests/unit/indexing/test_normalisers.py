"""Table-driven tests of each normaliser, with the R4 specification's own search examples.

Each case indexes a small resource with :func:`extract` and checks the rows of one parameter;
where the spec gives a search example, the case also checks the row against the search value
parsed the way the search side parses it (``values.parse_date`` / ``parse_number`` /
``ucum.canonical_range``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from helios_persistence.fhir_values import (
    MAX_MICROS,
    MIN_MICROS,
    parse_date,
    parse_number,
    to_micros,
)
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
)
from helios_persistence.ucum import UCUM_SYSTEM, canonical_range


def rows(resource: dict[str, Any], param: str) -> list[Any]:
    return [r for r in extract(resource).rows if r.param == param]


def micros(*args: int) -> int:
    return to_micros(datetime(*args, tzinfo=UTC))  # type: ignore[misc]


# -- date ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("birth_date", "low", "high"),
    [
        ("2013", micros(2013, 1, 1), micros(2014, 1, 1)),
        ("2013-01", micros(2013, 1, 1), micros(2013, 2, 1)),
        ("2013-01-14", micros(2013, 1, 14), micros(2013, 1, 15)),
    ],
)
def test_dates_are_ranges_at_their_precision(birth_date: str, low: int, high: int) -> None:
    assert rows({"resourceType": "Patient", "birthDate": birth_date}, "birthdate") == [
        DateRow("birthdate", low, high)
    ]


@pytest.mark.parametrize(
    ("effective", "low", "high"),
    [
        ("2013-01-14T10:00:00Z", micros(2013, 1, 14, 10), micros(2013, 1, 14, 10, 0, 1)),
        # an offset is applied: 10:00 at +10:00 is midnight UTC
        ("2013-01-14T10:00:00+10:00", micros(2013, 1, 14), micros(2013, 1, 14, 0, 0, 1)),
        # no timezone: read as UTC (the documented rule)
        ("2013-01-14T10:00:00", micros(2013, 1, 14, 10), micros(2013, 1, 14, 10, 0, 1)),
        # an instant with milliseconds is one millisecond wide
        (
            "2015-02-07T13:28:17.239+02:00",
            micros(2015, 2, 7, 11, 28, 17) + 239_000,
            micros(2015, 2, 7, 11, 28, 17) + 240_000,
        ),
    ],
)
def test_date_times(effective: str, low: int, high: int) -> None:
    obs = {"resourceType": "Observation", "effectiveDateTime": effective}
    assert rows(obs, "date") == [DateRow("date", low, high)]


# R4 search, "date": eq2013-01-14 matches 2013-01-14T00:00, 2013-01-14T10:00 and
# 2013-01-14T23:59:59 but not 2013-01-13T23:59 or 2013-01-15T00:00 ("eq": the search range
# fully contains the target's range)
@pytest.mark.parametrize(
    ("target", "matches"),
    [
        ("2013-01-14T00:00:00Z", True),
        ("2013-01-14T10:00:00Z", True),
        ("2013-01-14T23:59:59Z", True),
        ("2013-01-13T23:59:00Z", False),
        ("2013-01-15T00:00:00Z", False),
        ("2013-01-14", True),
        ("2013-01", False),  # wider than the day: not contained
    ],
)
def test_spec_date_eq_example(target: str, matches: bool) -> None:
    search = parse_date("2013-01-14")
    (row,) = rows({"resourceType": "Observation", "effectiveDateTime": target}, "date")
    assert (search.low <= row.low and row.high <= search.high) is matches


@pytest.mark.parametrize(
    ("period", "low", "high"),
    [
        ({"start": "2010-01-01", "end": "2010-12-31"}, micros(2010, 1, 1), micros(2011, 1, 1)),
        ({"start": "2010-01-01T10:00:00Z"}, micros(2010, 1, 1, 10), MAX_MICROS),
        ({"end": "2010"}, MIN_MICROS, micros(2011, 1, 1)),
    ],
)
def test_period_is_start_low_to_end_high(period: dict[str, str], low: int, high: int) -> None:
    assert rows({"resourceType": "Encounter", "period": period}, "date") == [
        DateRow("date", low, high)
    ]


def test_empty_period_gives_no_row() -> None:
    assert rows({"resourceType": "Encounter", "period": {}}, "date") == []


def test_timing_gives_events_and_bounds() -> None:
    request = {
        "resourceType": "ServiceRequest",
        "occurrenceTiming": {
            "event": ["2020-01-01", "2020-02-01"],
            "repeat": {"boundsPeriod": {"start": "2020-03-01", "end": "2020-03-31"}},
        },
    }
    assert rows(request, "occurrence") == [
        DateRow("occurrence", micros(2020, 1, 1), micros(2020, 1, 2)),
        DateRow("occurrence", micros(2020, 2, 1), micros(2020, 2, 2)),
        DateRow("occurrence", micros(2020, 3, 1), micros(2020, 4, 1)),
    ]


def test_a_string_onset_is_no_date() -> None:
    condition = {"resourceType": "Condition", "onsetString": "childhood"}
    assert rows(condition, "onset-date") == []
    assert rows(condition, "onset-info") == [StringRow("onset-info", "childhood", "childhood")]


# -- number and quantity ------------------------------------------------------------------------
# R4 search, "number": 100 is [99.5, 100.5), 100.00 is [99.995, 100.005)
@pytest.mark.parametrize(
    ("probability", "value", "low", "high"),
    [
        (100, "100", "99.5", "100.5"),
        (Decimal("100.00"), "100.00", "99.995", "100.005"),
        (0.02, "0.02", "0.015", "0.025"),
        (Decimal("1E+2"), "1E+2", "50", "150"),  # values.parse_number's reading of 1e2
    ],
)
def test_number_precision(probability: Any, value: str, low: str, high: str) -> None:
    risk = {"resourceType": "RiskAssessment", "prediction": [{"probabilityDecimal": probability}]}
    assert rows(risk, "probability") == [
        NumberRow("probability", Decimal(value), Decimal(low), Decimal(high))
    ]
    assert parse_number(value).low == Decimal(low)  # the search side agrees


def test_number_range_has_open_ends() -> None:
    risk = {
        "resourceType": "RiskAssessment",
        "prediction": [{"probabilityRange": {"low": {"value": 0.2}}}],
    }
    (row,) = rows(risk, "probability")
    assert row == NumberRow("probability", Decimal("0.2"), Decimal("0.15"), Decimal("Infinity"))


def _obs_quantity(value: Any, code: str, system: str | None = UCUM_SYSTEM) -> dict[str, Any]:
    quantity = {"value": value, "unit": code, "code": code}
    if system:
        quantity["system"] = system
    return {"resourceType": "Observation", "valueQuantity": quantity}


# R4 search, "quantity": value-quantity=5.4|http://unitsofmeasure.org|mg finds 5.4 mg, and,
# with canonical units, 5400 ug; 5.40e-3|http://unitsofmeasure.org|g is the same value
@pytest.mark.parametrize(
    ("value", "code"),
    [(5.4, "mg"), (5400, "ug"), (Decimal("5.40e-3"), "g"), (Decimal("0.0000054"), "kg")],
)
def test_spec_quantity_example_in_canonical_units(value: Any, code: str) -> None:
    (row,) = rows(_obs_quantity(value, code), "value-quantity")
    assert isinstance(row, QuantityRow)
    assert (row.system, row.code) == (UCUM_SYSTEM, code)
    assert row.canonical_unit == "g"
    assert row.canonical_value == Decimal("0.0054")
    search = canonical_range(Decimal("5.4"), Decimal("5.35"), Decimal("5.45"), "mg")
    assert search is not None
    assert search[1] <= row.canonical_low and row.canonical_high <= search[2]  # eq matches


def test_quantity_keeps_value_precision_and_unit() -> None:
    (row,) = rows(_obs_quantity(Decimal("100.0"), "mmol/L"), "value-quantity")
    assert (row.value, row.low, row.high) == (Decimal("100.0"), Decimal("99.95"), Decimal("100.05"))
    assert row.canonical_unit == "m-3"  # mol is a count in UCUM
    assert row.canonical_value == Decimal("6.0221367E+25")


def test_quantity_without_ucum_system_has_no_canonical_form() -> None:
    (row,) = rows(_obs_quantity(5, "mg", system=None), "value-quantity")
    assert row.canonical_value is None and row.canonical_unit is None and row.code == "mg"


def test_temperature_is_affine() -> None:
    (row,) = rows(_obs_quantity(37, "Cel"), "value-quantity")
    assert (row.canonical_value, row.canonical_unit) == (Decimal("310.15"), "K")
    (row,) = rows(_obs_quantity(Decimal("98.6"), "[degF]"), "value-quantity")
    assert row.canonical_value == Decimal("310.15")


def test_money_range_and_age() -> None:
    item = {"resourceType": "ChargeItem", "priceOverride": {"value": 40, "currency": "EUR"}}
    assert rows(item, "price-override") == [
        QuantityRow(
            "price-override", Decimal(40), Decimal("39.5"), Decimal("40.5"),
            "urn:iso:std:iso:4217", "EUR", "EUR",
        )
    ]  # fmt: skip
    condition = {
        "resourceType": "Condition",
        "onsetRange": {"low": {"value": 2, "unit": "a", "system": UCUM_SYSTEM, "code": "a"},
                       "high": {"value": 5, "system": UCUM_SYSTEM, "code": "a"}},
    }  # fmt: skip
    (row,) = rows(condition, "onset-age")
    assert (row.value, row.low, row.high) == (Decimal(2), Decimal("1.5"), Decimal("5.5"))
    assert row.canonical_unit == "s"
    condition = {"resourceType": "Condition", "onsetAge": {"value": 52, "code": "a"}}
    (row,) = rows(condition, "onset-age")
    assert row.value == 52 and row.canonical_value is None  # no system: not UCUM


def test_sampled_data_is_not_a_quantity_row() -> None:
    obs = {"resourceType": "Observation", "valueSampledData": {"origin": {"value": 1}}}
    assert rows(obs, "combo-value-quantity") == []


# -- token --------------------------------------------------------------------------------------
def test_spec_token_examples() -> None:
    patient = {
        "resourceType": "Patient",
        "identifier": [
            {
                "type": {
                    "coding": [
                        {"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}
                    ],
                    "text": "Medical Record Number",
                },
                "system": "http://acme.org/patient",
                "value": "2345",
            },
            {"value": "no-system"},
        ],
        "gender": "male",
        "active": True,
        "telecom": [{"system": "email", "value": "a@b.org"}, {"system": "phone", "value": "12"}],
    }
    # identifier=http://acme.org/patient|2345, :of-type=v2-0203|MR|2345, :text=medical record
    assert rows(patient, "identifier") == [
        TokenRow(
            "identifier", "http://acme.org/patient", "2345", "medical record number",
            "http://terminology.hl7.org/CodeSystem/v2-0203", "MR",
        ),
        TokenRow("identifier", None, "no-system"),
    ]  # fmt: skip
    assert rows(patient, "gender") == [TokenRow("gender", None, "male")]
    assert rows(patient, "active") == [TokenRow("active", None, "true")]
    # ContactPoint: the value is the code; email/phone filter on ContactPoint.system
    assert rows(patient, "email") == [TokenRow("email", None, "a@b.org")]
    assert rows(patient, "phone") == [TokenRow("phone", None, "12")]
    assert rows(patient, "telecom") == [
        TokenRow("telecom", None, "a@b.org"),
        TokenRow("telecom", None, "12"),
    ]


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (
            {"coding": [{"system": "http://loinc.org", "code": "29463-7", "display": "Body Weight"},
                        {"system": "http://snomed.info/sct", "code": "27113001"}],
             "text": "Gewicht"},
            [TokenRow("code", "http://loinc.org", "29463-7", "gewicht"),
             TokenRow("code", "http://snomed.info/sct", "27113001", "gewicht")],
        ),
        (
            {"coding": [{"system": "http://loinc.org", "code": "29463-7",
                         "display": "Body Wéight"}]},
            [TokenRow("code", "http://loinc.org", "29463-7", "body weight")],
        ),
        ({"text": "Only Text"}, [TokenRow("code", None, None, "only text")]),
        ({"coding": [{"code": "no-system"}]}, [TokenRow("code", None, "no-system")]),
    ],
)  # fmt: skip
def test_codeable_concept(code: dict[str, Any], expected: list[TokenRow]) -> None:
    assert rows({"resourceType": "Observation", "code": code}, "code") == expected


def test_tags_security_profile_source_are_extracted_but_not_id_and_last_updated() -> None:
    practitioner = {
        "resourceType": "Practitioner",
        "id": "p1",
        "meta": {
            "lastUpdated": "2020-01-01T00:00:00Z",
            "tag": [{"system": "http://t", "code": "a", "display": "A"}],
            "security": [{"system": "http://s", "code": "R"}],
            "profile": ["http://p|1"],
            "source": "http://src#1",
        },
    }
    found = extract(practitioner).rows
    assert {r.param for r in found} == {"_tag", "_security", "_profile", "_source"}
    assert TokenRow("_tag", "http://t", "a", "a") in found
    assert TokenRow("_security", "http://s", "R") in found
    assert UriRow("_profile", "http://p|1") in found
    assert UriRow("_source", "http://src#1") in found


# -- string -------------------------------------------------------------------------------------
def test_human_name_and_address_expand_to_their_parts() -> None:
    patient = {
        "resourceType": "Patient",
        "name": [{"family": "Müller", "given": ["Ève", "Zoë"], "prefix": ["Dr."],
                  "suffix": ["Jr"], "text": "Dr. Ève Müller"}],
        "address": [{"line": ["1 Main St", "Apt 2"], "city": "Zürich", "district": "Kreis 1",
                     "state": "ZH", "postalCode": "8000", "country": "CH", "text": "full"}],
    }  # fmt: skip
    assert [(r.norm, r.exact) for r in rows(patient, "name")] == [
        ("muller", "Müller"), ("eve", "Ève"), ("zoe", "Zoë"), ("dr.", "Dr."), ("jr", "Jr"),
        ("dr. eve muller", "Dr. Ève Müller"),
    ]  # fmt: skip
    assert [r.exact for r in rows(patient, "address")] == [
        "1 Main St", "Apt 2", "Zürich", "Kreis 1", "ZH", "8000", "CH", "full",
    ]  # fmt: skip
    assert rows(patient, "family") == [StringRow("family", "muller", "Müller")]
    assert rows(patient, "address-city") == [StringRow("address-city", "zurich", "Zürich")]


# -- reference and uri --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ({"reference": "Patient/123"}, ReferenceRow("subject", "Patient", "123")),
        (
            {"reference": "Patient/123/_history/2"},
            ReferenceRow("subject", "Patient", "123", version="2"),
        ),
        (
            {"reference": "http://other/fhir/Patient/5"},
            ReferenceRow("subject", "Patient", None, url="http://other/fhir/Patient/5"),
        ),
        (
            {"reference": "urn:uuid:04121321-4af5-424c-a0e1-ed3aab1c349d"},
            ReferenceRow(
                "subject", None, None, url="urn:uuid:04121321-4af5-424c-a0e1-ed3aab1c349d"
            ),
        ),
        (
            {"reference": "urn:uuid:0412", "type": "Group"},
            ReferenceRow("subject", "Group", None, url="urn:uuid:0412"),
        ),
        ({"reference": "#p1"}, ReferenceRow("subject", "Patient", "#p1")),
        (
            {"identifier": {"system": "http://ids", "value": "42"}},
            ReferenceRow(
                "subject", None, None, identifier_system="http://ids", identifier_value="42"
            ),
        ),
        (
            {"reference": "Patient?identifier=http://ids|42"},
            ReferenceRow("subject", "Patient", None, url="Patient?identifier=http://ids|42"),
        ),
        ({"display": "Just a name"}, None),
    ],
)
def test_reference_forms(reference: dict[str, Any], expected: ReferenceRow | None) -> None:
    obs = {
        "resourceType": "Observation",
        "contained": [{"resourceType": "Patient", "id": "p1"}],
        "subject": reference,
    }
    assert rows(obs, "subject") == ([expected] if expected else [])


def test_patient_parameter_is_decided_from_the_reference() -> None:
    def patient_rows(subject: dict[str, Any]) -> list[Any]:
        return rows({"resourceType": "Observation", "subject": subject}, "patient")

    assert patient_rows({"reference": "Patient/1"}) == [ReferenceRow("patient", "Patient", "1")]
    assert patient_rows({"reference": "Group/1"}) == []
    assert patient_rows({"reference": "urn:uuid:1", "type": "Patient"}) != []


def test_canonical_references_split_the_version() -> None:
    plan = {
        "resourceType": "PlanDefinition",
        "relatedArtifact": [
            {"type": "depends-on", "resource": "http://x.org/Library/lib|1.0"},
            {"type": "composed-of", "resource": "http://x.org/PlanDefinition/p"},
        ],
        "url": "http://x.org/PlanDefinition/me",
    }
    assert rows(plan, "depends-on") == [
        ReferenceRow("depends-on", None, None, "1.0", "http://x.org/Library/lib")
    ]
    assert rows(plan, "composed-of") == [
        ReferenceRow("composed-of", None, None, None, "http://x.org/PlanDefinition/p")
    ]
    assert rows(plan, "url") == [UriRow("url", "http://x.org/PlanDefinition/me")]


def test_first_bundle_entry_is_a_reference_to_it() -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "document",
        "entry": [{"resource": {"resourceType": "Composition", "id": "c1"}}, {"resource": {}}],
    }
    assert rows(bundle, "composition") == [ReferenceRow("composition", "Composition", "c1")]


# -- composite ----------------------------------------------------------------------------------
def test_composite_rows_are_per_repetition_with_a_cartesian_product() -> None:
    obs = {
        "resourceType": "Observation",
        "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9"}]},
        "component": [
            {
                "code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"},
                                    {"system": "http://snomed.info/sct", "code": "271649006"}]},
                "valueQuantity": {"value": 107, "system": UCUM_SYSTEM, "code": "mm[Hg]"},
            },
            {
                "code": {"coding": [{"system": "http://loinc.org", "code": "8462-4"}]},
                "valueQuantity": {"value": 60, "system": UCUM_SYSTEM, "code": "mm[Hg]"},
            },
            {"code": {"coding": [{"code": "no-value"}]}},
        ],
    }  # fmt: skip
    found = rows(obs, "component-code-value-quantity")
    assert all(isinstance(r, CompositeRow) for r in found)
    pairs = [(r.components[0].code, r.components[1].value) for r in found]
    # two codings × one value, one × one; the component without a value gives nothing
    assert pairs == [("8480-6", 107), ("271649006", 107), ("8462-4", 60)]
    assert [c.param for c in found[0].components] == [
        "component-code",
        "component-value-quantity",
    ]
    # the top-level code has no top-level value: no code-value-quantity row
    assert rows(obs, "code-value-quantity") == []


def test_composite_with_a_percent_resource_component() -> None:
    seq = {
        "resourceType": "MolecularSequence",
        "referenceSeq": {"chromosome": {"coding": [{"code": "1"}]}},
        "variant": [{"start": 10, "end": 20}, {"start": 30, "end": 40}],
    }
    found = rows(seq, "chromosome-variant-coordinate")
    assert [
        (r.components[0].code, r.components[1].value, r.components[2].value) for r in found
    ] == [
        ("1", 10, 20),
        ("1", 30, 40),
    ]


def test_document_reference_relationship_uses_the_corrected_components() -> None:
    doc = {
        "resourceType": "DocumentReference",
        "relatesTo": [{"code": "replaces", "target": {"reference": "DocumentReference/d0"}}],
    }
    (row,) = rows(doc, "relationship")
    assert row.components == (
        ReferenceRow("relatesto", "DocumentReference", "d0"),
        TokenRow("relation", None, "replaces"),
    )
