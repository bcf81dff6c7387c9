"""Statements and their timings reach the standard ``logging`` module at DEBUG."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest

from helios_persistence.store_urls import open_store
from helios_persistence.tenancy import TenantContext

_LINE = re.compile(r"^\d+\.\d{3} ms  (\(many\) )?\S")


def exercise(store: Any, caplog: pytest.LogCaptureFixture, logger: str) -> list[str]:
    """Write and search with ``logger`` at DEBUG; the messages it logged."""
    ctx = TenantContext.for_tenant("acme")
    store.update(ctx, {"resourceType": "Patient", "id": "p", "name": [{"family": "Zyxwvut"}]})
    caplog.clear()
    assert store.search(ctx, "Patient?name=zyxwvut").ids == ["Patient/p"]
    messages = [r.getMessage() for r in caplog.records if r.name == logger]
    assert messages, f"nothing logged on {logger}"
    assert all(_LINE.match(m) for m in messages), messages
    assert any("idx_string" in m and "SELECT" in m.upper() for m in messages), messages
    assert not any("zyxwvut" in m.lower() for m in messages)  # values are bound, never logged
    return messages


def test_sqlite_statements_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="helios_persistence.sql.sqlite")
    with open_store("sqlite://") as store:
        exercise(store, caplog, "helios_persistence.sql.sqlite")


def test_nothing_is_logged_above_debug(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="helios_persistence")
    with open_store("sqlite://") as store:
        ctx = TenantContext.for_tenant("acme")
        store.create(ctx, {"resourceType": "Patient"})
        store.search(ctx, "Patient?_count=1")
    assert not [r for r in caplog.records if r.name.startswith("helios_persistence.sql")]
