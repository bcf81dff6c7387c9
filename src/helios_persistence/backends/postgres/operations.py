"""The PostgreSQL binding of the storage primitives (:mod:`helios_persistence.storage.operations`).

Shared logic, PostgreSQL records/writers/search, plus what concurrent writers need:

* conditional operations (If-None-Exist create, conditional update/delete/patch, a Bundle's
  ``ifNoneExist`` and conditional references) take an advisory lock on the tenant, type and
  normalised criteria before they search, so two concurrent conditional creates of the same
  criteria run one after the other and the second finds what the first created (exactly one
  resource);
* a transaction Bundle locks its literal targets first, all at once in lock-key order
  (:meth:`PostgresOperations.op_lock`), so Bundles touching the same resources queue instead
  of deadlocking;
* documents PostgreSQL cannot store (a ``\\u0000`` character) are rejected as invalid.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from helios_persistence.compilers.postgres import PostgresCompiler
from helios_persistence.compilers.postgres import compiler as postgres_compiler
from helios_persistence.errors import InvalidResource
from helios_persistence.pipeline import Plan
from helios_persistence.results import SearchResult
from helios_persistence.storage.operations import Operations, Session
from helios_persistence.terminology.connections import PostgresTermDB

from . import records, writer
from .locks import criteria_key

__all__ = ["PostgresOperations"]

#: an escaped NUL in JSON text (not preceded by an escaping backslash)
_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")


class PostgresOperations(Operations):
    """The shared primitives on PostgreSQL."""

    _records: ClassVar[Any] = records
    _writer: ClassVar[Any] = writer
    _terminology: ClassVar[Any] = PostgresTermDB

    compiler: ClassVar[PostgresCompiler] = postgres_compiler

    def _execute_search(self, s: Session, plan: Plan) -> SearchResult:
        from .search import execute_search

        return execute_search(s.conn, s.tenant, plan)

    def _lock_criteria(self, s: Session, resource_type: str, criteria: str) -> None:
        s.conn.lock(criteria_key(s.tenant, resource_type, criteria))

    def op_lock(self, s: Session, keys: list[tuple[str, str]]) -> None:
        """Lock (in key order) and read resources a transaction Bundle names up front."""
        s.conn.prefetch(keys)

    def _check_document(self, text: str) -> None:
        if "\\u0000" in text and _NUL.search(text):
            raise InvalidResource("PostgreSQL cannot store the character U+0000 in a resource")
