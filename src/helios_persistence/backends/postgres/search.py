"""Run a search in one PostgreSQL transaction: compiled page query, total, includes, paging.

The steps are :func:`helios_persistence.storage.sql_search.run_search` (shared by the SQL
backends) on the PostgreSQL dialect's compilation, whose text depends only on the query's
shape: psycopg prepares a statement on a connection once it has run ``prepare_threshold``
times there, so each query shape is parsed and planned once per connection and then only
bound and executed. Id lists are array parameters (``= ANY(%(ids)s)``); ``jsonb`` documents
arrive decoded. Buffered writes of the transaction are flushed first, so a transaction's
searches see its own writes.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from helios_persistence import ir
from helios_persistence.compilers.postgres import compiler
from helios_persistence.parsing import Limits
from helios_persistence.registry import Registry
from helios_persistence.results import SearchResult
from helios_persistence.storage.sql_search import MAX_INCLUDE_ROUNDS, Row, SqlDriver, run_search

from .tx import Tx

__all__ = ["MAX_INCLUDE_ROUNDS", "execute_search"]


def _driver(tx: Tx) -> SqlDriver:
    conn = tx.conn

    def execute(sql: str, params: dict[str, Any]) -> Iterable[Row]:
        return conn.execute(sql, params).fetchall()

    return SqlDriver(
        compiler=compiler,
        execute=execute,
        placeholder=lambda name: f"%({name})s",
        in_ids=lambda column: f"{column} = ANY(%(ids)s::text[])",
        ids=list,
        decode=lambda value: value,
    )


def execute_search(
    tx: Tx,
    tenant: str,
    query: str | ir.Query,
    registry: Registry,
    *,
    limits: Limits | None = None,
    base_url: str | None = None,
) -> SearchResult:
    """Parse (if needed), compile and run ``query`` for ``tenant`` in ``tx``.

    ``base_url`` is the store's own base: absolute references to it match local ones."""
    tx.flush()
    return run_search(_driver(tx), tenant, query, registry, limits=limits, base_url=base_url)
