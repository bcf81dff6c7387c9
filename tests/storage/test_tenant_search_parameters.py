"""Custom SearchParameters are scoped to the tenant that stored them (issue 12): a registry
overlay per tenant over the shared R4 base; no tenant removes or shadows a standard parameter;
a url belongs to the tenant that stored it. (Runs on every backend: tests/storage; the
reopen test is in each backend's integration tests.)"""

from __future__ import annotations

from typing import Any

import pytest

from helios_persistence.errors import InvalidResource, InvalidSearch
from helios_persistence.registry import default_registry
from helios_persistence.tenancy import TenantContext

from .helpers import patient

A = TenantContext.for_tenant("tenant-a")
B = TenantContext.for_tenant("tenant-b")
BOBBY = [{"family": "Smith", "use": "nickname", "given": ["Bobby"]}]
URL = "http://example.org/SearchParameter/patient-nickname"


def nickname(status: str = "active", **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "SearchParameter", "id": "nickname", "url": URL, "name": "nickname",
        "status": status, "code": "nickname", "base": ["Patient"], "type": "string",
        "expression": "Patient.name.where(use='nickname').given", "description": "nickname",
        **extra,
    }  # fmt: skip


def test_custom_parameters_belong_to_their_tenant(store: Any) -> None:
    store.update(A, nickname())
    for ctx in (A, B):
        store.update(ctx, patient(id="p", name=BOBBY))
    assert store.search(A, "Patient?nickname=bob").ids == ["Patient/p"]
    with pytest.raises(InvalidSearch, match="nickname"):
        store.search(B, "Patient?nickname=bob")
    assert store.registry_for(A).get("Patient", "nickname") is not None
    assert store.registry_for(B).get("Patient", "nickname") is None
    assert store.registry_for(B) is store.registry  # no custom parameter: the shared base
    assert default_registry().get("Patient", "nickname") is None


def test_no_tenant_shadows_or_removes_a_standard_parameter(store: Any) -> None:
    for ctx in (A, B):
        store.update(ctx, patient(id="p", name=[{"family": "Smith"}]))
    shadow = {**nickname(), "code": "name", "expression": "Patient.id"}
    with pytest.raises(InvalidResource, match="standard"):
        store.update(A, shadow)
    standard = default_registry().get("Patient", "name")
    assert standard is not None
    copy = {**nickname(), "url": standard.url, "code": "name", "expression": "Patient.id"}
    store.update(A, copy)  # a standard url is stored but never registered
    store.delete(A, "SearchParameter", "nickname")
    for ctx in (A, B):
        assert store.search(ctx, "Patient?name=Smith").ids == ["Patient/p"]
        assert store.registry_for(ctx).get("Patient", "name") == standard


def test_a_url_is_owned_by_one_tenant(store: Any) -> None:
    store.update(B, nickname())
    store.update(B, patient(id="p", name=BOBBY))
    # tenant A reuses B's url, then retires and deletes its own copy: B is untouched
    store.update(A, {**nickname(), "code": "alias"})
    assert store.registry_for(A).get("Patient", "alias") is not None
    assert store.registry_for(B).get("Patient", "alias") is None
    store.update(A, nickname(status="retired"))
    store.delete(A, "SearchParameter", "nickname")
    assert store.registry_for(B).by_url(URL) is not None
    assert store.search(B, "Patient?nickname=bob").ids == ["Patient/p"]
