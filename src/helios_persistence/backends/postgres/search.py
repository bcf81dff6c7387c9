"""Run a search in one PostgreSQL transaction: compiled page query, total, includes, paging.

The steps are :func:`helios_persistence.backends.sql.search.run_search` (shared by the SQL
backends) on the PostgreSQL dialect's compilation; each statement goes out through
:meth:`~.tx.Tx.rows`, the first with the read transaction's ``BEGIN`` and settings and the
last with its ``COMMIT`` (one round trip for a page, with or without its non-iterating
includes). A compiled statement's text depends only on the query's shape: psycopg prepares a
statement on a connection once it has run ``prepare_threshold`` times there, so each query
shape is parsed and planned once per connection and then only bound and executed. ``jsonb``
documents arrive as their text (FHIR decimals keep their digits). Buffered writes of the
transaction are flushed first, so a transaction's searches see its own writes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import psycopg
from psycopg.types.string import TextLoader

from helios_persistence.backends.sql.search import MAX_INCLUDE_ROUNDS, Row, SqlDriver, run_search
from helios_persistence.compilers.postgres import compiler
from helios_persistence.errors import TerminologyError
from helios_persistence.pipeline import Plan
from helios_persistence.results import SearchResult
from helios_persistence.terminology.tables import ExpansionNeeded

from .tx import Tx

__all__ = ["MAX_INCLUDE_ROUNDS", "execute_search"]


def _text_documents(cur: psycopg.Cursor[Any]) -> None:
    cur.adapters.register_loader("jsonb", TextLoader)  # decimals keep their digits


def _driver(tx: Tx) -> SqlDriver:
    def run(sql: str, params: dict[str, Any], last: bool = False) -> Iterable[Row]:
        try:
            return tx.rows([(sql, params)], last=last, prepare=_text_documents)[0]
        except psycopg.Error as exc:
            mapped = _valueset_error(exc)
            if mapped is None:
                raise
            raise mapped from None

    def run_last(sql: str, params: dict[str, Any]) -> Iterable[Row]:
        return run(sql, params, last=True)

    return SqlDriver(
        compiler=compiler, execute=run, decode=json.loads, text=str, execute_last=run_last
    )


def _valueset_error(exc: psycopg.Error) -> Exception | None:
    """``helios_valueset_key``'s errors (migration 012) as the store's: a ValueSet that is
    not stored, or whose expansion is not cached yet (the store caches it and retries)."""
    state = exc.diag.sqlstate
    if state == "HLVS1":
        return TerminologyError(str(exc.diag.message_primary), issue_code="not-found")
    if state == "HLVS2":
        return ExpansionNeeded([str(exc.diag.message_detail)])
    return None


def execute_search(tx: Tx, tenant: str, plan: Plan) -> SearchResult:
    """Run ``plan`` for ``tenant`` in ``tx`` (its buffered writes flushed first)."""
    tx.flush()
    return run_search(_driver(tx), tenant, plan)
