"""Custom SearchParameters written to the store register in their tenant's registry
(``store.registry_for(ctx)``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlite_helpers import patient

from helios_persistence.errors import InvalidResource
from helios_persistence.registry import default_registry
from helios_persistence.store_urls import open_store
from helios_persistence.tenancy import TenantContext

CTX = TenantContext.for_tenant("t")
URL = "http://example.org/SearchParameter/patient-nickname"


def nickname(status: str = "active", **extra) -> dict:
    return {
        "resourceType": "SearchParameter",
        "id": "nickname",
        "url": URL,
        "name": "nickname",
        "status": status,
        "code": "nickname",
        "base": ["Patient"],
        "type": "string",
        "expression": "Patient.name.where(use='nickname').given",
        "description": "nickname",
        **extra,
    }


def test_register_and_unregister(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/sp.db"
    with open_store(url) as store:
        assert store.registry is not default_registry()
        assert store.registry_for(CTX).get("Patient", "nickname") is None
        store.update(CTX, nickname())
        assert store.registry_for(CTX).get("Patient", "nickname") is not None
        assert default_registry().get("Patient", "nickname") is None  # only this store's copy
        # a Patient written now is indexed by the new parameter
        store.update(CTX, patient(id="p", name=[{"use": "nickname", "given": ["Bobby"]}]))
        with store._pool(CTX).read() as conn:
            rows = conn.execute("SELECT norm FROM idx_string WHERE param = 'nickname'").fetchall()
        assert rows == [("bobby",)]
    with open_store(url) as store:  # stored definitions register on open
        assert store.registry_for(CTX).get("Patient", "nickname") is not None
        store.update(CTX, nickname(status="retired"))
        assert store.registry_for(CTX).get("Patient", "nickname") is None
        store.update(CTX, nickname())
        assert store.registry_for(CTX).get("Patient", "nickname") is not None
        store.delete(CTX, "SearchParameter", "nickname")
        assert store.registry_for(CTX).get("Patient", "nickname") is None


def test_failed_transaction_does_not_register() -> None:
    with open_store("sqlite://") as store:
        with pytest.raises(InvalidResource):
            store.transaction(
                CTX,
                {
                    "resourceType": "Bundle",
                    "type": "transaction",
                    "entry": [
                        {
                            "resource": nickname(),
                            "request": {"method": "PUT", "url": "SearchParameter/nickname"},
                        },
                        {
                            "resource": {"resourceType": "Nope"},
                            "request": {"method": "POST", "url": "Nope"},
                        },
                    ],
                },
            )
        assert store.registry_for(CTX).get("Patient", "nickname") is None


def test_standard_parameters_are_never_replaced_or_removed() -> None:
    standard = default_registry().get("Patient", "family")
    assert standard is not None
    with open_store("sqlite://") as store:
        store.update(
            CTX, {**nickname(), "url": standard.url, "code": "family", "expression": "Patient.id"}
        )
        store.delete(CTX, "SearchParameter", "nickname")
        assert store.registry_for(CTX).get("Patient", "family") == standard


def test_invalid_active_definition_is_rejected() -> None:
    with open_store("sqlite://") as store, pytest.raises(InvalidResource):
        store.update(CTX, nickname(type="bogus"))
