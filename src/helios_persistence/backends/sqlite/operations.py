"""The SQLite binding of the storage primitives (:mod:`helios_persistence.storage.operations`).

The validation, versioning, If-Match, conditional, compartment and patch logic is shared by
every backend; this module only names the SQLite record and index writers and the search
executor the shared code runs on an apsw connection (SQLite has one writer at a time, so
conditional operations need no extra locking).
"""

from __future__ import annotations

from typing import Any, ClassVar

from helios_persistence.compilers.sqlite import SQLiteCompiler
from helios_persistence.compilers.sqlite import compiler as sqlite_compiler
from helios_persistence.pipeline import Plan
from helios_persistence.results import SearchResult
from helios_persistence.storage.operations import Operations, Session, normalize_etag
from helios_persistence.terminology.connections import SQLiteTermDB

from . import records, writer

__all__ = ["SQLiteOperations", "Session", "normalize_etag"]


class SQLiteOperations(Operations):
    """The shared primitives on SQLite."""

    _records: ClassVar[Any] = records
    _writer: ClassVar[Any] = writer
    _terminology: ClassVar[Any] = SQLiteTermDB

    compiler: ClassVar[SQLiteCompiler] = sqlite_compiler

    def _execute_search(self, s: Session, plan: Plan) -> SearchResult:
        from helios_persistence.backends.sqlite.search import execute_search

        return execute_search(s.conn, s.tenant, plan)
