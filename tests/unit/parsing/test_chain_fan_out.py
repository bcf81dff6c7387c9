"""Chains that name no type (issue 11): every target type that defines the chained parameter.

``subject.name`` on a reference to Patient, Group, Device or Location searches Patient and
Location (the ones with ``name``), as HAPI does; only when no target type has the parameter is
it an error. Target types that bind the rest alike share one :class:`ir.Chain`; those where
it binds differently (``type`` is a token on most types and a uri on StructureDefinition) get
their own, under an :class:`ir.Or`.
"""

from __future__ import annotations

from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import helios_persistence as hp
from helios_persistence import ir
from helios_persistence.errors import InvalidSearch
from helios_persistence.ir import shape_key
from helios_persistence.parsing.render import render
from helios_persistence.registry import ParamType, default_registry

REGISTRY = default_registry()


@cache
def _fan_outs() -> list[tuple[str, str, str, tuple[str, ...]]]:
    """(source type, reference parameter, next parameter, the target types that define it)
    for every reference with several target types and a next parameter two of them share."""
    out = []
    for rtype in sorted(REGISTRY.resource_types):
        for ref in REGISTRY.params_for(rtype):
            if ref.type is not ParamType.REFERENCE or len(ref.targets) < 2:
                continue
            by_code: dict[str, set[str]] = {}
            for target in ref.targets:
                for p in REGISTRY.params_for(target) if target in REGISTRY.resource_types else ():
                    by_code.setdefault(p.code, set()).add(target)  # :missing binds on any type
            for code, targets in sorted(by_code.items()):
                if len(targets) > 1 and not code.startswith("_"):
                    out.append((rtype, ref.code, code, tuple(sorted(targets))))
    return out


def _chains(where: ir.Predicate) -> tuple[ir.Chain, ...]:
    if isinstance(where, ir.Chain):
        return (where,)
    assert isinstance(where, ir.Or)
    assert all(isinstance(c, ir.Chain) for c in where.children)
    return where.children  # type: ignore[return-value]


def test_there_are_many_fan_outs_to_check() -> None:
    assert len(_fan_outs()) > 1000


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(_fan_outs()), st.booleans())
def test_every_target_type_with_the_parameter_is_searched(
    case: tuple[str, str, str, tuple[str, ...]], missing: bool
) -> None:
    rtype, ref, code, targets = case
    query = hp.parse(f"{rtype}?{ref}.{code}:missing={'true' if missing else 'false'}")
    chains = _chains(query.where)  # type: ignore[arg-type]
    covered = [t for c in chains for t in c.target_types]
    assert sorted(covered) == list(targets)  # each once, no other type
    for chain in chains:
        assert chain.param == ref
        assert list(chain.target_types) == sorted(chain.target_types)
        assert isinstance(chain.where, ir.Missing) and chain.where.missing is missing
        kinds = {REGISTRY.get(t, code).type.value for t in chain.target_types}  # type: ignore[union-attr]
        assert kinds == {chain.where.kind}  # one Chain per parameter type
    assert len({c.where for c in chains}) == len(chains)
    assert hp.parse(render(query)) == query


def test_a_type_modifier_still_names_one_type() -> None:
    chain = hp.parse("DiagnosticReport?subject:Patient.name=x").where
    assert isinstance(chain, ir.Chain) and chain.target_types == ("Patient",)


def test_types_whose_parameter_differs_get_their_own_chain() -> None:
    where = hp.parse("Provenance?target.type=Patient").where
    assert isinstance(where, ir.Or)
    token, uri = where.children
    assert isinstance(token, ir.Chain) and isinstance(uri, ir.Chain)
    assert uri.target_types == ("StructureDefinition",)
    assert isinstance(uri.where, ir.UriMatch) and isinstance(token.where, ir.TokenMatch)
    assert "StructureDefinition" not in token.target_types and "Organization" in token.target_types


def test_types_whose_parameter_cannot_take_the_value_are_left_out() -> None:
    # start: a token on GraphDefinition, a date on Slot; "abc" is no date
    where = hp.parse("Provenance?target.start=abc").where
    assert isinstance(where, ir.Chain) and "Slot" not in where.target_types
    assert "GraphDefinition" in where.target_types
    both = _chains(hp.parse("Provenance?target.start=2020").where)  # type: ignore[arg-type]
    assert {t for c in both for t in c.target_types} >= {"Slot", "GraphDefinition"}


def test_an_error_when_no_target_type_has_the_parameter() -> None:
    with pytest.raises(InvalidSearch, match="no resource type that 'subject' can reference"):
        hp.parse("DiagnosticReport?subject.vaccine-code=x")


def test_an_error_when_the_value_suits_no_target_type() -> None:
    with pytest.raises(InvalidSearch, match="bad value"):
        hp.parse("DiagnosticReport?subject.birthdate=notadate")  # only Patient has birthdate
    with pytest.raises(InvalidSearch, match="modifier :text"):
        hp.parse("DiagnosticReport?subject.name:text=x")  # name is a string everywhere


def test_s_expression_and_shape() -> None:
    query = hp.parse("Procedure?encounter.status=finished")
    assert str(query) == (
        '(Query Procedure (Chain encounter target_types=("Encounter" "EpisodeOfCare") '
        '(TokenMatch status eq code="finished")))'
    )
    same_shape = hp.parse("Procedure?encounter.status=planned")
    typed = hp.parse("Procedure?encounter:Encounter.status=finished")
    assert shape_key(query) == shape_key(same_shape)
    assert shape_key(query) != shape_key(typed)  # the target types are shape, not a value


def test_a_chain_needs_a_tuple_of_types() -> None:
    name = ir.StringMatch("name", ir.StringOp.STARTS, "x")
    with pytest.raises(TypeError):
        ir.Chain("subject", "Patient", name)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        ir.Chain("subject", (), name)


@pytest.mark.parametrize(
    "query",
    [
        "DiagnosticReport?subject.name=smith,jones&status=final",
        "Procedure?encounter.status:not=finished",
        "DiagnosticReport?subject.organization.name=x",
        "Provenance?target.type=Patient&_id=1",
        "Provenance?_filter=target.type eq Patient or _id eq 1",
        "Provenance?_filter=(target.type eq Patient or _id eq 1) and _id eq 2",
        "DiagnosticReport?_filter=subject.name sw smith or status eq final",
        "DiagnosticReport?_filter=not(subject.name sw smith)",
        "Patient?_has:DiagnosticReport:subject:subject.name=x",
    ],
)
def test_fan_outs_render_and_read_back(query: str) -> None:
    parsed = hp.parse(query)
    assert hp.parse(render(parsed)) == parsed


def test_a_hand_built_subset_of_types_does_not_render_as_a_fan_out() -> None:
    """``subject.name`` means Location and Patient: a Chain over Patient and Group only has
    no query-string form."""
    name = ir.StringMatch("name", ir.StringOp.STARTS, "x")
    odd = ir.Query("DiagnosticReport", ir.Chain("subject", ("Group", "Patient"), name))
    with pytest.raises(ValueError):
        render(odd)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(_fan_outs()), st.sampled_from(["{c} or _id eq x", "not({c})", "{c}"]))
def test_filter_fan_outs_render_and_read_back(
    case: tuple[str, str, str, tuple[str, ...]], shape: str
) -> None:
    """``_filter`` cannot name a type: a fan-out there (also one split by parameter type
    into sibling Chains of an Or) is written as one comparison and read back the same."""
    rtype, ref, code, _targets = case
    query = hp.parse(f"{rtype}?_filter=" + shape.format(c=f"{ref}.{code} pr true"))
    assert hp.parse(render(query)) == query
