"""Run a planned search on one SQLite connection (:func:`~helios_persistence.storage.
sql_search.run_search` on apsw: ``:name`` placeholders, documents as JSON text)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import apsw

from helios_persistence.backends.sql.search import MAX_INCLUDE_ROUNDS, Row, SqlDriver, run_search
from helios_persistence.compilers.sqlite import compiler
from helios_persistence.pipeline import Plan
from helios_persistence.results import SearchResult

__all__ = ["MAX_INCLUDE_ROUNDS", "execute_search"]


def _driver(conn: apsw.Connection) -> SqlDriver:
    def execute(sql: str, params: dict[str, Any]) -> Iterable[Row]:
        return conn.execute(sql, params).fetchall()

    return SqlDriver(
        compiler=compiler, execute=execute, decode=lambda v: json.loads(str(v)), text=str
    )


def execute_search(conn: apsw.Connection, tenant: str, plan: Plan) -> SearchResult:
    """Run ``plan`` for ``tenant`` on ``conn``."""
    return run_search(_driver(conn), tenant, plan)
