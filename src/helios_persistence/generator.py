"""Deterministic synthetic FHIR R4 data (Synthea-like shapes) for demos, tests and benchmarks.

Standard library only: every random choice comes from :class:`random.Random`, so one seed
always gives the same resources (byte for byte under ``json.dumps(sort_keys=True)``).

* :func:`generate` yields plain resources with ids, in dependency order: Organizations and
  Practitioners first, then per patient its Patient, Encounters, Observations and Conditions.
  Every reference (``Patient/p-000001``, ``Encounter/enc-000001-01``, ...) points at a resource
  yielded earlier.
* :func:`generate_bundles` yields the same data as Bundles: first a ``batch`` of PUTs for the
  Organizations and Practitioners (so ``Organization/<id>`` and ``Practitioner/<id>`` resolve),
  then one ``transaction`` per patient whose entries are POSTs without ids, with ``urn:uuid:``
  fullUrls that the entries reference among themselves.
* :func:`count_by_type` counts what :func:`generate` yields, per resource type.

Each patient draws from its own ``Random`` (seeded from ``seed`` and the patient number), so a
run with more patients starts with exactly the resources of a run with fewer, and
:func:`patient_resources` builds any single patient on its own.

Per patient: 3-6 Encounters, 8-20 Observations (vital signs incl. a blood-pressure panel with
components, and laboratory results; units in several UCUM forms: ``kg``/``g``/``[lb_av]``,
``mg/dL``/``mmol/L``, ``Cel``/``[degF]``), 1-3 Conditions (SNOMED). Names mix accents and case
(``Müller``, ``smith``, ``SMITH-JONES``, ``Zoë``, ``García``), birth dates come at day, month
or year precision and timestamps carry varied offsets (``Z``, ``+01:00``, ``-05:00``, ...).
"""

from __future__ import annotations

import random
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from html import escape
from typing import Any

__all__ = [
    "count_by_type",
    "full_url",
    "generate",
    "generate_bundles",
    "loinc_fragment",
    "patient_resources",
    "shared_resources",
]

Resource = dict[str, Any]
#: (resource type, id) → the reference string to use for it
RefFn = Callable[[str, str], str]

# -- code systems ------------------------------------------------------------------------------

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
NPI = "http://hl7.org/fhir/sid/us-npi"
V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
COND_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
COND_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
COND_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
ORG_TYPE = "http://terminology.hl7.org/CodeSystem/organization-type"
MRN_SYSTEM = "http://hospital.example.org/mrn"
SSN_SYSTEM = "http://hl7.org/fhir/sid/us-ssn"
XHTML = "http://www.w3.org/1999/xhtml"

_UUID_NAMESPACE = uuid.UUID("6f1c1a52-4f0e-5d7c-9b8e-2f6a0c3d9e41")

# -- vocabularies ------------------------------------------------------------------------------

FAMILY_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Anderson",
    "Taylor", "Thomas", "Moore", "Martin", "Jackson", "Thompson", "White", "Harris", "Clark",
    "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott", "Nguyen",
    "Hill", "Green", "Adams", "Baker", "Nelson", "Carter", "Mitchell", "Roberts", "Turner",
    "Müller", "Schröder", "García", "Martínez", "Rodríguez", "Hernández", "López", "Pérez",
    "Gómez", "Núñez", "Ibáñez", "Çelik", "Øvergaard", "Ångström", "Dvořák", "Łukasiewicz",
    "Lefèvre", "Dubois", "O'Brien", "O'Connor", "McDonald", "MacLeod", "DeLuca", "van der Berg",
    "de la Cruz", "Kowalski", "Papadopoulos", "Svensson", "Novák", "Tanaka", "Kim", "Chen",
    "smith", "SMITH", "SMITH-JONES", "Smith-Jones", "müller", "MÜLLER", "Mueller", "garcia",
    "GARCÍA", "brown", "o'brien",
)  # fmt: skip

GIVEN_FEMALE = (
    "Mary", "Patricia", "Jennifer", "Linda", "Elizabeth", "Barbara", "Susan", "Jessica",
    "Sarah", "Karen", "Nancy", "Lisa", "Emma", "Olivia", "Sophia", "Ava", "Mia", "Amelia",
    "Zoë", "Zoe", "Chloé", "Anaïs", "Renée", "Inés", "Sofía", "María", "Lucía", "Björk",
    "Åsa", "Małgorzata", "Siobhán", "Ngọc", "Anne-Marie", "mary", "EMMA", "zoë",
)  # fmt: skip

GIVEN_MALE = (
    "James", "John", "Robert", "Michael", "William", "David", "Richard", "Joseph", "Thomas",
    "Charles", "Daniel", "Matthew", "Anthony", "Mark", "Liam", "Noah", "Oliver", "Lucas",
    "José", "Jürgen", "François", "André", "Søren", "Jiří", "Íñigo", "Nuño", "Ömer",
    "Jean-Luc", "Seán", "john", "JAMES", "josé",
)  # fmt: skip

PREFIXES_PRACTITIONER = ("Dr.",)
SUFFIXES_PRACTITIONER = ("MD", "DO", "MD, PhD", "NP", "PA-C")

# (city, state, zip prefix)
CITIES = (
    ("Boston", "MA", "021"), ("Worcester", "MA", "016"), ("Springfield", "MA", "011"),
    ("Cambridge", "MA", "021"), ("Lowell", "MA", "018"), ("Providence", "RI", "029"),
    ("Hartford", "CT", "061"), ("New Haven", "CT", "065"), ("Albany", "NY", "122"),
    ("New York", "NY", "100"), ("Brooklyn", "NY", "112"), ("Newark", "NJ", "071"),
    ("Philadelphia", "PA", "191"), ("Pittsburgh", "PA", "152"), ("Baltimore", "MD", "212"),
    ("Chicago", "IL", "606"), ("Houston", "TX", "770"), ("San Antonio", "TX", "782"),
    ("Phoenix", "AZ", "850"), ("San José", "CA", "951"), ("Los Angeles", "CA", "900"),
    ("Santa Fe", "NM", "875"), ("Coeur d'Alene", "ID", "838"), ("Española", "NM", "875"),
)  # fmt: skip

STREETS = (
    "Main St", "Oak Ave", "Maple Dr", "Cedar Ln", "Elm St", "Washington Blvd", "Park Rd",
    "Lake View Ct", "Hillside Ave", "River Rd", "Church St", "Mill Ln", "Calle Real",
    "Rue Saint-Honoré", "Königstraße",
)  # fmt: skip

ORG_NAMES = (
    "Mercy General Hospital", "St. Mary's Medical Center", "Riverside Community Clinic",
    "Lakeside Family Practice", "Northshore Cardiology Associates", "Hospital San José",
    "Children's Health Partners", "Valley Internal Medicine", "Clínica Santa María",
    "Harbor Urgent Care", "Summit Diabetes & Endocrine Center", "Greenfield Health Center",
)  # fmt: skip

ORG_TYPES = (("prov", "Healthcare Provider"), ("dept", "Hospital Department"))

TIMEZONES = ("Z", "Z", "+00:00", "+01:00", "+02:00", "-05:00", "-05:00", "-04:00", "-08:00",
             "+05:30", "+09:00")  # fmt: skip

# encounter class: (code, display, weight, SNOMED type code, type display, duration range in s)
ENCOUNTER_CLASSES = (
    ("AMB", "ambulatory", 70, "185349003", "Encounter for check up (procedure)", (900, 3600)),
    ("AMB", "ambulatory", 10, "185345009", "Encounter for symptom (procedure)", (900, 3600)),
    ("EMER", "emergency", 12, "50849002", "Emergency room admission (procedure)", (3600, 21600)),
    ("IMP", "inpatient encounter", 8, "32485007", "Hospital admission (procedure)",
     (86400, 6 * 86400)),
    ("VR", "virtual", 7, "185317003", "Telephone encounter (procedure)", (600, 1800)),
)  # fmt: skip
_ENC_WEIGHTS = tuple(c[2] for c in ENCOUNTER_CLASSES)

# condition: (SNOMED code, display, clinical term for narratives, chronic?, cardiac?, weight)
CONDITIONS = (
    ("53741008", "Coronary arteriosclerosis (disorder)", "coronary artery disease", True, True,
     6),
    ("22298006", "Myocardial infarction (disorder)", "myocardial infarction", True, True, 3),
    ("49436004", "Atrial fibrillation (disorder)", "atrial fibrillation", True, True, 4),
    ("44054006", "Diabetes mellitus type 2 (disorder)", "type 2 diabetes", True, False, 10),
    ("15777000", "Prediabetes (finding)", "prediabetes", True, False, 8),
    ("38341003", "Hypertensive disorder, systemic arterial (disorder)", "hypertension", True,
     False, 14),
    ("162864005", "Body mass index 30+ - obesity (finding)", "obesity", True, False, 8),
    ("195662009", "Acute viral pharyngitis (disorder)", "acute viral pharyngitis", False, False,
     14),
    ("10509002", "Acute bronchitis (disorder)", "acute bronchitis", False, False, 10),
    ("444814009", "Viral sinusitis (disorder)", "viral sinusitis", False, False, 12),
    ("40055000", "Chronic sinusitis (disorder)", "chronic sinusitis", True, False, 5),
    ("195967001", "Asthma (disorder)", "asthma", True, False, 6),
)  # fmt: skip
_COND_WEIGHTS = tuple(c[5] for c in CONDITIONS)
_DIABETIC = frozenset({"44054006", "15777000"})
_HYPERTENSIVE = frozenset({"38341003", "53741008", "22298006"})

_EPOCH = datetime(2014, 1, 1)
_SPAN_SECONDS = 10 * 365 * 86400  # encounters between 2014 and 2023


# -- small helpers -----------------------------------------------------------------------------


def _coding(system: str, code: str, display: str) -> dict[str, str]:
    return {"system": system, "code": code, "display": display}


def _concept(system: str, code: str, display: str, text: str | None = None) -> dict[str, Any]:
    return {"coding": [_coding(system, code, display)], "text": text or display}


def _narrative(text: str) -> dict[str, str]:
    return {"status": "generated", "div": f'<div xmlns="{XHTML}">{escape(text, quote=False)}</div>'}


def _stamp(seconds: int, tz: str) -> str:
    """A dateTime at second precision, ``seconds`` after 2014-01-01 local time in ``tz``."""
    return (_EPOCH + timedelta(seconds=seconds)).isoformat(timespec="seconds") + tz


def _quantity(value: float | int, unit: str, code: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": UCUM, "code": code}


def _r(value: float, digits: int) -> float | int:
    """``value`` rounded to ``digits`` decimals (an int for 0)."""
    return round(value) if digits == 0 else round(value, digits)


def _phone(rng: random.Random) -> str:
    return f"555-{rng.randint(200, 999)}-{rng.randint(0, 9999):04d}"


def _address(rng: random.Random) -> dict[str, Any]:
    city, state, zip_prefix = rng.choice(CITIES)
    return {
        "use": "home",
        "line": [f"{rng.randint(1, 9999)} {rng.choice(STREETS)}"],
        "city": city,
        "state": state,
        "postalCode": f"{zip_prefix}{rng.randint(0, 99):02d}",
        "country": "US",
    }


def _npi(rng: random.Random) -> str:
    return f"9999{rng.randint(0, 999999):06d}"


def _identity(rtype: str, rid: str) -> str:
    return f"{rtype}/{rid}"


def _org_id(n: int) -> str:
    return f"org-{n:03d}"


def _pract_id(n: int) -> str:
    return f"pract-{n:03d}"


def _patient_id(n: int) -> str:
    return f"p-{n:06d}"


# -- shared resources: Organizations and Practitioners -----------------------------------------


def loinc_fragment() -> Resource:
    """A small LOINC CodeSystem fragment (a hierarchy around 8867-4 Heart rate), so that
    ``Observation?code:below=http://loinc.org|8867-4`` has a CodeSystem to follow."""

    def c(code: str, display: str, *children: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {"code": code, "display": display}
        if children:
            out["concept"] = list(children)
        return out

    heart_rate = c(
        "8867-4", "Heart rate",
        c("40443-4", "Heart rate --resting"), c("8889-8", "Heart rate by Pulse oximetry"),
        c("8893-0", "Heart rate Peripheral artery by Palpation"),
    )  # fmt: skip
    blood_pressure = c(
        "85354-9", "Blood pressure panel with all children optional",
        c("8480-6", "Systolic blood pressure"), c("8462-4", "Diastolic blood pressure"),
    )  # fmt: skip
    return {
        "resourceType": "CodeSystem",
        "id": "loinc-fragment",
        "url": LOINC,
        "name": "LOINCFragment",
        "status": "active",
        "content": "fragment",
        "hierarchyMeaning": "is-a",
        "concept": [
            c(
                "85353-1",
                "Vital signs panel",
                heart_rate,
                blood_pressure,
                c("9279-1", "Respiratory rate"),
                c("8310-5", "Body temperature"),
                c("29463-7", "Body weight"),
                c("8302-2", "Body height"),
            ),
        ],
    }


def shared_resources(
    seed: int = 42, *, organizations: int = 10, practitioners: int = 20
) -> list[Resource]:
    """The Organizations then the Practitioners every patient refers to (with ids), and the
    LOINC fragment (:func:`loinc_fragment`)."""
    if organizations < 1 or practitioners < 1:
        raise ValueError("need at least one Organization and one Practitioner")
    rng = random.Random(f"helios-generator/{seed}/shared")
    out: list[Resource] = []
    for n in range(1, organizations + 1):
        name = ORG_NAMES[(n - 1) % len(ORG_NAMES)]
        if n > len(ORG_NAMES):
            name = f"{name} {(n - 1) // len(ORG_NAMES) + 1}"
        otype = ORG_TYPES[0] if rng.random() < 0.8 else ORG_TYPES[1]
        address = _address(rng)
        address["use"] = "work"
        out.append(
            {
                "resourceType": "Organization",
                "id": _org_id(n),
                "identifier": [{"system": NPI, "value": _npi(rng)}],
                "active": True,
                "type": [_concept(ORG_TYPE, *otype)],
                "name": name,
                "telecom": [{"system": "phone", "value": _phone(rng), "use": "work"}],
                "address": [address],
            }
        )
    for n in range(1, practitioners + 1):
        female = rng.random() < 0.5
        given = rng.choice(GIVEN_FEMALE if female else GIVEN_MALE)
        family = rng.choice(FAMILY_NAMES)
        suffix = rng.choice(SUFFIXES_PRACTITIONER)
        pid = _pract_id(n)
        out.append(
            {
                "resourceType": "Practitioner",
                "id": pid,
                "identifier": [{"system": NPI, "value": _npi(rng)}],
                "active": True,
                "name": [
                    {
                        "use": "official",
                        "text": f"Dr. {given} {family}, {suffix}",
                        "family": family,
                        "given": [given],
                        "prefix": list(PREFIXES_PRACTITIONER),
                        "suffix": [suffix],
                    }
                ],
                "telecom": [
                    {"system": "email", "value": f"{pid}@example.org", "use": "work"},
                    {"system": "phone", "value": _phone(rng), "use": "work"},
                ],
                "gender": "female" if female else "male",
            }
        )
    out.append(loinc_fragment())
    return out


# -- per patient -------------------------------------------------------------------------------


class _Vitals:
    """A patient's baseline, so repeated measurements of one patient look alike."""

    __slots__ = ("diabetic", "hb", "height", "hr", "hypertensive", "weight")

    def __init__(self, rng: random.Random, female: bool, age: int, codes: set[str]) -> None:
        self.diabetic = bool(codes & _DIABETIC)
        self.hypertensive = bool(codes & _HYPERTENSIVE)
        if age < 18:
            self.height = 100.0 + age * 4.0 + rng.uniform(-8, 8)
            self.weight = 15.0 + age * 3.0 + rng.uniform(-4, 6)
        else:
            self.height = rng.gauss(163 if female else 177, 7)
            bmi = rng.uniform(19, 27) + (6 if "162864005" in codes else 0)
            self.weight = bmi * (self.height / 100) ** 2
        self.hr = rng.uniform(60, 85)
        self.hb = rng.uniform(12, 15) if female else rng.uniform(13.5, 17)


# observation kinds and how often each is drawn
_OBS_MIX = (
    ("hr", 20), ("bp", 20), ("weight", 12), ("height", 6), ("temp", 8), ("sys", 3), ("dia", 2),
    ("glucose", 12), ("hb", 10),
)  # fmt: skip
_OBS_KINDS = tuple(k for k, _ in _OBS_MIX)
_OBS_WEIGHTS = tuple(w for _, w in _OBS_MIX)
# (system, code, display) triples; every resource gets its own dicts built from them, so that
# no two resources (nor two runs) share a mutable object
_VITAL = (OBS_CATEGORY, "vital-signs", "Vital Signs")
_LAB = (OBS_CATEGORY, "laboratory", "Laboratory")
_CLINICAL_ACTIVE = (COND_CLINICAL, "active", "Active")
_CLINICAL_RESOLVED = (COND_CLINICAL, "resolved", "Resolved")
_CONFIRMED = (COND_VERIFICATION, "confirmed", "Confirmed")
_PROVISIONAL = (COND_VERIFICATION, "provisional", "Provisional")
_ENC_DIAGNOSIS = (COND_CATEGORY, "encounter-diagnosis", "Encounter Diagnosis")
_PROBLEM = (COND_CATEGORY, "problem-list-item", "Problem List Item")


def _measure(kind: str, rng: random.Random, v: _Vitals) -> tuple[Any, ...]:
    """(category, LOINC code, display, value text, valueQuantity or None, components or None)."""
    if kind == "hr":
        value = _r(v.hr + rng.uniform(-8, 12), 0)
        q = _quantity(value, "/min", "/min")
        return _VITAL, "8867-4", "Heart rate", f"{value} /min", q, None
    if kind in ("bp", "sys", "dia"):
        base_s, base_d = (145, 92) if v.hypertensive else (118, 76)
        sys_v = max(85, min(200, _r(base_s + rng.gauss(0, 10), 0)))
        dia_v = max(50, min(sys_v - 20, _r(base_d + rng.gauss(0, 7), 0)))
        if kind == "sys":
            q = _quantity(sys_v, "mm[Hg]", "mm[Hg]")
            return _VITAL, "8480-6", "Systolic blood pressure", f"{sys_v} mm[Hg]", q, None
        if kind == "dia":
            q = _quantity(dia_v, "mm[Hg]", "mm[Hg]")
            return _VITAL, "8462-4", "Diastolic blood pressure", f"{dia_v} mm[Hg]", q, None
        components = [
            {
                "code": _concept(LOINC, "8480-6", "Systolic blood pressure"),
                "valueQuantity": _quantity(sys_v, "mm[Hg]", "mm[Hg]"),
            },
            {
                "code": _concept(LOINC, "8462-4", "Diastolic blood pressure"),
                "valueQuantity": _quantity(dia_v, "mm[Hg]", "mm[Hg]"),
            },
        ]
        text = f"{sys_v}/{dia_v} mm[Hg]"
        return (
            _VITAL,
            "85354-9",
            "Blood pressure panel with all children optional",
            text,
            None,
            components,
        )
    if kind == "weight":
        kg = v.weight + rng.uniform(-1.5, 1.5)
        roll = rng.random()
        if roll < 0.7:
            q = _quantity(_r(kg, 1), "kg", "kg")
        elif roll < 0.85:
            q = _quantity(_r(kg * 1000, 0), "g", "g")
        else:
            q = _quantity(_r(kg / 0.45359237, 2), "lb", "[lb_av]")
        return _VITAL, "29463-7", "Body weight", f"{q['value']} {q['unit']}", q, None
    if kind == "height":
        q = _quantity(_r(v.height + rng.uniform(-0.5, 0.5), 1), "cm", "cm")
        return _VITAL, "8302-2", "Body height", f"{q['value']} cm", q, None
    if kind == "temp":
        celsius = rng.gauss(36.9, 0.35) + (1.5 if rng.random() < 0.08 else 0)
        if rng.random() < 0.75:
            q = _quantity(_r(celsius, 1), "Cel", "Cel")
        else:
            q = _quantity(_r(celsius * 9 / 5 + 32, 1), "degF", "[degF]")
        return _VITAL, "8310-5", "Body temperature", f"{q['value']} {q['unit']}", q, None
    if kind == "glucose":
        mg = rng.uniform(110, 260) if v.diabetic else rng.uniform(70, 110)
        if rng.random() < 0.8:
            q = _quantity(_r(mg, 0), "mg/dL", "mg/dL")
        else:
            q = _quantity(_r(mg / 18.016, 2), "mmol/L", "mmol/L")
        display = "Glucose [Mass/volume] in Serum or Plasma"
        return _LAB, "2339-0", display, f"{q['value']} {q['unit']}", q, None
    # hemoglobin
    q = _quantity(_r(v.hb + rng.uniform(-0.6, 0.6), 1), "g/dL", "g/dL")
    display = "Hemoglobin [Mass/volume] in Blood"
    return _LAB, "718-7", display, f"{q['value']} g/dL", q, None


def _birth_date(rng: random.Random) -> tuple[str, int]:
    """(birthDate at day, month or year precision, birth year)."""
    year = rng.randint(1930, 2018)
    month = rng.randint(1, 12)
    day = rng.randint(1, 28)
    roll = rng.random()
    if roll < 0.85:
        return f"{year:04d}-{month:02d}-{day:02d}", year
    if roll < 0.96:
        return f"{year:04d}-{month:02d}", year
    return f"{year:04d}", year


def patient_resources(
    number: int,
    seed: int = 42,
    *,
    organizations: int = 10,
    practitioners: int = 20,
) -> list[Resource]:
    """Patient ``number`` (1-based, id ``p-{number:06d}``) then its Encounters, Observations
    and Conditions, with ids and ``Type/id`` references (as :func:`generate` yields them)."""
    return [r for _, r in _patient(number, seed, organizations, practitioners, _identity, True)]


def _patient(
    number: int,
    seed: int,
    organizations: int,
    practitioners: int,
    ref: RefFn,
    with_ids: bool,
) -> list[tuple[str, Resource]]:
    """(id, resource) for patient ``number`` and its resources. ``ref(type, id)`` makes the
    references to this patient's own resources; references to Organizations and Practitioners
    are always ``Type/id``. With ``with_ids=False`` the resources carry no ``id``."""
    if organizations < 1 or practitioners < 1:
        raise ValueError("need at least one Organization and one Practitioner")
    rng = random.Random(f"helios-generator/{seed}/patient/{number}")
    pid = _patient_id(number)
    patient_ref = ref("Patient", pid)

    # decide the story first so the patient narrative can mention it
    n_conditions = rng.choice((1, 1, 2, 2, 2, 3))
    chosen: list[tuple[Any, ...]] = []
    while len(chosen) < n_conditions:
        c = rng.choices(CONDITIONS, _COND_WEIGHTS)[0]
        if c not in chosen:
            chosen.append(c)
    codes = {c[0] for c in chosen}

    female = rng.random() < 0.5
    gender = "female" if female else "male"
    if rng.random() < 0.02:
        gender = rng.choice(("other", "unknown"))
    given = rng.choice(GIVEN_FEMALE if female else GIVEN_MALE)
    middle = rng.choice(GIVEN_FEMALE if female else GIVEN_MALE) if rng.random() < 0.3 else None
    family = rng.choice(FAMILY_NAMES)
    birth_date, birth_year = _birth_date(rng)
    age = 2024 - birth_year
    gp = rng.randint(1, practitioners)
    gp_ref = f"Practitioner/{_pract_id(gp)}"
    org_ref = f"Organization/{_org_id((gp - 1) % organizations + 1)}"

    givens = [given, middle] if middle else [given]
    names: list[dict[str, Any]] = [
        {"use": "official", "family": family, "given": givens, "text": f"{given} {family}"}
    ]
    if female and age > 25 and rng.random() < 0.2:
        names.append({"use": "maiden", "family": rng.choice(FAMILY_NAMES), "given": [given]})
    telecom = [{"system": "phone", "value": _phone(rng), "use": rng.choice(("home", "mobile"))}]
    if rng.random() < 0.6:
        telecom.append({"system": "email", "value": f"{pid}@example.com"})
    identifiers: list[dict[str, Any]] = [
        {
            "use": "usual",
            "type": _concept(V2_0203, "MR", "Medical Record Number", "Medical Record Number"),
            "system": MRN_SYSTEM,
            "value": f"MRN{rng.randint(0, 99_999_999):08d}",
        }
    ]
    if age >= 18 and rng.random() < 0.7:
        identifiers.append(
            {
                "type": _concept(V2_0203, "SS", "Social Security number"),
                "system": SSN_SYSTEM,
                "value": f"999-{rng.randint(10, 99)}-{rng.randint(0, 9999):04d}",
            }
        )
    history = ", ".join(c[2] for c in chosen)
    cardiac = any(c[4] for c in chosen)
    story = f"{given} {family}, {gender}, born {birth_date}. History of {history}"
    story += " (cardiac history)." if cardiac else "."

    patient: Resource = {"resourceType": "Patient"}
    if with_ids:
        patient["id"] = pid
    patient.update(
        {
            "text": _narrative(story),
            "identifier": identifiers,
            "active": True,
            "name": names,
            "telecom": telecom,
            "gender": gender,
            "birthDate": birth_date,
            "address": [_address(rng)],
            "generalPractitioner": [{"reference": gp_ref}],
            "managingOrganization": {"reference": org_ref},
        }
    )
    if rng.random() < 0.05:
        patient["deceasedBoolean"] = False
    out = [(pid, patient)]

    # encounters, in time order
    n_enc = rng.randint(3, 6)
    starts = sorted(rng.randrange(_SPAN_SECONDS) for _ in range(n_enc))
    encounters: list[tuple[str, int, str, str]] = []
    for k, start in enumerate(starts, 1):
        cls = rng.choices(ENCOUNTER_CLASSES, _ENC_WEIGHTS)[0]
        tz = rng.choice(TIMEZONES)
        end = start + rng.randint(*cls[5])
        pract = gp if rng.random() < 0.6 else rng.randint(1, practitioners)
        pract_ref = f"Practitioner/{_pract_id(pract)}"
        org = f"Organization/{_org_id((pract - 1) % organizations + 1)}"
        eid = f"enc-{number:06d}-{k:02d}"
        enc: Resource = {"resourceType": "Encounter"}
        if with_ids:
            enc["id"] = eid
        enc.update(
            {
                "status": "finished",
                "class": {"system": ACT_CODE, "code": cls[0], "display": cls[1]},
                "type": [_concept(SNOMED, cls[3], cls[4])],
                "subject": {"reference": patient_ref},
                "participant": [{"individual": {"reference": pract_ref}}],
                "period": {"start": _stamp(start, tz), "end": _stamp(end, tz)},
                "serviceProvider": {"reference": org},
            }
        )
        out.append((eid, enc))
        encounters.append((ref("Encounter", eid), start, tz, pract_ref))

    # observations, spread over the encounters
    vitals = _Vitals(rng, female, age, codes)
    n_obs = rng.randint(8, 20)
    for k in range(1, n_obs + 1):
        enc_ref, start, tz, pract_ref = encounters[rng.randrange(n_enc)]
        kind = rng.choices(_OBS_KINDS, _OBS_WEIGHTS)[0]
        category, code, display, text, quantity, components = _measure(kind, rng, vitals)
        oid = f"obs-{number:06d}-{k:03d}"
        obs: Resource = {"resourceType": "Observation"}
        if with_ids:
            obs["id"] = oid
        if rng.random() < 0.3:
            obs["text"] = _narrative(f"{display}: {text}")
        obs.update(
            {
                "status": "final",
                "category": [_concept(*category)],
                "code": _concept(LOINC, code, display),
                "subject": {"reference": patient_ref},
                "encounter": {"reference": enc_ref},
                "effectiveDateTime": _stamp(start + rng.randint(60, 1800), tz),
                "issued": _stamp(start + 3600, tz),
                "performer": [{"reference": pract_ref}],
            }
        )
        if quantity is not None:
            obs["valueQuantity"] = quantity
        else:
            obs["component"] = components
        out.append((oid, obs))

    # conditions
    for k, c in enumerate(chosen, 1):
        enc_ref, start, tz, _ = encounters[rng.randrange(n_enc)]
        cid = f"cond-{number:06d}-{k:02d}"
        cond: Resource = {"resourceType": "Condition"}
        if with_ids:
            cond["id"] = cid
        chronic = c[3]
        cond.update(
            {
                "clinicalStatus": {
                    "coding": [_coding(*(_CLINICAL_ACTIVE if chronic else _CLINICAL_RESOLVED))]
                },
                "verificationStatus": {
                    "coding": [_coding(*(_CONFIRMED if rng.random() < 0.9 else _PROVISIONAL))]
                },
                "category": [{"coding": [_coding(*(_PROBLEM if chronic else _ENC_DIAGNOSIS))]}],
                "code": _concept(SNOMED, c[0], c[1], c[2]),
                "subject": {"reference": patient_ref},
                "encounter": {"reference": enc_ref},
                "onsetDateTime": _stamp(start, tz),
                "recordedDate": _stamp(start + 600, tz),
            }
        )
        if not chronic:
            cond["abatementDateTime"] = _stamp(start + rng.randint(5, 21) * 86400, tz)
        out.append((cid, cond))
    return out


# -- public entry points -----------------------------------------------------------------------


def generate(
    patients: int = 100,
    seed: int = 42,
    *,
    organizations: int = 10,
    practitioners: int = 20,
) -> Iterator[Resource]:
    """FHIR R4 resources with ids, in dependency order: Organizations, Practitioners, the
    LOINC fragment, then per patient its Patient, Encounters, Observations and Conditions."""
    yield from shared_resources(seed, organizations=organizations, practitioners=practitioners)
    for number in range(1, patients + 1):
        yield from patient_resources(
            number, seed, organizations=organizations, practitioners=practitioners
        )


def full_url(seed: int, rtype: str, rid: str) -> str:
    """The stable ``urn:uuid:`` fullUrl of a generated resource in :func:`generate_bundles`."""
    return f"urn:uuid:{uuid.uuid5(_UUID_NAMESPACE, f'{seed}/{rtype}/{rid}')}"


def generate_bundles(
    patients: int = 100,
    seed: int = 42,
    *,
    organizations: int = 10,
    practitioners: int = 20,
) -> Iterator[Resource]:
    """A ``batch`` Bundle PUTting the Organizations and Practitioners (with ids), then one
    ``transaction`` Bundle per patient: POST entries without ids, ``urn:uuid:`` fullUrls, and
    references between the entries by those fullUrls.

    The resources are those of :func:`generate` for the same arguments, less the ids of the
    per-patient ones and with their references to each other as ``urn:uuid:``.
    """
    shared = shared_resources(seed, organizations=organizations, practitioners=practitioners)
    yield {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            {
                "resource": r,
                "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"},
            }
            for r in shared
        ],
    }

    def ref(rtype: str, rid: str) -> str:
        return full_url(seed, rtype, rid)

    for number in range(1, patients + 1):
        entries = [
            {
                "fullUrl": ref(r["resourceType"], rid),
                "resource": r,
                "request": {"method": "POST", "url": r["resourceType"]},
            }
            for rid, r in _patient(number, seed, organizations, practitioners, ref, False)
        ]
        yield {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def count_by_type(
    patients: int = 100,
    seed: int = 42,
    *,
    organizations: int = 10,
    practitioners: int = 20,
) -> dict[str, int]:
    """How many resources of each type :func:`generate` yields for these arguments."""
    counts = Counter(
        r["resourceType"]
        for r in generate(patients, seed, organizations=organizations, practitioners=practitioners)
    )
    return dict(sorted(counts.items()))


if (
    __name__ == "__main__"
):  # pragma: no cover - a quick look: python -m helios_persistence.generator
    import json
    import sys

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    for resource in generate(n):
        print(json.dumps(resource, ensure_ascii=False))
