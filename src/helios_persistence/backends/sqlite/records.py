"""SQL over the ``resources`` and ``history`` tables (inside the caller's transaction).

Every statement filters by tenant: no function here can read or change another tenant's rows.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from helios_persistence.backends.sql.history import HistorySQL, OutboxRow
from helios_persistence.storage.operations import Current, to_stored
from helios_persistence.storage.types import HistoryEntry, Interaction

from .tx import Tx

__all__ = [
    "Current",
    "count_history",
    "delete_old_versions",
    "get_current",
    "get_version",
    "history_entries",
    "previous_resource",
    "put_version",
    "to_stored",
]


def get_current(conn: Tx, tenant: str, resource_type: str, id: str) -> Current | None:
    assert tenant == conn.tenant
    return conn.current(resource_type, id)


def get_version(
    conn: Tx, tenant: str, resource_type: str, id: str, version: int
) -> tuple[int, Interaction, str | None] | None:
    """``(last_updated, method, json)`` of one version, or None."""
    row = conn.execute(
        "SELECT last_updated, method, json FROM history "
        "WHERE tenant = ? AND type = ? AND id = ? AND version = ?",
        (tenant, resource_type, id, version),
    ).fetchone()
    if row is None:
        return None
    return int(row[0]), Interaction(row[1]), row[2]


def previous_resource(
    conn: Tx, tenant: str, resource_type: str, id: str, before: int
) -> str | None:
    """The JSON of the newest non-deleted version older than ``before`` (or None)."""
    row = conn.execute(
        "SELECT json FROM history WHERE tenant = ? AND type = ? AND id = ? AND version < ? "
        "AND json IS NOT NULL ORDER BY version DESC LIMIT 1",
        (tenant, resource_type, id, before),
    ).fetchone()
    return row[0] if row else None


def put_version(
    conn: Tx,
    tenant: str,
    resource_type: str,
    id: str,
    version: int,
    last_updated: int,
    method: Interaction,
    text: str | None,
) -> int:
    """Make ``version`` current (``text`` None: a deletion) and append it to the history.

    Returns the resource's ``resources`` rowid (stable across versions: it keys full text)."""
    assert tenant == conn.tenant
    return conn.put_version(resource_type, id, version, last_updated, method.value, text)


def _type_in(types: list[str]) -> tuple[str, list[Any]]:
    if not types:
        return "0", []
    return f"h.type IN ({', '.join('?' for _ in types)})", list(types)


_HISTORY = HistorySQL(p="?", type_in=_type_in, no_limit=-1)


def count_history(
    conn: Tx,
    tenant: str,
    resource_type: str | None = None,
    id: str | None = None,
    *,
    since: int | None = None,
    at: tuple[int, int] | None = None,
    types: Collection[str] | None = None,
) -> int:
    return _HISTORY.count(conn.execute, tenant, resource_type, id, since=since, at=at, types=types)


def history_entries(
    conn: Tx,
    tenant: str,
    resource_type: str | None = None,
    id: str | None = None,
    *,
    since: int | None = None,
    at: tuple[int, int] | None = None,
    count: int | None = None,
    offset: int = 0,
    types: Collection[str] | None = None,
) -> list[HistoryEntry]:
    """Matching versions, newest first (``types``: only these resource types)."""
    return _HISTORY.entries(
        conn.execute, tenant, resource_type, id,
        since=since, at=at, count=count, offset=offset, types=types,
    )  # fmt: skip


def delete_old_versions(
    conn: Tx, tenant: str, resource_type: str, id: str, current_version: int
) -> int:
    """Drop every version but the current one; returns how many were dropped."""
    conn.execute(
        "DELETE FROM history WHERE tenant = ? AND type = ? AND id = ? AND version < ?",
        (tenant, resource_type, id, current_version),
    )
    return conn.changes()


def read_outbox(conn: Tx, tenant: str, after: int, limit: int) -> list[OutboxRow]:
    """The tenant's outbox events after ``after`` with the versions they announce."""
    return _HISTORY.outbox(conn.execute, tenant, after, limit)


def trim_outbox(conn: Tx, tenant: str, up_to: int) -> None:
    _HISTORY.trim_outbox(conn.execute, tenant, up_to)
