"""PostgreSQL statements and their timings reach ``logging`` at DEBUG."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest
from test_sqlite_logging import exercise


def test_postgres_statements_are_logged(
    make_store: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="helios_persistence.sql.postgres")
    messages = exercise(make_store(), caplog, "helios_persistence.sql.postgres")
    assert any("%(" in m or "$1" in m or "= ANY" in m for m in messages)  # placeholders only
