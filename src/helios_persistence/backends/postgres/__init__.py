"""The PostgreSQL backend (psycopg 3 + psycopg_pool): the production primary."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from helios_persistence.backends.postgres.store import PostgresStore

__all__ = ["PostgresStore"]


def __getattr__(name: str) -> Any:  # lazy: importing the package needs no driver
    if name == "PostgresStore":
        from helios_persistence.backends.postgres.store import PostgresStore

        return PostgresStore
    raise AttributeError(name)
