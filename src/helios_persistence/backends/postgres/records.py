"""SQL over the ``resources`` and ``history`` tables (inside the caller's transaction).

The same functions, with the same arguments, as the SQLite backend's ``records`` module; the
first argument is the session's :class:`~.tx.Tx`. Every statement filters by tenant (and
row-level security repeats the filter). Writes are buffered by the transaction; reads flush.
"""

from __future__ import annotations

from collections.abc import Collection

from helios_persistence.backends.sql.history import HistorySQL, OutboxRow
from helios_persistence.storage.operations import Current, to_stored
from helios_persistence.storage.types import HistoryEntry, Interaction

from .tx import Key, Tx

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


def get_current(tx: Tx, tenant: str, resource_type: str, id: str) -> Current | None:
    assert tenant == tx.tenant
    return tx.current(resource_type, id)


def get_version(
    tx: Tx, tenant: str, resource_type: str, id: str, version: int
) -> tuple[int, Interaction, str | None] | None:
    """``(last_updated, method, json)`` of one version, or None."""
    row = tx.execute(
        "SELECT last_updated, method, json::text FROM history "
        "WHERE tenant = %s AND type = %s AND id = %s AND version = %s",
        (tenant, resource_type, id, version),
    ).fetchone()
    if row is None:
        return None
    return int(row[0]), Interaction(row[1]), row[2]


def previous_resource(tx: Tx, tenant: str, resource_type: str, id: str, before: int) -> str | None:
    """The JSON of the newest non-deleted version older than ``before`` (or None)."""
    row = tx.execute(
        "SELECT json::text FROM history WHERE tenant = %s AND type = %s AND id = %s "
        "AND version < %s AND json IS NOT NULL ORDER BY version DESC LIMIT 1",
        (tenant, resource_type, id, before),
    ).fetchone()
    return row[0] if row else None


def put_version(
    tx: Tx,
    tenant: str,
    resource_type: str,
    id: str,
    version: int,
    last_updated: int,
    method: Interaction,
    text: str | None,
) -> Key:
    """Make ``version`` current (``text`` None: a deletion) and append it to the history."""
    assert tenant == tx.tenant
    return tx.put_version(resource_type, id, version, last_updated, method.value, text)


_HISTORY = HistorySQL(
    p="%s", type_in=lambda names: ("h.type = ANY(%s::text[])", [names]), json="h.json::text"
)


def count_history(
    tx: Tx,
    tenant: str,
    resource_type: str | None = None,
    id: str | None = None,
    *,
    since: int | None = None,
    at: tuple[int, int] | None = None,
    types: Collection[str] | None = None,
) -> int:
    return _HISTORY.count(tx.execute, tenant, resource_type, id, since=since, at=at, types=types)


def history_entries(
    tx: Tx,
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
        tx.execute, tenant, resource_type, id,
        since=since, at=at, count=count, offset=offset, types=types,
    )  # fmt: skip


def delete_old_versions(
    tx: Tx, tenant: str, resource_type: str, id: str, current_version: int
) -> int:
    """Drop every version but the current one; returns how many were dropped."""
    cur = tx.execute(
        "DELETE FROM history WHERE tenant = %s AND type = %s AND id = %s AND version < %s",
        (tenant, resource_type, id, current_version),
    )
    return int(cur.rowcount)


def read_outbox(tx: Tx, tenant: str, after: int, limit: int) -> list[OutboxRow]:
    """The tenant's outbox events after ``after`` with the versions they announce."""
    return _HISTORY.outbox(tx.execute, tenant, after, limit)


def trim_outbox(tx: Tx, tenant: str, up_to: int) -> None:
    _HISTORY.trim_outbox(tx.execute, tenant, up_to)
