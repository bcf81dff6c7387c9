from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helios_persistence.errors import PermissionDenied
from helios_persistence.tenancy import (
    Operation,
    Permissions,
    TenantContext,
    TenantId,
    compartment_params,
    tenant_file_name,
    tenant_from_file_name,
)


@pytest.mark.parametrize(
    "value", ["acme", "acme/research/oncology", "A-1_b", "x" * 64, "a/" * 7 + "a"]
)
def test_valid_tenant_ids(value: str) -> None:
    assert TenantId(value).value == value


@pytest.mark.parametrize(
    "value",
    [
        "",
        "/acme",
        "acme/",
        "acme//x",
        "ac me",
        "../etc",
        "acme/..",
        "-acme",
        "x" * 65,
        "é",
        "a/" * 8 + "a",
        "acme\x00",
    ],
)
def test_invalid_tenant_ids(value: str) -> None:
    with pytest.raises(ValueError):
        TenantId(value)


def test_tenant_hierarchy() -> None:
    t = TenantId("acme/research/oncology")
    assert t.segments == ("acme", "research", "oncology")
    assert t.parent == TenantId("acme/research")
    assert TenantId("acme").parent is None
    assert t.is_descendant_of(TenantId("acme"))
    assert not TenantId("acme2").is_descendant_of(TenantId("acme"))
    assert not t.is_descendant_of(t)
    assert TenantId("acme").child("x") == TenantId("acme/x")


def test_context_for_tenant_has_every_permission() -> None:
    ctx = TenantContext.for_tenant("acme")
    assert ctx.tenant_key == "acme"
    assert ctx.tenant == TenantId("acme")
    for op in Operation:
        assert ctx.permissions.allows(op, "Patient")
    assert TenantContext("acme") == ctx


def test_permissions_operations_and_types() -> None:
    perms = Permissions(Operation.READ | Operation.SEARCH, frozenset({"Patient"}))
    assert perms.allows(Operation.READ, "Patient")
    assert not perms.allows(Operation.READ, "Observation")
    assert not perms.allows(Operation.CREATE, "Patient")
    assert perms.allows(Operation.SEARCH)
    with pytest.raises(PermissionDenied):
        perms.check(Operation.UPDATE, "Patient")
    with pytest.raises(PermissionDenied):
        perms.check(Operation.READ, "Observation")
    ro = Permissions.read_only(["Patient"])
    assert ro.allows(Operation.HISTORY, "Patient") and not ro.allows(Operation.DELETE, "Patient")
    assert Permissions(resource_types={"A"}).resource_types == frozenset({"A"})


def test_compartment_definition() -> None:
    assert "subject" in compartment_params("Patient", "Observation")
    assert compartment_params("Patient", "Organization") == ()
    with pytest.raises(ValueError):
        compartment_params("Encounter", "Observation")
    with pytest.raises(ValueError):
        Permissions(compartment=("Device", "1"))


def test_tenant_file_names_are_safe() -> None:
    assert tenant_file_name("acme") == "acme.db"
    assert "/" not in tenant_file_name("acme/research")
    assert tenant_file_name("Acme") != tenant_file_name("acme")
    assert tenant_file_name("Acme").lower() != tenant_file_name("acme").lower()
    assert tenant_from_file_name(tenant_file_name("acme/Research_1")) == TenantId("acme/Research_1")
    assert tenant_from_file_name("other.txt") is None
    assert tenant_from_file_name("ACME.db") is None  # not a name tenant_file_name produces


_segment = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_-]{0,10}", fullmatch=True)


@given(st.lists(_segment, min_size=1, max_size=4), st.lists(_segment, min_size=1, max_size=4))
def test_tenant_file_names_are_injective(a: list[str], b: list[str]) -> None:
    ta, tb = TenantId("/".join(a)), TenantId("/".join(b))
    fa, fb = tenant_file_name(ta), tenant_file_name(tb)
    assert (fa.lower() == fb.lower()) == (ta == tb)
    assert tenant_from_file_name(fa) == ta
