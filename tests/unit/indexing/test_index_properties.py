"""Hypothesis properties of the index values."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from helios_persistence.errors import InvalidResource
from helios_persistence.fhir_values import fold, to_micros
from helios_persistence.indexing import (
    DateRow,
    NumberRow,
    ReferenceRow,
    ResourceIndex,
    StringRow,
    extract,
)
from helios_persistence.indexing.fhirpath import compile_fast, evaluate_slow
from helios_persistence.indexing.references import localize, parse_reference
from helios_persistence.registry import default_registry
from helios_persistence.ucum import convert

moments = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9998, 12, 30), timezones=st.just(UTC)
)
offsets = st.integers(min_value=-14 * 4, max_value=14 * 4).map(
    lambda q: timezone(timedelta(minutes=15 * q))
)


def _date_rows(text: str) -> list[DateRow]:
    return [r for r in extract({"resourceType": "Observation", "effectiveDateTime": text}).rows
            if r.param == "date"]  # fmt: skip


@settings(deadline=None)  # the first call may load the UCUM tables
@given(moments, offsets, st.sampled_from(["year", "month", "day", "second", "milli"]))
def test_a_date_range_contains_its_instants(moment: datetime, tz: timezone, precision: str) -> None:
    local = moment.astimezone(tz)
    assume(1 <= local.year <= 9999)
    text = {
        "year": f"{moment.year:04d}",
        "month": f"{moment.year:04d}-{moment.month:02d}",
        "day": moment.strftime("%Y-%m-%d").rjust(10, "0"),
        "second": local.isoformat(timespec="seconds").rjust(25, "0"),
        "milli": local.isoformat(timespec="milliseconds").rjust(29, "0"),
    }[precision]
    (row,) = _date_rows(text)
    # truncated to the written precision, the instant lies in [low, high)
    truncated = {
        "year": moment.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0),
        "month": moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0),
        "day": moment.replace(hour=0, minute=0, second=0, microsecond=0),
        "second": moment.replace(microsecond=0),
        "milli": moment.replace(microsecond=moment.microsecond // 1000 * 1000),
    }[precision]
    assert row.low == to_micros(truncated)
    assert row.low <= to_micros(moment) < row.high


@settings(deadline=None)  # the first call may load the UCUM tables
@given(moments, moments)
def test_a_period_spans_its_start_and_end(a: datetime, b: datetime) -> None:
    start, end = min(a, b), max(a, b)
    encounter = {
        "resourceType": "Encounter",
        "period": {"start": start.strftime("%Y-%m-%d").rjust(10, "0"),
                   "end": end.isoformat(timespec="seconds").rjust(25, "0")},
    }  # fmt: skip
    (row,) = [r for r in extract(encounter).rows if r.param == "date"]
    assert row.low <= to_micros(start) and to_micros(end) < row.high


@settings(deadline=None)  # the first call may load the UCUM tables
@given(st.text())
def test_folding_is_idempotent(text: str) -> None:
    assert fold(fold(text)) == fold(text)


@settings(deadline=None)  # the first call may load the UCUM tables
@given(st.text(min_size=1).filter(lambda t: t.strip()))
def test_string_rows_are_the_folded_and_exact_forms(family: str) -> None:
    patient = {"resourceType": "Patient", "name": [{"family": family}]}
    (row,) = [r for r in extract(patient).rows if r.param == "family"]
    assert row == StringRow("family", fold(family), family)
    assert fold(row.norm) == row.norm


# values.parse_number computes in the default 28-digit Decimal context, so the bound of a
# number with more significant digits rounds onto the value itself (reported): stay below
@settings(deadline=None)  # the first call may load the UCUM tables
@given(
    st.integers(0, 6).flatmap(
        lambda places: st.decimals(
            min_value=Decimal("-1e18"), max_value=Decimal("1e18"), places=places
        )
    )
)
def test_a_number_range_contains_its_value_and_is_one_unit_wide(value: Decimal) -> None:
    risk = {"resourceType": "RiskAssessment", "prediction": [{"probabilityDecimal": value}]}
    (row,) = [r for r in extract(risk).rows if r.param == "probability"]
    assert isinstance(row, NumberRow)
    assert row.low <= row.value < row.high
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)
    assert row.high - row.low == Decimal(1).scaleb(exponent)


@settings(deadline=None)  # the first call may load the UCUM tables
@given(st.decimals(min_value=Decimal("-1e9"), max_value=Decimal("1e9"), places=4))
def test_ucum_conversion_is_consistent_across_prefixes(value: Decimal) -> None:
    grams = convert(value, "mg")
    micrograms = convert(value * 1000, "ug")
    assert grams is not None and micrograms is not None
    assert grams[1] == micrograms[1] == "g"
    assert grams[0] == micrograms[0]


ids = st.from_regex(r"[A-Za-z0-9\-.]{1,64}", fullmatch=True)


@settings(deadline=None)  # the first call may load the UCUM tables
@given(st.sampled_from(["Patient", "Observation", "Group", "Encounter"]), ids, st.none() | ids)
def test_relative_references_parse_back(rtype: str, rid: str, version: str | None) -> None:
    text = f"{rtype}/{rid}" + (f"/_history/{version}" if version else "")
    parsed = parse_reference(text)
    assert (parsed.target_type, parsed.target_id, parsed.version, parsed.url) == (
        rtype, rid, version, None,
    )  # fmt: skip
    absolute = parse_reference(f"https://example.org/fhir/{text}")
    # another server's resource: typed, never one of ours
    assert (absolute.target_type, absolute.target_id) == (rtype, None)
    index = ResourceIndex(
        (ReferenceRow("subject", rtype, None, version, f"https://example.org/fhir/{text}"),), "", ""
    )
    (local,) = localize(index, "https://example.org/fhir").rows
    assert (local.target_type, local.target_id, local.version, local.url) == (
        rtype, rid, version, None,
    )  # fmt: skip
    assert localize(index, "https://elsewhere.org/fhir") is index


json_leaves = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=10), st.just([]), st.just({}), st.just([1, "x"]), st.just({"a": 1}),
)  # fmt: skip

_PATIENT = {
    "resourceType": "Patient",
    "meta": {"tag": [{"system": "s", "code": "c"}]},
    "identifier": [{"system": "http://x", "value": "1", "type": {"text": "t"}}],
    "name": [{"family": "F", "given": ["G"]}],
    "telecom": [{"system": "phone", "value": "1"}],
    "birthDate": "2000-01-01",
    "deceasedBoolean": False,
    "address": [{"city": "C"}],
    "managingOrganization": {"reference": "Organization/1"},
    "generalPractitioner": [{"identifier": {"value": "x"}}],
    "link": [{"other": {"reference": "Patient/2"}, "type": "seealso"}],
}


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for k, v in node.items():
            if k != "resourceType":
                out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


@settings(suppress_health_check=[HealthCheck.too_slow], max_examples=300, deadline=None)
@given(st.sampled_from(_paths(_PATIENT)), json_leaves)
def test_damaged_resources_index_or_are_rejected_cleanly(path: tuple[Any, ...], leaf: Any) -> None:
    """Whatever JSON value replaces any element, extract either works or raises
    InvalidResource: never another exception."""
    patient = json.loads(json.dumps(_PATIENT))
    node = patient
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = leaf
    try:
        extract(patient)
    except InvalidResource as exc:
        assert exc.message


# valid FHIR only: non-empty strings, at most one value[x] per element
texts = st.text(min_size=1, max_size=3).filter(str.strip)
codings = st.fixed_dictionaries(
    {}, optional={"system": st.sampled_from(["http://a", "http://b"]), "code": texts}
)
quantities = st.fixed_dictionaries(
    {"value": st.integers(-5, 5)}, optional={"code": st.sampled_from(["mg", "kg"])}
)
values = st.one_of(
    st.fixed_dictionaries({"valueQuantity": quantities}),
    st.fixed_dictionaries({"valueString": texts}),
    st.fixed_dictionaries({"valueCodeableConcept": st.fixed_dictionaries({"text": texts})}),
    st.fixed_dictionaries({"valueBoolean": st.booleans()}),
    st.just({}),
)
components = st.builds(
    lambda code, value: {"code": code, **value},
    st.fixed_dictionaries({"coding": st.lists(codings, max_size=2)}),
    values,
)
observations = st.builds(
    lambda base, value: {**base, **value},
    st.fixed_dictionaries(
        {"resourceType": st.just("Observation")},
        optional={
            "code": st.fixed_dictionaries({"coding": st.lists(codings, max_size=2)}),
            "subject": st.sampled_from(
                [{"reference": "Patient/1"}, {"reference": "Group/2"}, {"reference": "#c"},
                 {"type": "Patient", "identifier": {"value": "9"}}, {"display": "d"}]
            ),
            "contained": st.just([{"resourceType": "Patient", "id": "c"}]),
            "effectivePeriod": st.fixed_dictionaries({}, optional={"start": st.just("2020")}),
            "component": st.lists(components, max_size=3),
            "performer": st.lists(st.sampled_from([{"reference": "Practitioner/1"},
                                                   {"reference": "Patient/3"}]), max_size=3),
        },
    ),
    values,
)  # fmt: skip


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(observations)
def test_fast_path_equals_fhirpathpy_on_generated_observations(obs: dict[str, Any]) -> None:
    registry = default_registry()
    for param in registry.params_for("Observation"):
        if not param.expression:
            continue
        fast = compile_fast(param.expression, "Observation")
        assert fast is not None
        mine = sorted(json.dumps(v, sort_keys=True) for v, _ in fast.values(obs))
        slow = evaluate_slow(param.expression, obs, obs)
        theirs = sorted(json.dumps(v, sort_keys=True, default=int) for v in slow)
        assert sorted(set(mine)) == sorted(set(theirs)), param.expression
