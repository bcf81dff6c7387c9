"""Limits that protect the engines: exceeding one is an InvalidSearch, never a crash."""

from __future__ import annotations

import contextlib

import pytest

import helios_persistence as hp
from helios_persistence.errors import InvalidSearch

CHAIN = ["subject:Patient", "organization", "partof", "partof", "partof", "partof", "partof"]


def chain(hops: int) -> str:
    """``Observation?subject:Patient.organization.partof...name=x`` with ``hops`` hops."""
    return "Observation?" + ".".join([*CHAIN[:hops], "name"]) + "=x"


def test_chain_depth_default_is_four() -> None:
    assert hp.Limits().max_chain_depth == 4
    assert "(Chain partof" in str(hp.parse(chain(4)))
    with pytest.raises(InvalidSearch, match="chain deeper than 4 links") as info:
        hp.parse(chain(5))
    assert info.value.parameter is not None and info.value.parameter.startswith("subject:Patient")


@pytest.mark.parametrize("depth", [1, 2, 6, 8])
def test_chain_depth_is_configurable(depth: int) -> None:
    limits = hp.Limits(max_chain_depth=depth)
    hops = min(depth, len(CHAIN))
    assert hp.parse(chain(hops), limits=limits).where is not None
    if depth < len(CHAIN):
        with pytest.raises(InvalidSearch, match=f"chain deeper than {depth}"):
            hp.parse(chain(depth + 1), limits=limits)


@pytest.mark.parametrize("depth", [0, 9, -1])
def test_chain_depth_is_between_one_and_eight(depth: int) -> None:
    with pytest.raises(ValueError, match="between 1 and 8"):
        hp.Limits(max_chain_depth=depth)


def test_has_depth_counts_too() -> None:
    nested = "_has:Observation:subject:" + "_has:Observation:has-member:" * 3 + "code=x"
    assert hp.parse("Patient?" + nested).where is not None  # four levels
    deeper = "_has:Observation:subject:" + "_has:Observation:has-member:" * 4 + "code=x"
    with pytest.raises(InvalidSearch, match="_has nested deeper than 4"):
        hp.parse("Patient?" + deeper)
    assert hp.parse("Patient?" + deeper, limits=hp.Limits(max_chain_depth=5)).where is not None


def test_filter_chains_are_limited_too() -> None:
    deep = "Observation?_filter=patient.organization.partof.partof.partof.name eq x"
    with pytest.raises(InvalidSearch, match="chain deeper than 4"):
        hp.parse(deep)
    four = "patient[organization[partof[partof[name eq a].name eq b].name eq c].name eq d]"
    assert hp.parse(f"Observation?_filter={four}.name eq e").where is not None
    five = "patient[organization[partof[partof[partof[name eq a].name eq b].name eq c]"
    five += ".name eq d].name eq e]"
    with pytest.raises(InvalidSearch, match="chain deeper than 4"):
        hp.parse(f"Observation?_filter={five}.name eq f")


def test_number_of_parameters() -> None:
    limits = hp.Limits(max_params=3)
    assert hp.parse("Patient?name=a&name=b&name=c", limits=limits).where is not None
    with pytest.raises(InvalidSearch, match=r"too many parameters \(4 > 3\)"):
        hp.parse("Patient?name=a&name=b&name=c&name=d", limits=limits)
    with pytest.raises(InvalidSearch, match="too many parameters"):
        hp.parse("Patient?" + "&".join(["name=a"] * 65))
    # refused before parsing: a huge query is cheap to refuse
    with pytest.raises(InvalidSearch, match="too many parameters"):
        hp.parse("Patient?" + "&".join(["name=a"] * 200_000))


def test_or_list_length() -> None:
    limits = hp.Limits(max_or_values=3)
    assert hp.parse("Patient?name=a,b,c", limits=limits).where is not None
    with pytest.raises(InvalidSearch, match=r"too many OR values \(4 > 3\)") as info:
        hp.parse("Patient?name=a,b,c,d", limits=limits)
    assert info.value.position == len("Patient?name=")
    with pytest.raises(InvalidSearch, match="too many OR values"):
        hp.parse("Patient?_id=" + ",".join(["x"] * 101))
    with pytest.raises(InvalidSearch, match="too many 'or' terms"):
        hp.parse("Patient?_filter=" + " or ".join(["name eq x"] * 101))


def test_count_maximum() -> None:
    assert hp.parse("Patient?_count=1000").count == 1000
    with pytest.raises(InvalidSearch, match="over the limit of 1000"):
        hp.parse("Patient?_count=1001")
    assert hp.parse("Patient?_count=50", limits=hp.Limits(max_count=50)).count == 50
    with pytest.raises(InvalidSearch, match="over the limit of 50"):
        hp.parse("Patient?_count=51", limits=hp.Limits(max_count=50))
    with pytest.raises(InvalidSearch, match="too large"):
        hp.parse("Patient?_count=" + "9" * 5000)  # int() would refuse over 4300 digits
    assert hp.parse("Patient?name=x", limits=hp.Limits(default_count=20)).count == 20


@pytest.mark.parametrize(
    "query",
    [
        "Patient?_filter=" + "not(" * 5000 + "name eq x" + ")" * 5000,
        "Patient?_filter=" + "(" * 5000 + "name eq x" + ")" * 5000,
        "Patient?_filter=" + " and ".join(["name eq x"] * 3000),
        "Patient?" + "_has:Observation:subject:" * 3000 + "code=x",
        "Observation?" + ".".join(["subject:Patient", *["organization"] * 5000, "name"]) + "=x",
        "Patient?name=" + "a" * 1_000_000,
        "Patient?name=" + "\\," * 100_000,
    ],
    ids=["not-nesting", "parentheses", "long-and", "has-nesting", "long-chain", "huge", "escapes"],
)
def test_pathological_input_is_an_invalid_search_or_parses(query: str) -> None:
    """Deep nesting and huge values never reach a RecursionError or a crash."""
    with contextlib.suppress(InvalidSearch):
        hp.parse(query)
