"""Custom SearchParameters written to a PostgreSQL store register in their tenant's registry
(``store.registry_for(ctx)``); a tenant's stored definitions register the first time a store
touches that tenant."""

from __future__ import annotations

from typing import Any

import pytest
from sqlite_helpers import patient
from test_sqlite_search_parameters import CTX, nickname

from helios_persistence.errors import InvalidResource, InvalidSearch
from helios_persistence.registry import default_registry
from helios_persistence.store_urls import open_store


def test_register_unregister_and_reopen(make_store: Any, pg_url: str) -> None:
    store = make_store()
    assert store.registry_for(CTX).get("Patient", "nickname") is None
    store.update(CTX, nickname())
    assert store.registry_for(CTX).get("Patient", "nickname") is not None
    assert default_registry().get("Patient", "nickname") is None  # only this store's copy
    store.update(CTX, patient(id="p", name=[{"use": "nickname", "given": ["Bobby"]}]))
    with store.read_session(CTX) as s:
        rows = s.conn.execute("SELECT norm FROM idx_string WHERE param = 'nickname'").fetchall()
    assert rows == [("bobby",)]
    with open_store(f"{pg_url}?schema={store.schema}") as again:
        assert again.search(CTX, "Patient?nickname=bob").ids == ["Patient/p"]  # first use
        again.update(CTX, nickname(status="retired"))
        assert again.registry_for(CTX).get("Patient", "nickname") is None
        again.update(CTX, nickname())
        again.delete(CTX, "SearchParameter", "nickname")
        assert again.registry_for(CTX).get("Patient", "nickname") is None


def test_failed_transaction_does_not_register(store: Any) -> None:
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


def test_standard_parameters_are_never_replaced(store: Any) -> None:
    standard = default_registry().get("Patient", "family")
    store.update(
        CTX, {**nickname(), "url": standard.url, "code": "family", "expression": "Patient.id"}
    )
    store.delete(CTX, "SearchParameter", "nickname")
    assert store.registry_for(CTX).get("Patient", "family") == standard


def test_invalid_active_definition_is_rejected(store: Any) -> None:
    with pytest.raises(InvalidResource):
        store.update(CTX, nickname(type="bogus"))


def test_stored_definitions_reregister_per_tenant_on_reopen(make_store: Any, pg_url: str) -> None:
    from test_sqlite_tenant_search_parameters import BOBBY, A, B

    store = make_store()
    store.update(A, nickname())
    for ctx in (A, B):
        store.update(ctx, patient(id="p", name=BOBBY))
    with open_store(f"{pg_url}?schema={store.schema}") as again:
        assert again.search(A, "Patient?nickname=bob").ids == ["Patient/p"]
        with pytest.raises(InvalidSearch):
            again.search(B, "Patient?nickname=bob")
        assert again.registry_for(B).get("Patient", "nickname") is None
