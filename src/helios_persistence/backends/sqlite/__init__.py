"""The SQLite backend (apsw): the embedded default and reference implementation."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from helios_persistence.backends.sqlite.store import SQLiteStore

__all__ = ["SQLiteStore"]


def __getattr__(name: str) -> Any:  # lazy, so importing a sibling module stays cheap
    if name == "SQLiteStore":
        from helios_persistence.backends.sqlite.store import SQLiteStore

        return SQLiteStore
    raise AttributeError(name)
