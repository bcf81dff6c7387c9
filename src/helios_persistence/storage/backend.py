"""What a relational backend gives the shared primitives (:mod:`.operations`): the contract
of its ``records``, its index ``writer`` and the connection object they take first.

A backend module or object satisfying :class:`Records` and :class:`IndexWriter` (checked
structurally by a test for every backend) plus a :class:`Transaction` connection is all
:class:`~helios_persistence.storage.operations.Operations` needs; the search side is the
dialect's compiler and the store's ``_execute_search``.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, Protocol, runtime_checkable

from helios_persistence.storage.types import HistoryEntry, Interaction

__all__ = ["IndexWriter", "Records", "Transaction"]


@runtime_checkable
class Transaction(Protocol):
    """The connection object of one session of one tenant (SQLite ``Tx``/``BulkWriter``,
    PostgreSQL ``Tx``): statements, and buffered writes flushed before any read."""

    tenant: str

    def execute(self, statement: Any, params: Any = None) -> Any: ...

    def flush(self) -> None: ...


@runtime_checkable
class Records(Protocol):
    """Current versions, history and the outbox (functions take the transaction first)."""

    def get_current(self, conn: Any, tenant: str, resource_type: str, id: str) -> Any: ...

    def get_version(
        self, conn: Any, tenant: str, resource_type: str, id: str, version: int
    ) -> tuple[int, Interaction, str | None] | None: ...

    def previous_resource(
        self, conn: Any, tenant: str, resource_type: str, id: str, before: int
    ) -> str | None: ...

    def put_version(
        self,
        conn: Any,
        tenant: str,
        resource_type: str,
        id: str,
        version: int,
        last_updated: int,
        method: Interaction,
        text: str | None,
    ) -> Any: ...

    def count_history(
        self, conn: Any, tenant: str, resource_type: str | None = None, id: str | None = None,
        *, since: int | None = None, at: tuple[int, int] | None = None,
        types: Collection[str] | None = None,
    ) -> int: ...  # fmt: skip

    def history_entries(
        self, conn: Any, tenant: str, resource_type: str | None = None, id: str | None = None,
        *, since: int | None = None, at: tuple[int, int] | None = None,
        count: int | None = None, offset: int = 0, types: Collection[str] | None = None,
    ) -> list[HistoryEntry]: ...  # fmt: skip

    def delete_old_versions(
        self, conn: Any, tenant: str, resource_type: str, id: str, current_version: int
    ) -> int: ...

    def read_outbox(self, conn: Any, tenant: str, after: int, limit: int) -> list[Any]: ...

    def trim_outbox(self, conn: Any, tenant: str, up_to: int) -> None: ...


@runtime_checkable
class IndexWriter(Protocol):
    """Index, full-text and outbox rows of a write (functions take the transaction first)."""

    def delete_index(
        self, conn: Any, tenant: str, resource_type: str, id: str, key: Any
    ) -> None: ...

    def write_index(
        self, conn: Any, tenant: str, resource_type: str, id: str, key: Any, index: Any,
        *, replace: bool = True,
    ) -> None: ...  # fmt: skip

    def write_outbox(
        self, conn: Any, tenant: str, resource_type: str, id: str, version: int,
        operation: str, created_at: int,
    ) -> None: ...  # fmt: skip
