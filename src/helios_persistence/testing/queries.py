"""Hypothesis strategies for FHIR search strings over a generated world (see :mod:`.resources`).

Queries are FHIR query *strings* (so the parser is exercised too) over the whole IR: every
parameter type with its modifiers and prefixes, OR lists, repeated (AND) parameters, chains,
``_has``, ``:missing``, ``:not``, composites, ``_filter``, ``_text``/``_content``, ``_sort``
with several keys, ``_count``/``_offset``, ``_include``/``_revinclude`` (``:iterate``), and
searches across types (``_type``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from hypothesis import strategies as st

from helios_persistence.testing.resources import (
    CATEGORY,
    CITIES,
    FAMILIES,
    GIVENS,
    LOINC,
    ORG_NAMES,
    PREFIXES,
    SEARCH_NUMBERS,
    SNOMED,
    UCUM,
    UNITS,
    V2_0203,
    WORDS,
    fhir_dates,
)


# -- queries ------------------------------------------------------------------------------------
def q(text: str) -> str:
    """Percent-encode a search value (keeping the characters FHIR gives meaning to)."""
    return quote(text, safe="|$,:/*-.'_")


def _fold_variant(draw: Any, text: str) -> str:
    """``text`` or a prefix of it, in another case."""
    cut = draw(st.integers(1, len(text)))
    part = text[:cut]
    return draw(st.sampled_from([part, part.lower(), part.upper()]))


@st.composite
def string_tests(draw: Any, code: str, vocab: list[str]) -> str:
    modifier = draw(st.sampled_from(["", "", ":exact", ":contains", ":missing"]))
    if modifier == ":missing":
        return f"{code}:missing={draw(st.sampled_from(['true', 'false']))}"
    values = []
    for _ in range(draw(st.integers(1, 2))):
        word = draw(st.sampled_from(vocab))
        if modifier == ":exact":
            values.append(draw(st.sampled_from([word, word.lower()])))
        elif modifier == ":contains":
            start = draw(st.integers(0, len(word) - 1))
            values.append(_fold_variant(draw, word[start:]))
        else:
            values.append(_fold_variant(draw, word))
    return f"{code}{modifier}=" + ",".join(q(v.replace(",", "")) for v in values)


@st.composite
def token_tests(draw: Any, code: str, values: list[str], text: list[str] | None = None) -> str:
    options = ["", "", ":not", ":missing"] + ([":text"] if text else [])
    modifier = draw(st.sampled_from(options))
    if modifier == ":missing":
        return f"{code}:missing={draw(st.sampled_from(['true', 'false']))}"
    if modifier == ":text":
        return f"{code}:text=" + q(_fold_variant(draw, draw(st.sampled_from(text or ["x"]))))
    chosen = draw(st.lists(st.sampled_from(values), min_size=1, max_size=2, unique=True))
    return f"{code}{modifier}=" + ",".join(q(v) for v in chosen)


@st.composite
def date_tests(draw: Any, code: str) -> str:
    if draw(st.integers(0, 6)) == 0:
        return f"{code}:missing={draw(st.sampled_from(['true', 'false']))}"
    values = [
        draw(st.sampled_from(PREFIXES)) + draw(fhir_dates()) for _ in range(draw(st.integers(1, 2)))
    ]
    return f"{code}=" + ",".join(q(v) for v in values)


@st.composite
def number_tests(draw: Any, code: str) -> str:
    if draw(st.integers(0, 6)) == 0:
        return f"{code}:missing={draw(st.sampled_from(['true', 'false']))}"
    value = draw(st.sampled_from(PREFIXES)) + draw(
        st.sampled_from(["0.1", "0.25", "0.9", "1e2", "99.5", "100", "100.0", "100.5"])
    )
    return f"{code}={value}"


@st.composite
def quantity_values(draw: Any) -> str:
    number = draw(st.sampled_from(PREFIXES)) + draw(st.sampled_from(SEARCH_NUMBERS))
    unit = draw(st.sampled_from(["none", "code", "ucum", "other"]))
    if unit == "none":
        return number
    system, code, _ = draw(st.sampled_from([u for u in UNITS if u[1]]))
    if unit == "code":
        return f"{number}||{code}"
    if unit == "ucum":
        return f"{number}|{UCUM}|{code}"
    return f"{number}|{system}|{code}"


@st.composite
def quantity_tests(draw: Any, code: str) -> str:
    if draw(st.integers(0, 6)) == 0:
        return f"{code}:missing={draw(st.sampled_from(['true', 'false']))}"
    values = draw(st.lists(quantity_values(), min_size=1, max_size=2))
    return f"{code}=" + ",".join(q(v) for v in values)


@st.composite
def reference_tests(draw: Any, code: str, types: list[str], ids: dict[str, list[str]]) -> str:
    form = draw(
        st.sampled_from(["typed", "typed", "id", "modifier", "missing", "identifier", "versioned"])
    )
    rtype = draw(st.sampled_from(types))
    rid = draw(st.sampled_from([*ids.get(rtype, []), "gone"]))
    if form == "missing":
        return f"{code}:missing={draw(st.sampled_from(['true', 'false']))}"
    if form == "identifier":
        return f"{code}:identifier=" + q(draw(st.sampled_from(["urn:mrn|MRN-1", "MRN-2"])))
    if form == "id":
        return f"{code}={q(rid)}"
    if form == "modifier":
        return f"{code}:{rtype}={q(rid)}"
    if form == "versioned":
        return f"{code}={q(f'{rtype}/{rid}/_history/1')}"
    return f"{code}={q(f'{rtype}/{rid}')}"


_FAMILY_WORDS = FAMILIES + GIVENS


def _ids(pools_ids: dict[str, list[str]]) -> dict[str, list[str]]:
    return pools_ids


def param_tests(rtype: str, ids: dict[str, list[str]], depth: int = 0) -> st.SearchStrategy[str]:
    """One ``name=value`` test on a parameter of ``rtype`` (chains and _has up to ``depth``)."""
    s = string_tests
    options: list[st.SearchStrategy[str]] = [
        st.builds(lambda v: f"_id={v}", st.sampled_from([*ids.get(rtype, ["x"]), "nope"])),
        st.builds(
            lambda p, d: f"_lastUpdated={p}{d}",
            st.sampled_from(["gt", "lt", "ge"]),
            st.sampled_from(["2000", "2100"]),
        ),
    ]
    if rtype == "Patient":
        options += [
            s("name", _FAMILY_WORDS),
            s("family", FAMILIES),
            s("given", GIVENS),
            s("address-city", CITIES),
            date_tests("birthdate"),
            token_tests("gender", ["male", "female", "other", "unknown", "FEMALE"]),
            token_tests(
                "identifier",
                ["urn:mrn|MRN-1", "MRN-2", "urn:mrn|", "50%_x", "|MRN-1"],
                ["medical", "record number"],
            ),
            token_tests("active", ["true", "false"]),
            token_tests("telecom", ["555-0100"]),
            reference_tests("general-practitioner", ["Practitioner", "Organization"], ids),
            reference_tests("organization", ["Organization"], ids),
            st.just(f"identifier:of-type={q(V2_0203 + '|MR|MRN-1')}"),
        ]
    elif rtype == "Practitioner":
        options += [
            s("name", FAMILIES),
            token_tests("gender", ["male", "female"]),
            token_tests("identifier", ["urn:npi|1", "2"]),
        ]
    elif rtype == "Organization":
        options += [
            s("name", ORG_NAMES),
            s("address-city", CITIES),
            reference_tests("partof", ["Organization"], ids),
        ]
    elif rtype == "Encounter":
        options += [
            token_tests("status", ["finished", "in-progress", "planned"]),
            token_tests("class", ["AMB", "IMP"]),
            date_tests("date"),
            quantity_tests("length"),
            reference_tests("subject", ["Patient"], ids),
            reference_tests("participant", ["Practitioner"], ids),
            reference_tests("service-provider", ["Organization"], ids),
        ]
    elif rtype == "Condition":
        options += [
            token_tests(
                "code",
                [f"{SNOMED}|53741008", "44054006", f"{SNOMED}|"],
                ["coronary", "diabetes", "free"],
            ),
            token_tests("clinical-status", ["active", "resolved"]),
            date_tests("onset-date"),
            reference_tests("subject", ["Patient"], ids),
            reference_tests("encounter", ["Encounter"], ids),
        ]
    elif rtype == "Observation":
        options += [
            token_tests(
                "code",
                [
                    f"{LOINC}|8867-4",
                    "8867-4",
                    "|8867-4",
                    f"{LOINC}|",
                    f"{LOINC}|29463-7",
                    "local-1",
                ],
                ["heart", "rate", "glucose", "blood", "free", "[mass"],
            ),
            token_tests("status", ["final", "preliminary", "amended"]),
            token_tests("category", ["vital-signs", f"{CATEGORY}|laboratory"]),
            date_tests("date"),
            quantity_tests("value-quantity"),
            quantity_tests("component-value-quantity"),
            s("value-string", ["100% sure", "sure_thing", "Müller", "sure"]),
            reference_tests("subject", ["Patient"], ids),
            reference_tests("patient", ["Patient"], ids),
            reference_tests("encounter", ["Encounter"], ids),
            reference_tests("performer", ["Practitioner", "Organization"], ids),
            composite_tests(),
            st.just(f"identifier:of-type={q(V2_0203 + '|FILL|OBS-1')}"),
        ]
    elif rtype == "RiskAssessment":
        options += [number_tests("probability"), reference_tests("subject", ["Patient"], ids)]
    if depth < 2:
        options += _links(rtype, ids, depth)
    return st.one_of(*options)


@st.composite
def composite_tests(draw: Any) -> str:
    name = draw(st.sampled_from(["component-code-value-quantity", "combo-code-value-quantity"]))
    code = draw(st.sampled_from(["8480-6", "8462-4", f"{LOINC}|8480-6"]))
    value = draw(st.sampled_from(PREFIXES)) + draw(st.sampled_from(["80", "95", "120", "150"]))
    unit = draw(st.sampled_from(["", f"|{UCUM}|mm[Hg]", f"|{UCUM}|kPa"]))
    if unit.endswith("kPa"):
        value = value.rstrip("0123456789") + draw(st.sampled_from(["16", "20"]))
    return f"{name}={q(code)}${q(value + unit)}"


#: (source type, reference parameter, target type) for chains
_CHAINS = {
    "Observation": [("subject", "Patient"), ("patient", "Patient"), ("encounter", "Encounter"),
                    ("performer", "Practitioner"), ("performer", "Organization")],
    "Patient": [("general-practitioner", "Practitioner"), ("organization", "Organization")],
    "Encounter": [("subject", "Patient"), ("service-provider", "Organization")],
    "Condition": [("subject", "Patient"), ("encounter", "Encounter")],
    "Organization": [("partof", "Organization")],
    "RiskAssessment": [("subject", "Patient")],
}  # fmt: skip
#: (target type) -> [(source type, reference parameter)] for _has
_HAS = {
    "Patient": [("Observation", "subject"), ("Condition", "subject"), ("Encounter", "patient"),
                ("RiskAssessment", "subject")],
    "Practitioner": [("Observation", "performer"), ("Encounter", "practitioner")],
    "Organization": [("Patient", "organization"), ("Organization", "partof")],
    "Encounter": [("Observation", "encounter"), ("Condition", "encounter")],
}  # fmt: skip


def _links(rtype: str, ids: dict[str, list[str]], depth: int) -> list[st.SearchStrategy[str]]:
    out: list[st.SearchStrategy[str]] = []
    for param, target in _CHAINS.get(rtype, []):
        inner = param_tests(target, ids, depth + 1).filter(lambda t: not t.startswith("_has"))
        out.append(st.builds(lambda t, p=param, tt=target: f"{p}:{tt}.{t}", inner))
        # without a type: every target type of the reference that has the parameter
        out.append(st.builds(lambda t, p=param: f"{p}.{t}", inner))
    for source, param in _HAS.get(rtype, []):
        inner = param_tests(source, ids, depth + 1)
        out.append(st.builds(lambda t, s=source, p=param: f"_has:{s}:{p}:{t}", inner))
    return out


SORTABLE = {
    "Patient": ["name", "family", "given", "birthdate", "gender", "identifier", "address-city",
                "general-practitioner", "active"],
    "Observation": ["code", "date", "value-quantity", "status", "subject", "value-string"],
    "Encounter": ["date", "status", "length", "subject"],
    "Condition": ["onset-date", "code", "clinical-status"],
    "Organization": ["name", "partof"],
    "Practitioner": ["name", "gender"],
    "RiskAssessment": ["probability"],
}  # fmt: skip
INCLUDES = {
    "Observation": ["_include=Observation:subject", "_include=Observation:performer",
                    "_include=Observation:encounter", "_include=Observation:patient:Patient",
                    "_include=*", "_include:iterate=Patient:organization",
                    "_include=Patient:organization",
                    "_include:iterate=Organization:partof",
                    "_revinclude=Observation:has-member"],
    "Patient": ["_revinclude=Observation:subject", "_revinclude=Condition:patient",
                "_include=Patient:general-practitioner", "_include=Patient:organization",
                "_include:iterate=Organization:partof",
                "_revinclude:iterate=Encounter:subject", "_include:iterate=Encounter:participant"],
    "Organization": ["_include=Organization:partof", "_include:iterate=Organization:partof",
                     "_revinclude=Organization:partof", "_revinclude:iterate=Organization:partof",
                     "_revinclude=Patient:organization"],
    "Encounter": ["_include=Encounter:subject", "_revinclude=Condition:encounter",
                  "_include=Encounter:participant:Practitioner"],
    "Condition": ["_include=Condition:subject", "_include=Condition:encounter",
                  "_include:iterate=Encounter:service-provider"],
}  # fmt: skip
TEXT_PARAMS = {"Patient", "Observation", "Condition"}


@st.composite
def text_tests(draw: Any) -> str:
    param = draw(st.sampled_from(["_text", "_content"]))
    word = draw(st.sampled_from([*WORDS, "male", "female", "final", "smi"]))
    form = draw(st.sampled_from(["word", "word", "prefix", "or", "and", "not", "phrase"]))
    other = draw(st.sampled_from(WORDS))
    expr = {
        "word": word,
        "prefix": word[: max(1, len(word) // 2)] + "*",
        "or": f"{word} OR {other}",
        "and": f"{word} {other}",
        "not": f"{word} -{other}",
        "phrase": f'"{word} {other}"',
    }[form]
    return f"{param}={q(expr)}"


_FILTERS = {
    "Patient": ['name sw "{n}"', 'name eq "{n}"', 'name co "{n}"', 'name ew "{n}"',
                "gender eq female and birthdate lt 2020", "not(gender eq male)",
                "birthdate pr false", "gender ne male or name sw \"{n}\"",
                "identifier eq urn:mrn|MRN-1"],
    "Observation": ["value-quantity gt 70|http://unitsofmeasure.org|kg",
                    "status eq final and code eq http://loinc.org|8867-4",
                    'patient.name sw "{n}"', "date ge 2020-03 and date lt 2021",
                    "not(status eq final)", "code eq loinc|8867-4 or value-quantity lt 72|ucum|kg",
                    'subject.name sw "{n}"'],
}  # fmt: skip


@st.composite
def queries(draw: Any, ids: dict[str, list[str]], rtype: str | None = None) -> str:
    """A search string over the world whose ids are ``ids``."""
    present = [t for t in SORTABLE if ids.get(t)]
    rtype = rtype or draw(st.sampled_from(present or list(SORTABLE)))
    parts = draw(st.lists(param_tests(rtype, ids), max_size=2))
    if rtype in TEXT_PARAMS and draw(st.integers(0, 5)) == 0:
        parts.append(draw(text_tests()))
    if rtype in _FILTERS and draw(st.integers(0, 5)) == 0:
        template = draw(st.sampled_from(_FILTERS[rtype]))
        name = _fold_variant(draw, draw(st.sampled_from(FAMILIES)).replace('"', ""))
        parts.append("_filter=" + q(template.format(n=name)))
    if draw(st.booleans()):
        keys = draw(
            st.lists(
                st.sampled_from([*SORTABLE[rtype], "_id", "_lastUpdated"]),
                min_size=1,
                max_size=3,
                unique=True,
            )
        )
        parts.append("_sort=" + ",".join(draw(st.sampled_from(["", "-"])) + k for k in keys))
    if draw(st.integers(0, 3)) == 0:
        parts.append(f"_count={draw(st.integers(0, 4))}")
        if draw(st.booleans()):
            parts.append(f"_offset={draw(st.integers(0, 3))}")
    if rtype in INCLUDES and draw(st.integers(0, 2)) == 0:
        parts += draw(
            st.lists(st.sampled_from(INCLUDES[rtype]), min_size=1, max_size=2, unique=True)
        )
    if draw(st.integers(0, 4)) == 0:
        parts.append("_total=accurate")
    return f"{rtype}?" + "&".join(parts)


@st.composite
def system_queries(draw: Any, ids: dict[str, list[str]]) -> str:
    """A search across types: ``_type`` and the parameters every resource has."""
    parts = []
    types = draw(st.lists(st.sampled_from(list(SORTABLE)), max_size=3, unique=True))
    if types:
        parts.append("_type=" + ",".join(types))
    every = sorted({i for v in ids.values() for i in v})
    if draw(st.booleans()):
        chosen = draw(st.lists(st.sampled_from([*every, "nope"]), min_size=1, max_size=3))
        parts.append("_id=" + ",".join(chosen))
    if draw(st.booleans()):
        parts.append("_lastUpdated=" + draw(st.sampled_from(["gt2000", "lt2000", "ge2020"])))
    if draw(st.booleans()):
        parts.append(draw(text_tests()))
    if draw(st.booleans()):
        keys = draw(
            st.lists(st.sampled_from(["_id", "_lastUpdated"]), min_size=1, max_size=2, unique=True)
        )
        parts.append("_sort=" + ",".join(draw(st.sampled_from(["", "-"])) + k for k in keys))
    if draw(st.booleans()):
        parts.append(f"_count={draw(st.integers(1, 3))}")
    if draw(st.booleans()):
        parts.append(draw(st.sampled_from(["_include=*", "_total=accurate", "_summary=count"])))
    return "?" + "&".join(parts)
