"""Bad queries: each gives an InvalidSearch with a readable message, the parameter as written,
the 0-based position in the query string as given, and a FHIR OperationOutcome."""

from __future__ import annotations

import pytest

import helios_persistence as hp
from helios_persistence.errors import InvalidSearch

# (query, position, parameter, issue code, part of the message)
ERRORS = [
    ("Pat!ent?name=x", 3, None, "invalid", "unexpected character '!' in the resource"),
    ("Patient/1?name=x", 7, None, "invalid", "unexpected character '/' in the resource"),
    ("Foo?name=x", 0, None, "invalid", "unknown resource type 'Foo'"),
    ("Patient?foo=x", 8, "foo", "invalid", "unknown search parameter 'foo' for Patie"),
    ("Patient?=x", 8, None, "invalid", "a parameter has no name"),
    ("Patient?name", 8, "name", "invalid", "the parameter has no '=value'"),
    ("Patient?name&gender=male", 12, "name", "invalid", "the parameter has no '=value'"),
    ("Patient?namé=x", 11, "namé", "invalid", "unexpected character 'é' in the paramete"),
    (
        "Patient?name:exact:foo=x",
        18,
        "name:exact:foo",
        "invalid",
        "unexpected character ':' in the paramete",
    ),
    ("Patient?name=a\\", 14, "name", "invalid", "a value ends with a lone backslash (writ"),
    ("Patient?name=a\\nb", 14, "name", "invalid", "invalid escape '\\n': only \\, \\| \\$ and \\"),
    ("Patient?name=%FF", 13, "name", "invalid", "a percent-escape in the query is not val"),
    ("Patient?name=%E2%82", 13, "name", "invalid", "a percent-escape in the query is not val"),
    ("Patient?name%3Dx=y", 12, "name", "invalid", "a parameter name cannot contain '=' (%3D"),
    ("Patient?name=a%00b", 14, None, "invalid", "the query contains a NUL character (%00)"),
    ("Patient?name:foo=x", 8, "name:foo", "invalid", "modifier :foo cannot be used on string p"),
    ("Patient?name:not=x", 8, "name:not", "invalid", "modifier :not cannot be used on string p"),
    (
        "Patient?birthdate:exact=2020",
        8,
        "birthdate:exact",
        "invalid",
        "modifier :exact cannot be used on date p",
    ),
    (
        "Patient?gender:contains=m",
        8,
        "gender:contains",
        "not-supported",
        "modifier :contains cannot be used on tok",
    ),
    (
        "Patient?link:iterate=x",
        8,
        "link:iterate",
        "not-supported",
        "modifier :iterate cannot be used on refe",
    ),
    (
        "Patient?name:Patient=x",
        8,
        "name:Patient",
        "invalid",
        "a type modifier :Patient only applies to",
    ),
    (
        "Patient?general-practitioner:Foo=1",
        8,
        "general-practitioner:Foo",
        "invalid",
        "unknown resource type 'Foo'",
    ),
    ("Patient?_id:text=x", 8, "_id:text", "invalid", "modifier :text cannot be used on _id"),
    (
        "Location?near=1|2|3|km",
        9,
        "near",
        "not-supported",
        "special parameter 'near' is not supporte",
    ),
    ("Patient?_query=x", 8, "_query", "not-supported", "token parameter '_query' is not supporte"),
    ("Patient?name:missing=maybe", 21, "name:missing", "invalid", ":missing takes true or false"),
    (
        "Patient?birthdate=2020-13",
        18,
        "birthdate",
        "invalid",
        "bad value for 'birthdate': '2020-13' is ",
    ),
    (
        "Patient?birthdate=ge2020-01-01T25:00",
        18,
        "birthdate",
        "invalid",
        "bad value for 'birthdate': '2020-01-01T2",
    ),
    (
        "Patient?birthdate=2020-01-01T10:00+15:00",
        18,
        "birthdate",
        "invalid",
        "bad value for 'birthdate': '2020-01-01T1",
    ),
    (
        "Patient?birthdate=0001-01-01T00:00%2B01:00",
        18,
        "birthdate",
        "invalid",
        "bad value for 'birthdate': '0001-01-01T0",
    ),
    (
        "Patient?birthdate=tomorrow",
        18,
        "birthdate",
        "invalid",
        "bad value for 'birthdate': 'tomorrow' is",
    ),
    (
        "RiskAssessment?probability=abc",
        27,
        "probability",
        "invalid",
        "bad value for 'probability': 'abc' is no",
    ),
    (
        "RiskAssessment?probability=1e-999999999",
        27,
        "probability",
        "invalid",
        "bad value for 'probability': '1e-9999999",
    ),
    (
        "Observation?value-quantity=5.4|a|b|c",
        27,
        "value-quantity",
        "invalid",
        "bad value for 'value-quantity': a quanti",
    ),
    ("Observation?code=|", 17, "code", "invalid", "bad value for 'code': a token needs a sy"),
    ("Observation?code=a|b|c", 17, "code", "invalid", "bad value for 'code': a token is [system"),
    ("Observation?code=a,", 17, "code", "invalid", "bad value for 'code': empty token"),
    (
        "Observation?code:above=a|b|c",
        23,
        "code:above",
        "invalid",
        "bad value for 'code': :above takes [syst",
    ),
    (
        "Observation?code:below=s|",
        23,
        "code:below",
        "invalid",
        "bad value for 'code': :below needs a cod",
    ),
    (
        "Patient?identifier:of-type=a|b",
        27,
        "identifier:of-type",
        "invalid",
        "bad value for 'identifier': :of-type nee",
    ),
    (
        "Observation?subject=a/b/c",
        20,
        "subject",
        "invalid",
        "bad value for 'subject': 'a/b/c' is not ",
    ),
    (
        "Observation?subject=Patient/",
        20,
        "subject",
        "invalid",
        "bad value for 'subject': 'Patient/' is n",
    ),
    (
        "Observation?subject:Patient=Group/1",
        28,
        "subject:Patient",
        "invalid",
        "bad value for 'subject': 'Group/1' does ",
    ),
    (
        "Observation?subject:identifier=a|b|c",
        31,
        "subject:identifier",
        "invalid",
        "bad value for 'subject': :identifier tak",
    ),
    (
        "Observation?code-value-quantity=a$gt5$x",
        32,
        "code-value-quantity",
        "invalid",
        "bad value for 'code-value-quantity': com",
    ),
    (
        "Observation?code-value-quantity=a",
        32,
        "code-value-quantity",
        "invalid",
        "bad value for 'code-value-quantity': com",
    ),
    (
        "Patient?name.given=x",
        8,
        "name.given",
        "invalid",
        "cannot chain through 'name': it is a str",
    ),
    (  # a chain with no type searches every target type that has the parameter: none here
        "Observation?subject.vaccine-code=x",
        20,
        "subject.vaccine-code",
        "invalid",
        "no resource type that 'subject' can reference has a parameter 'vaccine-code'",
    ),
    (
        "Patient?general-practitioner:Patient.name=x",
        8,
        "general-practitioner:Patient.name",
        "invalid",
        "'general-practitioner' cannot reference ",
    ),
    (
        "Patient?organization.foo=x",
        21,
        "organization.foo",
        "invalid",
        "no resource type that 'organization' can",
    ),
    (
        "Observation?subject:Patient._has:Observation:subject:code=x",
        44,
        "subject:Patient._has:Observation:subject:code",
        "invalid",
        "unexpected character ':' in the paramete",
    ),
    (
        "Patient?_has:Observation=x",
        24,
        "_has:Observation",
        "invalid",
        "unexpected character '=' in the paramete",
    ),
    (
        "Patient?_has:Observation:code:code=x",
        8,
        "_has:Observation:code:code",
        "invalid",
        "Observation has no reference parameter '",
    ),
    (
        "Patient?_has:Foo:subject:code=x",
        8,
        "_has:Foo:subject:code",
        "invalid",
        "unknown resource type 'Foo'",
    ),
    (
        "?_has:Observation:subject:code=x",
        1,
        "_has:Observation:subject:code",
        "invalid",
        "_has needs a resource type",
    ),
    ("Patient?_text:exact=x", 8, "_text:exact", "invalid", "_text takes no modifier"),
    ("Patient?_list:foo=x", 8, "_list:foo", "invalid", "_list takes no modifier"),
    ("Patient?_sort=foo", 14, "_sort", "invalid", "cannot sort by 'foo'"),
    (
        "Patient?_sort=code-value-quantity",
        14,
        "_sort",
        "invalid",
        "cannot sort by 'code-value-quantity'",
    ),
    ("Patient?_count=abc", 15, "_count", "invalid", "_count must be a whole number ≥ 0, not '"),
    ("Patient?_count=-1", 15, "_count", "invalid", "_count must be a whole number ≥ 0, not '"),
    ("Patient?_count=²", 15, "_count", "invalid", "_count must be a whole number ≥ 0, not '"),
    ("Patient?_count=1001", 15, "_count", "invalid", "_count=1001 is over the limit of 1000"),
    ("Patient?_count=5,6", 15, "_count", "invalid", "_count must be a whole number ≥ 0, not '"),
    ("Patient?_offset=99999999999999999999", 16, "_offset", "invalid", "_offset is too large"),
    ("Patient?_count=10&_count=20", 18, "_count", "invalid", "_count given twice"),
    ("Patient?_count:x=10", 8, "_count:x", "invalid", "_count takes no modifier and cannot be c"),
    ("Patient?_sort.x=name", 14, "_sort.x", "invalid", "_sort takes no modifier and cannot be ch"),
    ("Patient?_summary=yes", 17, "_summary", "invalid", "_summary must be one of false, true, tex"),
    ("Patient?_total=some", 15, "_total", "invalid", "_total must be one of none, estimate, ac"),
    (
        "Patient?_contained=maybe",
        19,
        "_contained",
        "invalid",
        "_contained must be true, false or both",
    ),
    (
        "Patient?_containedType=container",
        8,
        "_containedType",
        "not-supported",
        "_containedType is not supported",
    ),
    (
        "Patient?_include=Patient",
        17,
        "_include",
        "invalid",
        "_include takes SourceType:parameter[:Tar",
    ),
    (
        "Patient?_include=Patient:name",
        17,
        "_include",
        "invalid",
        "Patient has no reference parameter 'name",
    ),
    (
        "Patient?_include=Patient:organization:Patient",
        17,
        "_include",
        "invalid",
        "Patient.organization cannot reference Pa",
    ),
    (
        "Patient?_include:foo=Patient:organization",
        8,
        "_include:foo",
        "invalid",
        "_include:foo: only :iterate is allowed",
    ),
    ("Patient?_include=Foo:bar", 17, "_include", "invalid", "unknown resource type 'Foo'"),
    ("Patient?_type=Patient", 8, "_type", "invalid", "_type is for system-level searches"),
    ("?_type=Foo", 7, "_type", "invalid", "unknown resource type 'Foo'"),
    ("Patient?_cursor=a,b", 16, "_cursor", "invalid", "_cursor takes one value"),
    ("?name=x", 1, "name", "invalid", "unknown search parameter 'name' for ever"),
    ("?_filter=name eq x", 9, "_filter", "invalid", "_filter needs a resource type"),
    ("Patient?_filter=", 16, "_filter", "invalid", "_filter is empty"),
    ("Patient?_filter=name eq", 21, "_filter", "invalid", "_filter syntax error near 'eq'"),
    ("Patient?_filter=name xx y", 21, "_filter", "invalid", "_filter syntax error near 'xx y'"),
    (
        "Patient?_filter=(name eq x",
        26,
        "_filter",
        "invalid",
        "_filter ends where more was expected",
    ),
    ("Patient?_filter=name eq x]", 25, "_filter", "invalid", "_filter syntax error near ']'"),
    (
        "Patient?_filter=foo eq x",
        16,
        "_filter",
        "invalid",
        "unknown search parameter 'foo' for Patie",
    ),
    (
        "Patient?_filter=name po x",
        16,
        "_filter",
        "not-supported",
        "_filter operator 'po' is not supported",
    ),
    (
        "Patient?_filter=name re x",
        16,
        "_filter",
        "not-supported",
        "_filter operator 're' is not supported",
    ),
    ("Patient?_filter=name pr maybe", 16, "_filter", "invalid", "pr takes true or false"),
    ("Patient?_filter=name in x", 16, "_filter", "invalid", "in applies to token parameters only"),
    (
        "Patient?_filter=name gt x",
        16,
        "_filter",
        "invalid",
        "bad value for 'name': operator 'gt' does",
    ),
    (
        "Patient?_filter=birthdate co 2020",
        16,
        "_filter",
        "invalid",
        "bad value for 'birthdate': operator 'co'",
    ),
    (
        "Patient?_filter=birthdate eq yesterday",
        16,
        "_filter",
        "invalid",
        "bad value for 'birthdate': 'eqyesterday'",
    ),
    (
        "Patient?_filter=_id gt 1",
        16,
        "_filter",
        "invalid",
        "bad value for '_id': _id supports eq and",
    ),
    (
        "Patient?_filter=_text eq x",
        16,
        "_filter",
        "not-supported",
        "_filter cannot search '_text' (use the _",
    ),
    (
        "Patient?_filter=general-practitioner:Practitioner.name eq x",
        36,
        "_filter",
        "invalid",
        "_filter syntax error near ':Practitioner",
    ),
    (
        "Patient?_filter=general-practitioner.vaccine-code eq x",
        37,
        "_filter",
        "invalid",
        "no resource type that 'general-practitioner' can reference",
    ),
    (
        "Patient?_filter=name.given eq x",
        16,
        "_filter",
        "not-supported",
        "_filter: 'name' is a string parameter; o",
    ),
    (
        "Patient?_filter=organization[name eq x]",
        39,
        "_filter",
        "invalid",
        "_filter ends where more was expected",
    ),
    (
        "Observation?_filter=code-value-quantity eq x",
        20,
        "_filter",
        "invalid",
        "bad value for 'code-value-quantity': com",
    ),
    (
        "Observation?_filter=patient.organization.partof.partof.partof.name eq x",
        55,
        "_filter",
        "invalid",
        "chain deeper than 4 links",
    ),
]


@pytest.mark.parametrize(("query", "position", "parameter", "code", "message"), ERRORS)
def test_error(query: str, position: int, parameter: str | None, code: str, message: str) -> None:
    with pytest.raises(InvalidSearch) as info:
        hp.parse(query)
    error = info.value
    assert message in error.message
    assert error.position == position
    assert error.parameter == parameter
    assert error.issue_code == code
    assert 0 <= error.position <= len(query)
    outcome = error.outcome
    assert outcome["resourceType"] == "OperationOutcome"
    (issue,) = outcome["issue"]
    assert issue["severity"] == "error"
    assert issue["code"] == code
    assert issue["diagnostics"] == error.message
    if parameter is not None:
        assert issue["expression"] == [parameter]
    assert error.http_status == 400
    assert f"position {position}" in str(error)


@pytest.mark.parametrize(
    ("query", "points_at"),
    [
        ("Patient?name=x&birthdate=2020-13", "2020-13"),
        ("Patient?name=x&foo=1", "foo=1"),
        ("Patient?gender=male&name:foo=x", "name:foo"),
        ("Observation?subject:Patient.name=x&subject.vaccine-code=y", "vaccine-code=y"),
        ("Patient?_filter=name eq x and foo eq y", "foo eq y"),
        ("Patient?name=x&_count=abc", "abc"),
        ("Pat ient", " ient"),  # a type alone, no "?"
        ("1Patient", "1Patient"),
    ],
)
def test_position_points_at_the_problem(query: str, points_at: str) -> None:
    with pytest.raises(InvalidSearch) as info:
        hp.parse(query)
    assert info.value.position is not None
    assert query[info.value.position :].startswith(points_at)


@pytest.mark.parametrize(
    ("query", "points_at"),
    [
        # positions count in the query as given, percent-escapes and all
        ("Patient?name=Jos%C3%A9&birthdate=%32020-13", "%32020-13"),
        ("Patient?name=%E2%82%AC&bad=1", "bad=1"),
        ("Patient?name=%E2%82%AC%E2%82%AC\\q", "\\q"),
        ("Patient?na%6De=a&x%3Dy=1", "%3Dy"),
        ("Patient?name=%FF", "%FF"),
        ("Patient?_filter=name%20eq%20%22%C3%A9%22%20and%20foo%20eq%20y", "foo%20eq"),
        ("_id=x&foo=1", "foo=1"),  # no "?": positions still count from the start
        ("_id=%41&foo=1", "foo=1"),
        ("Pat%20ient", "%20ient"),
        ("Pat%zzient", "%zzient"),  # not an escape: left as it is
    ],
)
def test_position_maps_back_through_percent_escapes(query: str, points_at: str) -> None:
    with pytest.raises(InvalidSearch) as info:
        hp.parse(query)
    assert info.value.position is not None
    assert query[info.value.position :].startswith(points_at)


def test_not_supported_is_not_invalid() -> None:
    """Valid FHIR the library cannot run is ``not-supported``; bad input is ``invalid``."""
    for query in ["Location?near=1|2|3|km", "Patient?_filter=name po x", "Patient?_query=x"]:
        with pytest.raises(InvalidSearch) as info:
            hp.parse(query)
        assert info.value.outcome["issue"][0]["code"] == "not-supported"


# -- strict and lenient ------------------------------------------------------------------------


def test_strict_is_the_default() -> None:
    with pytest.raises(InvalidSearch, match="unknown search parameter 'foo'"):
        hp.parse("Patient?foo=1&name=x")


def test_lenient_ignores_unknown_parameters_and_lists_them() -> None:
    result = hp.parse_lenient(
        "Patient?foo=1&name=x&bar:exact=2&organization.nope=3&_has:Observation:subject:zz=4"
    )
    assert isinstance(result, hp.ParseResult)
    assert str(result.query) == '(Query Patient (StringMatch name starts value="x"))'
    assert result.ignored == (
        "foo",
        "bar:exact",
        "organization.nope",
        "_has:Observation:subject:zz",
    )
    assert "ignored=" in repr(result)


def test_lenient_with_nothing_to_ignore() -> None:
    result = hp.parse_lenient("Patient?name=x")
    assert result.ignored == ()
    assert result.query == hp.parse("Patient?name=x")


def test_lenient_still_rejects_bad_values_and_syntax() -> None:
    """Lenient handling is about unknown parameters, not about broken ones."""
    for query in ["Patient?birthdate=2020-13", "Patient?name:foo=x", "Pat!ent", "Patient?name"]:
        with pytest.raises(InvalidSearch):
            hp.parse_lenient(query)
