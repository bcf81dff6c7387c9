"""Table-driven parser tests: ``cases.txt`` holds ``query ⟶ S-expression`` lines.

Every case must parse to exactly its S-expression; the canonical rendering of the result
must parse back to the same IR and render to itself again.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import helios_persistence as hp
from helios_persistence import ir
from helios_persistence.parsing.render import render

CASES_FILE = Path(__file__).with_name("cases.txt")
ARROW = " ⟶ "


def _cases() -> list[pytest.param]:
    cases = []
    for number, line in enumerate(CASES_FILE.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        query, arrow, expected = line.partition(ARROW)
        assert arrow, f"cases.txt:{number}: no '{ARROW.strip()}'"
        cases.append(pytest.param(query, expected, id=f"{number}:{query[:60]}"))
    return cases


CASES = _cases()


@pytest.mark.parametrize(("query", "expected"), CASES)
def test_parses_to_s_expression(query: str, expected: str) -> None:
    assert str(hp.parse(query)) == expected


@pytest.mark.parametrize(("query", "expected"), CASES)
def test_canonical_rendering_round_trips(query: str, expected: str) -> None:
    parsed = hp.parse(query)
    canonical = render(parsed)
    assert hp.parse(canonical) == parsed
    assert str(hp.parse(canonical)) == expected
    assert render(hp.parse(canonical)) == canonical


def test_the_cases_cover_the_syntax() -> None:
    """A guard against the fixture file losing coverage when it is edited."""
    text = CASES_FILE.read_text(encoding="utf-8")
    queries = "\n".join(line.partition(ARROW)[0] for line in text.splitlines())
    modifiers = [
        "exact", "contains", "text", "not", "missing", "above", "below", "in", "not-in",
        "of-type", "identifier", "iterate", "text-advanced", "Patient", "Practitioner",
    ]  # fmt: skip
    for modifier in modifiers:
        assert f":{modifier}=" in queries or f":{modifier}." in queries, modifier
    for prefix in ir.Prefix:
        assert f"={prefix.value}2" in queries or f"={prefix.value}1" in queries, prefix
    for op in [
        "eq",
        "ne",
        "co",
        "sw",
        "ew",
        "gt",
        "lt",
        "ge",
        "le",
        "ap",
        "sa",
        "eb",
        "pr",
        "in",
        "ni",
        "ss",
        "sb",
    ]:
        assert f" {op} " in queries, op
    for param in [
        "_sort", "_count", "_offset", "_total", "_summary", "_elements", "_include",
        "_revinclude", "_contained", "_type", "_id", "_lastUpdated", "_tag", "_profile",
        "_security", "_source", "_text", "_content", "_list", "_has", "_filter", "_cursor",
    ]:  # fmt: skip
        assert f"{param}" in queries, param
    for escape in ["\\,", "\\|", "\\$", "\\\\", "%2C", "%5C%2C", "%252C", "+"]:
        assert escape in queries, escape


def test_resource_type_argument() -> None:
    """``hp.parse(query, resource_type=...)`` is the same as ``Type?query``."""
    query = "code=http://loinc.org|8867-4&date=ge2020"
    assert hp.parse(query, resource_type="Observation") == hp.parse(f"Observation?{query}")
    assert hp.parse("Observation?" + query, resource_type="Observation") == hp.parse(
        "Observation?" + query
    )
    with pytest.raises(hp.errors.InvalidSearch, match="names Patient but Observation"):
        hp.parse("Patient?name=x", resource_type="Observation")


def test_parse_is_memoised_but_results_are_equal_values() -> None:
    query = "Patient?name=smith&birthdate=ge2000"
    first, second = hp.parse(query), hp.parse(query)
    assert first == second and hash(first) == hash(second)
    # the same pairs in a new combination give the same predicates
    combined = hp.parse("Patient?birthdate=ge2000&name=smith")
    assert isinstance(combined.where, ir.And) and isinstance(first.where, ir.And)
    assert set(combined.where.children) == set(first.where.children)


def test_quantity_converts_only_under_ucum() -> None:
    """Only a search naming the UCUM system carries a canonical form (issue 11): without a
    system (``||kg``, ``|kg``) or with another system the unit is compared as written."""
    ucum = hp.parse("Observation?value-quantity=70|http://unitsofmeasure.org|kg").where
    assert isinstance(ucum, ir.QuantityMatch)
    assert ucum.canonical_unit == "g" and ucum.canonical_value == 70000
    for query in (
        "Observation?value-quantity=70||kg",
        "Observation?value-quantity=70|kg",
        "Observation?value-quantity=70|http://example.org/units|kg",
    ):
        plain = hp.parse(query).where
        assert isinstance(plain, ir.QuantityMatch) and plain.code == "kg"
        assert plain.canonical_unit is None and plain.canonical_value is None, query
