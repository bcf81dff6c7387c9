"""The canonical query string: forms the renderer chooses, escaping, and what has none."""

from __future__ import annotations

from urllib.parse import unquote

import pytest

import helios_persistence as hp
from helios_persistence import ir
from helios_persistence.parsing.render import Unrenderable, render


@pytest.mark.parametrize(
    ("query", "canonical"),
    [
        # equality prefixes are left out; a type modifier goes into the reference
        ("Patient?birthdate=eq2020", "Patient?birthdate=2020"),
        ("Observation?subject:Patient=1", "Observation?subject=Patient/1"),
        # chains always name their type
        ("Observation?patient.name=x", "Observation?patient:Patient.name=x"),
        (
            "Observation?subject:Patient.organization.name=x",
            "Observation?subject:Patient.organization:Organization.name=x",
        ),
        # quantities always write both bars; literal references use _history for versions
        ("Observation?value-quantity=5.4|mg", "Observation?value-quantity=5.4||mg"),
        ("Observation?subject=Patient/1|2", "Observation?subject=Patient/1/_history/2"),
        ("Observation?subject:identifier=|v", "Observation?subject:identifier=v"),
        # what _filter lowers to a plain parameter is written as one
        ("Patient?_filter=name sw x", "Patient?name=x"),
        ("Patient?_filter=gender eq a or gender eq b", "Patient?gender=a,b"),
        ("Patient?_filter=not(gender eq a)", "Patient?gender:not=a"),
        ("Patient?_filter=gender ne a", "Patient?gender:not=a"),
        ("Patient?_filter=name pr false", "Patient?name:missing=true"),
        (
            "Patient?_filter=name eq x and gender eq y",
            "Patient?_filter=name%20eq%20%22x%22&gender=y",
        ),
        # _has:List:item:_id is _list; repeated includes keep their order
        ("Patient?_has:List:item:_id=a,b", "Patient?_list=a,b"),
        (
            "Patient?_revinclude=Observation:subject,Encounter:subject&_include=*",
            "Patient?_revinclude=Observation:subject&_revinclude=Encounter:subject"
            "&_include=Patient:*",
        ),
        (
            "Patient?_include:recurse=Patient:organization",
            "Patient?_include:iterate=Patient:organization",
        ),
        # result parameters come after the predicates, in a fixed order
        (
            "Patient?_count=5&_sort=name&name=x&_total=accurate&_elements=id",
            "Patient?name=x&_sort=name&_count=5&_total=accurate&_elements=id",
        ),
        ("?_lastUpdated=gt2020&_type=Patient", "?_lastUpdated=gt2020&_type=Patient"),
        ("Patient", "Patient?"),
    ],
)
def test_canonical_form(query: str, canonical: str) -> None:
    assert render(hp.parse(query)) == canonical
    assert hp.parse(canonical) == hp.parse(query)


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("a,b", "a\\,b"),
        ("a|b", "a\\|b"),
        ("a$b", "a\\$b"),
        ("a\\b", "a\\\\b"),
        ("a&b", "a%26b"),
        ("a=b", "a%3Db"),
        ("100%", "100%25"),
        ("a#b", "a%23b"),
        ("a+b", "a%2Bb"),  # a form decoder would read a bare + as a space
        ("a b", "a%20b"),
        ("José", "Jos%C3%A9"),
        ("x?y", "x%3Fy"),
        ("%2C", "%252C"),
        ("O'Brien (Jr.)", "O'Brien%20(Jr.)"),
    ],
)
def test_values_are_escaped_then_percent_encoded(value: str, written: str) -> None:
    query = ir.Query("Patient", ir.StringMatch("name", ir.StringOp.STARTS, value))
    text = render(query)
    assert text == f"Patient?name={written}"
    assert hp.parse(text) == query


def test_dates_keep_their_offset() -> None:
    text = render(hp.parse("Patient?birthdate=ge2020-01-01T00:00:00%2B01:00"))
    assert text == "Patient?birthdate=ge2020-01-01T00:00:00%2B01:00"
    assert hp.parse("Patient?birthdate=ge2020-01-01T00:00:00+01:00") == hp.parse(text)


def test_filter_values_are_quoted_when_needed() -> None:
    query = hp.parse('Patient?_filter=name eq "a \\"quoted\\" \\\\ word" or gender eq male')
    text = render(query)
    assert text.startswith("Patient?_filter=")
    assert unquote(text) == 'Patient?_filter=name eq "a \\"quoted\\" \\\\ word" or gender eq male'
    assert hp.parse(text) == query


def test_cursor_renders_for_the_next_page() -> None:
    """The search executor renders next-page links with a keyset cursor."""
    query = ir.Query("Patient", count=10, cursor="WyIyMDIwIl0")
    assert render(query) == "Patient?_count=10&_cursor=WyIyMDIwIl0"
    assert hp.parse(render(query)) == query


def test_empty_string_values_fall_back_to_filter() -> None:
    """``name=`` is ignored by the parser, so an empty string match needs _filter."""
    query = ir.Query("Patient", ir.StringMatch("name", ir.StringOp.STARTS, ""))
    assert render(query) == "Patient?_filter=name%20sw%20%22%22"
    assert hp.parse(render(query)) == query


N = ir.StringMatch("name", ir.StringOp.STARTS, "x")
G = ir.TokenMatch("gender", ir.TokenOp.EQ, None, "male")


@pytest.mark.parametrize(
    ("predicate", "reason"),
    [
        # _filter has no :exact, :text, :of-type, :identifier, uri :above
        (ir.Or((ir.StringMatch("name", ir.StringOp.EXACT, "x"), G)), "exact"),
        (ir.Not(ir.TokenMatch("gender", ir.TokenOp.TEXT, None, None, "m")), ":text"),
        (ir.Or((ir.TokenMatch("identifier", ir.TokenOp.OF_TYPE, "s", "c", "v"), N)), ":of-type"),
        (
            ir.Not(ir.ReferenceMatch("organization", ir.ReferenceOp.IDENTIFIER, None, "1")),
            ":identifier",
        ),
        (ir.Not(ir.UriMatch("_profile", ir.UriOp.ABOVE, "http://x")), ":above"),
        # no _has, composites or full text inside _filter
        (
            ir.Or(
                (
                    ir.Has(
                        "Observation", "subject", ir.TokenMatch("code", ir.TokenOp.EQ, None, "x")
                    ),
                    N,
                )
            ),
            "Has",
        ),
        (ir.Not(ir.Text(ir.TextKind.NARRATIVE, "x")), "Text"),
        # a "|" cannot be written inside a _filter token part
        (ir.Or((ir.TokenMatch("gender", ir.TokenOp.EQ, None, "a|b"), N)), "'|'"),
        # a chain _filter cannot type: the next parameter does not imply Patient
        (ir.Not(ir.Chain("general-practitioner", ("Practitioner",), N)), "general-practitioner"),
        # nested And/Or are flattened by _filter
        (ir.Or((ir.Or((N, G)), N)), "nested"),
        # :text-advanced without a parameter, and a reference "id" that reads as a URL
        (ir.Text(ir.TextKind.ADVANCED, "x"), "text-advanced"),
        (ir.ReferenceMatch("organization", ir.ReferenceOp.EQ, None, "a/b"), "a/b"),
        (ir.ReferenceMatch("organization", ir.ReferenceOp.EQ, None, None, "not-a-url"), "URL"),
    ],
)
def test_ir_without_a_query_string_form_is_unrenderable(
    predicate: ir.Predicate, reason: str
) -> None:
    with pytest.raises(Unrenderable, match=reason):
        render(ir.Query("Patient", predicate))


def test_unrenderable_is_a_value_error_and_system_searches_have_no_filter() -> None:
    assert issubclass(Unrenderable, ValueError)
    with pytest.raises(Unrenderable, match="needs _filter"):
        render(ir.Query(None, ir.Or((ir.TokenMatch("_id", ir.TokenOp.EQ, None, "1"),
                                     ir.UriMatch("_profile", ir.UriOp.EQ, "x")))))  # fmt: skip
    with pytest.raises(Unrenderable, match="_type"):
        render(ir.Query("Patient", types=("Patient",)))
