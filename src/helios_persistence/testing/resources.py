"""Hypothesis strategies for FHIR worlds: small sets of realistic, inter-referencing resources.

Queries over them are in :mod:`.queries` (search strings) and :mod:`.ir_strategies` (IR).

A *world* is a handful of Patients, Practitioners, Organizations (a partOf hierarchy),
Encounters, Conditions, Observations and RiskAssessments that reference each other (and,
sometimes, resources that do not exist, contained resources, versioned and logical references).
Values are drawn from small vocabularies on purpose, so that generated queries hit them:
names with accents and case variants, ``%`` and ``_`` in values, dates at every precision and
timezone, quantities in interchangeable UCUM units and at precision boundaries (99.5, 100.5).

References to other servers (``http://other.example/fhir/Patient/x``) are generated
(``FOREIGN_REFERENCES``): they must never be followed as local ones.

Text-search words are drawn from a small vocabulary (stems, accents, case variants), so
generated ``_text``/``_content`` queries hit the narratives.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

UCUM = "http://unitsofmeasure.org"
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"

#: set once the SQLite backend stops following references to other servers
FOREIGN_REFERENCES = True

FAMILIES = [
    "Smith", "SMITH", "smith", "Smithers", "Goldsmith", "Müller", "Muller", "Mullerová",
    "Ñúñez", "van  der Berg", "O'Brien", "A_b", "Axb", "100% Pure", "1000 Proof",
]  # fmt: skip
GIVENS = ["John", "Jöhn", "Anna", "Ann", "Zoë", "Zoe", "José", "Jose", "Léa"]
CITIES = ["München", "Munchen", "Boston", "Zürich", "Paris"]
ORG_NAMES = ["Health Network", "Holding AG", "Princeton-Plainsboro", "Hôpital Saint-Louis"]
WORDS = [
    "cardiac", "heart", "hearts", "lungs", "running", "runner", "diabetes", "follow-up",
    "condition", "checked", "Zoë", "Müller", "smith", "blood", "pressure", "Pressures",
]  # fmt: skip
OBS_CODES = [
    (LOINC, "8867-4", "Heart rate"),
    (LOINC, "29463-7", "Body weight"),
    (LOINC, "2339-0", "Glucose [Mass/volume] in Blood"),
    (LOINC, "85354-9", "Blood pressure panel"),
    (None, "8867-4", None),
    ("http://example.org/codes", "local-1", "Local code"),
]
COND_CODES = [(SNOMED, "53741008", "Coronary arteriosclerosis"), (SNOMED, "44054006", "Diabetes")]
#: (system, code, unit) of quantities, many of them interconvertible
UNITS = [
    (UCUM, "kg", "kg"), (UCUM, "g", "g"), (UCUM, "mg", "mg"), (UCUM, "ug", "µg"),
    (UCUM, "[lb_av]", "lb"), (UCUM, "mg/dL", "mg/dL"), (UCUM, "g/L", "g/L"),
    (UCUM, "mmol/L", "mmol/L"), (UCUM, "/min", "beats/min"), (UCUM, "mm[Hg]", "mmHg"),
    (UCUM, "kPa", "kPa"), ("http://example.org/units", "mg", None), (None, None, "mg"),
]  # fmt: skip
NUMBERS = [
    0,
    0.1,
    1,
    1.0,
    5.4,
    16,
    70,
    70.0,
    72,
    99.5,
    100,
    100.0,
    100.04,
    100.5,
    120,
    150,
    5400,
    70000,
    0.30000000000000004,
    1e-7,
]
SEARCH_NUMBERS = [
    "0",
    "1",
    "1.0",
    "5.4",
    "16",
    "70",
    "70.0",
    "72",
    "99.5",
    "100",
    "100.0",
    "100.5",
    "1e2",
    "120",
    "5400",
    "70000",
    "0.1",
    "100.00000000000000000",
    "99.999999999999999999",
    "0.30000000000000001",
]
PREFIXES = ["", "eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap"]

# -- dates --------------------------------------------------------------------------------------
_YEARS = [2019, 2020, 2021]
_TZ = ["Z", "+02:00", "-05:00", "+14:00", "-12:00", ""]


@st.composite
def fhir_dates(draw: Any, with_time: bool = True) -> str:
    """A FHIR date/dateTime at a random precision (and timezone, when it has a time)."""
    year = draw(st.sampled_from(_YEARS))
    precisions = ["year", "month", "day"] + (["minute", "second", "fraction"] if with_time else [])
    precision = draw(st.sampled_from(precisions))
    text = f"{year}"
    if precision == "year":
        return text
    text += f"-{draw(st.sampled_from([1, 2, 3, 12])):02d}"
    if precision == "month":
        return text
    text += f"-{draw(st.sampled_from([1, 15, 28])):02d}"
    if precision == "day":
        return text
    text += f"T{draw(st.sampled_from([0, 10, 23])):02d}:{draw(st.sampled_from([0, 30])):02d}"
    if precision != "minute":
        text += f":{draw(st.sampled_from([0, 59])):02d}"
        if precision == "fraction":
            text += draw(st.sampled_from([".5", ".123", ".999999"]))
    return text + draw(st.sampled_from(_TZ))


# -- resources ----------------------------------------------------------------------------------
class Pools:
    """The ids a world has, per type (so references can point at them)."""

    def __init__(self, counts: dict[str, int], shared: bool = False) -> None:
        prefix = {
            "Patient": "pat",
            "Practitioner": "prac",
            "Organization": "org",
            "Encounter": "enc",
            "Condition": "cond",
            "Observation": "obs",
            "RiskAssessment": "ra",
        }
        if shared:  # ids are unique only within a type: reuse them across types
            prefix = dict.fromkeys(prefix, "r")
        self.ids = {t: [f"{prefix[t]}-{i}" for i in range(n)] for t, n in counts.items()}


@st.composite
def references(draw: Any, pools: Pools, types: list[str]) -> dict[str, Any]:
    """A Reference to one of ``types``, in one of the forms R4 allows."""
    rtype = draw(st.sampled_from(types))
    ids = pools.ids.get(rtype) or ["gone"]
    rid = draw(st.sampled_from([*ids, "gone"] if len(ids) < 3 else ids))
    forms = ["plain"] * 6 + ["versioned", "typed", "logical", "display", "urn"]
    if FOREIGN_REFERENCES:
        forms.append("foreign")
    form = draw(st.sampled_from(forms))
    if form == "plain":
        return {"reference": f"{rtype}/{rid}"}
    if form == "versioned":
        return {"reference": f"{rtype}/{rid}/_history/1"}
    if form == "typed":
        return {"reference": f"{rtype}/{rid}", "type": rtype}
    if form == "logical":
        value = draw(st.sampled_from(["MRN-1", "MRN-2"]))
        return {"type": rtype, "identifier": {"system": "urn:mrn", "value": value}}
    if form == "display":
        return {"display": "Somebody"}
    if form == "urn":
        return {"reference": "urn:uuid:5b1b7c44-9f3c-4c6a-8a4e-1d2f3a4b5c6d", "type": rtype}
    return {"reference": f"http://other.example/fhir/{rtype}/{rid}"}


def _maybe(draw: Any, strategy: Any, p: float = 0.7) -> Any:
    return draw(strategy) if draw(st.floats(0, 1)) < p else None


def _narrative(draw: Any) -> dict[str, Any] | None:
    words = draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=6))
    if draw(st.booleans()):
        return None
    div = '<div xmlns="http://www.w3.org/1999/xhtml">' + " ".join(words) + "</div>"
    return {"status": "generated", "div": div}


def _clean(resource: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in resource.items() if v not in (None, [], {})}


@st.composite
def patients(draw: Any, rid: str, pools: Pools) -> dict[str, Any]:
    names = draw(
        st.lists(
            st.fixed_dictionaries(
                {"family": st.sampled_from(FAMILIES)},
                optional={"given": st.lists(st.sampled_from(GIVENS), min_size=1, max_size=2)},
            ),
            max_size=2,
        )
    )
    identifiers = []
    if draw(st.booleans()):
        identifier: dict[str, Any] = {
            "system": "urn:mrn",
            "value": draw(st.sampled_from(["MRN-1", "MRN-2", "50%_x"])),
        }
        if draw(st.booleans()):
            identifier["type"] = {
                "coding": [{"system": V2_0203, "code": draw(st.sampled_from(["MR", "SS"]))}],
                "text": "Medical record number",
            }
        identifiers.append(identifier)
    return _clean(
        {
            "resourceType": "Patient",
            "id": rid,
            "text": _narrative(draw),
            "identifier": identifiers,
            "active": _maybe(draw, st.booleans(), 0.5),
            "name": names,
            "telecom": [{"system": "phone", "value": "555-0100"}] if draw(st.booleans()) else [],
            "gender": _maybe(draw, st.sampled_from(["male", "female", "other", "unknown"])),
            "birthDate": _maybe(draw, fhir_dates(with_time=False)),
            "address": [{"city": draw(st.sampled_from(CITIES))}] if draw(st.booleans()) else [],
            "generalPractitioner": draw(
                st.lists(references(pools, ["Practitioner", "Organization"]), max_size=1)
            ),
            "managingOrganization": _maybe(draw, references(pools, ["Organization"]), 0.5),
        }
    )


@st.composite
def practitioners(draw: Any, rid: str, pools: Pools) -> dict[str, Any]:
    return _clean(
        {
            "resourceType": "Practitioner",
            "id": rid,
            "name": [{"family": draw(st.sampled_from(FAMILIES))}],
            "gender": _maybe(draw, st.sampled_from(["male", "female"])),
            "identifier": [{"system": "urn:npi", "value": draw(st.sampled_from(["1", "2"]))}],
        }
    )


@st.composite
def organizations(draw: Any, rid: str, pools: Pools) -> dict[str, Any]:
    return _clean(
        {
            "resourceType": "Organization",
            "id": rid,
            "name": _maybe(draw, st.sampled_from(ORG_NAMES), 0.9),
            "address": [{"city": draw(st.sampled_from(CITIES))}] if draw(st.booleans()) else [],
            "partOf": _maybe(draw, references(pools, ["Organization"]), 0.6),
        }
    )


def _period(draw: Any) -> dict[str, Any] | None:
    start = _maybe(draw, fhir_dates(), 0.8)
    end = _maybe(draw, fhir_dates(), 0.6)
    period = _clean({"start": start, "end": end})
    return period or None


@st.composite
def encounters(draw: Any, rid: str, pools: Pools) -> dict[str, Any]:
    length = None
    if draw(st.booleans()):
        unit = draw(st.sampled_from(["min", "h"]))
        length = {
            "value": draw(st.sampled_from([30, 60, 120, 2, 1])),
            "system": UCUM,
            "code": unit,
            "unit": unit,
        }
    return _clean(
        {
            "resourceType": "Encounter",
            "id": rid,
            "status": draw(st.sampled_from(["finished", "in-progress", "planned"])),
            "class": {
                "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                "code": draw(st.sampled_from(["AMB", "IMP"])),
            },
            "subject": _maybe(draw, references(pools, ["Patient"]), 0.9),
            "participant": [
                {"individual": r}
                for r in draw(st.lists(references(pools, ["Practitioner"]), max_size=1))
            ],
            "period": _period(draw),
            "length": length,
            "serviceProvider": _maybe(draw, references(pools, ["Organization"]), 0.5),
        }
    )


def _concept(draw: Any, codes: list[tuple[str | None, str, str | None]]) -> dict[str, Any]:
    system, code, display = draw(st.sampled_from(codes))
    coding = _clean({"system": system, "code": code, "display": display})
    concept: dict[str, Any] = {"coding": [coding]}
    if draw(st.integers(0, 4)) == 0:
        concept["text"] = draw(st.sampled_from(["Free text", "Heart rate at rest"]))
    return concept


@st.composite
def quantities(draw: Any) -> dict[str, Any]:
    system, code, unit = draw(st.sampled_from(UNITS))
    return _clean(
        {"value": draw(st.sampled_from(NUMBERS)), "system": system, "code": code, "unit": unit}
    )


@st.composite
def conditions(draw: Any, rid: str, pools: Pools) -> dict[str, Any]:
    status = draw(st.sampled_from(["active", "resolved"]))
    return _clean(
        {
            "resourceType": "Condition",
            "id": rid,
            "clinicalStatus": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                        "code": status,
                    }
                ]
            },
            "code": _concept(draw, COND_CODES),  # type: ignore[arg-type]
            "subject": draw(references(pools, ["Patient"])),
            "encounter": _maybe(draw, references(pools, ["Encounter"]), 0.5),
            "onsetDateTime": _maybe(draw, fhir_dates(), 0.6),
            "asserter": _maybe(draw, references(pools, ["Practitioner"]), 0.4),
        }
    )


@st.composite
def observations(draw: Any, rid: str, pools: Pools) -> dict[str, Any]:
    effective: dict[str, Any] = {}
    kind = draw(st.sampled_from(["dateTime", "period", "instant", "none"]))
    if kind == "dateTime":
        effective["effectiveDateTime"] = draw(fhir_dates())
    elif kind == "period" and (period := _period(draw)):
        effective["effectivePeriod"] = period
    elif kind == "instant":
        effective["effectiveInstant"] = f"{draw(st.sampled_from(_YEARS))}-03-15T10:30:00Z"
    value: dict[str, Any] = {}
    value_kind = draw(st.sampled_from(["quantity", "quantity", "string", "none"]))
    if value_kind == "quantity":
        value["valueQuantity"] = draw(quantities())
    elif value_kind == "string":
        value["valueString"] = draw(st.sampled_from(["100% sure", "sure_thing", "Müller"]))
    components = []
    if draw(st.integers(0, 3)) == 0:
        for code in ("8480-6", "8462-4"):
            mmhg = {
                "value": draw(st.sampled_from([80, 95, 120, 150])),
                "system": UCUM,
                "code": "mm[Hg]",
                "unit": "mmHg",
            }
            components.append(
                {"code": {"coding": [{"system": LOINC, "code": code}]}, "valueQuantity": mmhg}
            )
    contained = []
    subject = _maybe(draw, references(pools, ["Patient"]), 0.85)
    if subject is None and draw(st.booleans()):
        contained = [{"resourceType": "Patient", "id": "c1", "name": [{"family": "Contained"}]}]
        subject = {"reference": "#c1"}
    identifier = []
    if draw(st.integers(0, 3)) == 0:
        identifier = [
            {
                "system": "urn:obs",
                "value": "OBS-1",
                "type": {"coding": [{"system": V2_0203, "code": "FILL"}]},
            }
        ]
    category = []
    if draw(st.booleans()):
        category = [
            {
                "coding": [
                    {
                        "system": CATEGORY,
                        "code": draw(st.sampled_from(["vital-signs", "laboratory"])),
                    }
                ]
            }
        ]
    return _clean(
        {
            "resourceType": "Observation",
            "id": rid,
            "contained": contained,
            "identifier": identifier,
            "status": draw(st.sampled_from(["final", "preliminary", "amended"])),
            "category": category,
            "code": _concept(draw, OBS_CODES),
            "subject": subject,
            "encounter": _maybe(draw, references(pools, ["Encounter"]), 0.4),
            "performer": draw(
                st.lists(references(pools, ["Practitioner", "Organization"]), max_size=2)
            ),
            **effective,
            **value,
            "component": components,
        }
    )


@st.composite
def risk_assessments(draw: Any, rid: str, pools: Pools) -> dict[str, Any]:
    predictions = draw(
        st.lists(
            st.sampled_from([0.1, 0.25, 0.9, 99.4999, 99.5, 99.96, 100, 100.04, 100.5]), max_size=2
        )
    )
    return _clean(
        {
            "resourceType": "RiskAssessment",
            "id": rid,
            "status": "final",
            "subject": draw(references(pools, ["Patient"])),
            "prediction": [{"probabilityDecimal": p} for p in predictions],
        }
    )


_MAKERS = {
    "Patient": patients,
    "Practitioner": practitioners,
    "Organization": organizations,
    "Encounter": encounters,
    "Condition": conditions,
    "Observation": observations,
    "RiskAssessment": risk_assessments,
}


@st.composite
def worlds(draw: Any) -> dict[str, Any]:
    """A small set of inter-referencing resources, then some of them updated (to other
    values) and some deleted: ``{"resources", "updates", "deletes"}``."""
    counts = {
        "Patient": draw(st.integers(1, 4)),
        "Practitioner": draw(st.integers(0, 2)),
        "Organization": draw(st.integers(0, 3)),
        "Encounter": draw(st.integers(0, 2)),
        "Condition": draw(st.integers(0, 2)),
        "Observation": draw(st.integers(1, 6)),
        "RiskAssessment": draw(st.integers(0, 2)),
    }
    pools = Pools(counts, shared=draw(st.integers(0, 3)) == 0)
    resources = []
    for rtype, ids in pools.ids.items():
        for rid in ids:
            resources.append(draw(_MAKERS[rtype](rid, pools)))
    keys = [(r["resourceType"], r["id"]) for r in resources]
    changed = draw(st.lists(st.sampled_from(keys), max_size=2, unique=True))
    updates = [draw(_MAKERS[t](i, pools)) for t, i in changed]
    deletes = draw(st.lists(st.sampled_from(keys), max_size=2, unique=True))
    return {"resources": resources, "updates": updates, "deletes": [f"{t}/{i}" for t, i in deletes]}
