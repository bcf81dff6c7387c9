"""Run a search on one SQLite connection: compiled page query, total, includes, paging.

The steps are :func:`helios_persistence.storage.sql_search.run_search` (shared by the SQL
backends); this module binds them to apsw: ``:name`` placeholders, id lists as JSON arrays
read with ``json_each``, documents as JSON text.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import apsw

from helios_persistence import ir
from helios_persistence.compilers.sqlite import compiler
from helios_persistence.parsing import Limits
from helios_persistence.registry import Registry
from helios_persistence.results import SearchResult
from helios_persistence.storage.sql_search import MAX_INCLUDE_ROUNDS, Row, SqlDriver, run_search

__all__ = ["MAX_INCLUDE_ROUNDS", "execute_search"]


def _driver(conn: apsw.Connection) -> SqlDriver:
    def execute(sql: str, params: dict[str, Any]) -> Iterable[Row]:
        return conn.execute(sql, params).fetchall()

    return SqlDriver(
        compiler=compiler,
        execute=execute,
        placeholder=lambda name: f":{name}",
        in_ids=lambda column: f"{column} IN (SELECT value FROM json_each(:ids))",
        ids=json.dumps,
        decode=lambda value: json.loads(str(value)),
    )


def execute_search(
    conn: apsw.Connection,
    tenant: str,
    query: str | ir.Query,
    registry: Registry,
    *,
    limits: Limits | None = None,
    base_url: str | None = None,
) -> SearchResult:
    """Parse (if needed), compile and run ``query`` for ``tenant`` on ``conn``.

    ``base_url`` is the store's own base: absolute references to it match local ones."""
    return run_search(_driver(conn), tenant, query, registry, limits=limits, base_url=base_url)
