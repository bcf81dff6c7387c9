"""``authorize``: every type a bound query touches is checked; includes lose forbidden types."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helios_persistence import ir
from helios_persistence.authorization import authorize, touched_types
from helios_persistence.errors import PermissionDenied
from helios_persistence.parsing import parse
from helios_persistence.tenancy import Permissions, TenantContext, compartment_params

OBS_ONLY = TenantContext("acme", Permissions(resource_types=frozenset({"Observation"})))
EVERYTHING = TenantContext.for_tenant("acme")


@pytest.mark.parametrize(
    ("query", "forbidden"),
    [
        ("Observation?subject:Patient.name=Secret", "Patient"),
        ("Observation?subject:Patient.organization.name=Acme", "Patient"),
        ("Observation?_has:DiagnosticReport:result:status=final", "DiagnosticReport"),
        ("Observation?_list=l1", "List"),
        ("Observation?_filter=patient.name eq Secret", "Patient"),
        ("Observation?code=x&_filter=status eq final or patient.name eq Secret", "Patient"),
        ("Observation?status:not=final&_has:Provenance:target:agent:Patient.name=x", "Provenance"),
        ("Patient?name=x", "Patient"),
        ("?_type=Observation,Patient", "Patient"),
        ("?_id=x", "named resource types"),
    ],
)
def test_every_touched_type_is_checked(query: str, forbidden: str) -> None:
    q = parse(query)
    with pytest.raises(PermissionDenied, match=forbidden):
        authorize(q, OBS_ONLY)
    assert authorize(q, EVERYTHING) is q  # no restriction: unchanged


def test_nested_chain_checks_every_hop() -> None:
    ctx = TenantContext("t", Permissions(resource_types=frozenset({"Observation", "Patient"})))
    authorize(parse("Observation?subject:Patient.name=x"), ctx)
    with pytest.raises(PermissionDenied, match="Organization"):
        authorize(parse("Observation?subject:Patient.organization.name=x"), ctx)


def test_includes_leave_out_forbidden_types() -> None:
    q = parse(
        "Observation?_include=Observation:subject&_include=Observation:performer:Practitioner"
        "&_revinclude=Provenance:target&_revinclude=Observation:has-member"
    )
    out = authorize(
        q,
        TenantContext(
            "t", Permissions(resource_types=frozenset({"Observation", "Patient", "Group"}))
        ),
    )
    assert out.include == (
        ir.Include("Observation", "subject", "Group"),
        ir.Include("Observation", "subject", "Patient"),
        ir.Include("Observation", "has-member", None, reverse=True),
    )
    wild = authorize(parse("Observation?_include=Observation:*"), OBS_ONLY)
    assert wild.include == (ir.Include("Observation", "*", "Observation"),)
    assert authorize(q, OBS_ONLY).include == (
        ir.Include("Observation", "has-member", None, reverse=True),
    )


TYPES = [
    "Observation",
    "Patient",
    "Organization",
    "Practitioner",
    "Group",
    "List",
    "DiagnosticReport",
    "Encounter",
    "Device",
    "Location",
    "Provenance",
]
QUERIES = [
    "Observation?subject:Patient.name=x",
    "Observation?subject:Patient.organization.name=x",
    "Observation?_has:DiagnosticReport:result:status=final",
    "Observation?_list=l1",
    "Observation?_filter=patient.name eq x",
    "Observation?_include=Observation:subject&_revinclude=Provenance:target",
    "Observation?encounter:Encounter.location.name=x&_include=Observation:*",
    "Patient?_has:Observation:subject:_has:DiagnosticReport:result:status=final",
    "?_type=Patient,Group&_include=*",
]


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(QUERIES), st.frozensets(st.sampled_from(TYPES)))
def test_authorized_query_touches_only_permitted_types(query: str, allowed: frozenset[str]) -> None:
    ctx = TenantContext("t", Permissions(resource_types=allowed))
    q = parse(query)
    touched = {q.resource_type, *q.types} - {None} | {t for t, _ in touched_types(q.where)}
    if not touched <= allowed:
        with pytest.raises(PermissionDenied):
            authorize(q, ctx)
        return
    out = authorize(q, ctx)
    assert out.where == q.where and out.types == q.types
    for inc in out.include:
        assert inc.source_type == "*" or inc.source_type in allowed
        if not inc.reverse:
            assert inc.target_type in allowed


PATIENT_1 = TenantContext("acme", Permissions(compartment=("Patient", "1")))


def test_compartment_confines_every_chain_and_has() -> None:
    q = authorize(
        parse("Observation?subject:Patient.name=x&_has:Observation:has-member:status=final"),
        PATIENT_1,
    )
    chain, has = q.where.children  # type: ignore[union-attr]
    assert chain.where == ir.And(
        (
            ir.StringMatch("name", ir.StringOp.STARTS, "x"),
            ir.TokenMatch("_id", ir.TokenOp.EQ, None, "1"),
        )
    )
    assert isinstance(has.where, ir.And) and "ReferenceMatch" in str(has.where.children[1])
    plain = parse("Observation?code=x")
    assert authorize(plain, PATIENT_1).where == plain.where  # the searched type: elsewhere
    for query in ("Observation?performer:Practitioner.name=x", "Patient?organization.name=x"):
        with pytest.raises(PermissionDenied, match="compartment"):
            authorize(parse(query), PATIENT_1)


def test_a_chain_naming_no_type_checks_each_of_its_types() -> None:
    q = parse("Observation?subject.name=x")
    chain = q.where
    assert isinstance(chain, ir.Chain) and len(chain.target_types) > 1
    only_patients = TenantContext(
        "t", Permissions(resource_types=frozenset({"Observation", "Patient"}))
    )
    with pytest.raises(PermissionDenied):  # Patient is allowed, the chain's other types are not
        authorize(q, only_patients)
    everything = TenantContext(
        "t", Permissions(resource_types=frozenset(chain.target_types) | {"Observation"})
    )
    assert authorize(q, everything).where == q.where
    in_compartment = [
        t for t in chain.target_types if t == "Patient" or compartment_params("Patient", t)
    ]
    q2 = parse(f"Observation?subject:{in_compartment[0]}.name=x")
    confined = authorize(q2, PATIENT_1).where
    assert isinstance(confined, ir.Chain) and isinstance(confined.where, ir.And)
