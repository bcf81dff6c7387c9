"""History queries (instance, type or system level), written once for every SQL backend.

Only the placeholder, the "type is one of a list" form, how the JSON column is read and how
"no limit" is written differ between drivers (:class:`HistorySQL`); every value is a bound
parameter.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from typing import Any

from helios_persistence.storage.operations import to_stored
from helios_persistence.storage.types import HistoryEntry, Interaction

__all__ = ["HistorySQL", "history_filter"]

#: an outbox row with the resource version it announces (None for a deletion)
OutboxRow = tuple[int, str, str, str, int, str, int, Any]

#: a driver's ``execute(sql, params)`` returning rows
Execute = Callable[[str, list[Any]], Iterable[Any]]


def history_filter(
    tenant: str,
    resource_type: str | None,
    id: str | None,
    since: int | None,
    at: tuple[int, int] | None,
    types: Collection[str] | None,
    *,
    p: str,
    type_in: Callable[[list[str]], tuple[str, list[Any]]],
) -> tuple[str, list[Any]]:
    """``(condition on alias h, params)``: ``p`` is the placeholder (``?`` or ``%s``);
    ``type_in(types)`` gives the condition and params for ``h.type`` in a list."""
    where = [f"h.tenant = {p}"]
    params: list[Any] = [tenant]
    if types is not None:
        condition, values = type_in(sorted(types))
        where.append(condition)
        params.extend(values)
    if resource_type is not None:
        where.append(f"h.type = {p}")
        params.append(resource_type)
    if id is not None:
        where.append(f"h.id = {p}")
        params.append(id)
    if since is not None:
        where.append(f"h.last_updated >= {p}")
        params.append(since)
    if at is not None:
        # the version was current at some instant of [low, high): it started before `high`
        # and the next version (if any) started after `low`
        where.append(f"h.last_updated < {p}")
        params.append(at[1])
        where.append(
            "NOT EXISTS (SELECT 1 FROM history n WHERE n.tenant = h.tenant AND n.type = h.type "
            f"AND n.id = h.id AND n.version > h.version AND n.last_updated <= {p})"
        )
        params.append(at[0])
    return " AND ".join(where), params


@dataclass(frozen=True, slots=True)
class HistorySQL:
    """One driver's spelling of the history queries."""

    #: the placeholder (``?`` or ``%s``)
    p: str
    #: ``type_in(types)``: the condition and params for ``h.type`` in a list
    type_in: Callable[[list[str]], tuple[str, list[Any]]]
    #: the JSON column read as text
    json: str = "h.json"
    #: the ``LIMIT`` value that means no limit
    no_limit: Any = None

    def where(
        self,
        tenant: str,
        resource_type: str | None,
        id: str | None,
        since: int | None,
        at: tuple[int, int] | None,
        types: Collection[str] | None,
    ) -> tuple[str, list[Any]]:
        return history_filter(
            tenant, resource_type, id, since, at, types, p=self.p, type_in=self.type_in
        )

    def count(
        self,
        execute: Execute,
        tenant: str,
        resource_type: str | None,
        id: str | None,
        *,
        since: int | None,
        at: tuple[int, int] | None,
        types: Collection[str] | None,
    ) -> int:
        where, params = self.where(tenant, resource_type, id, since, at, types)
        rows = list(execute(f"SELECT count(*) FROM history h WHERE {where}", params))
        return int(rows[0][0])

    def entries(
        self,
        execute: Execute,
        tenant: str,
        resource_type: str | None,
        id: str | None,
        *,
        since: int | None,
        at: tuple[int, int] | None,
        count: int | None,
        offset: int,
        types: Collection[str] | None,
    ) -> list[HistoryEntry]:
        """Matching versions, newest first (``types``: only these resource types)."""
        where, params = self.where(tenant, resource_type, id, since, at, types)
        sql = (
            f"SELECT h.type, h.id, h.version, h.last_updated, h.method, {self.json} "
            f"FROM history h WHERE {where} "
            "ORDER BY h.last_updated DESC, h.version DESC, h.type, h.id "
            f"LIMIT {self.p} OFFSET {self.p}"
        )
        params += [self.no_limit if count is None else count, offset]
        return [
            HistoryEntry(to_stored(t, i, int(v), int(lu), text), Interaction(method))
            for t, i, v, lu, method, text in execute(sql, params)
        ]

    def outbox(self, execute: Execute, tenant: str, after: int, limit: int) -> list[OutboxRow]:
        """The tenant's outbox events after sequence number ``after``, oldest first, each with
        the JSON of the version it announces."""
        sql = (
            f"SELECT o.seq, o.tenant, o.type, o.id, o.version, o.operation, o.created_at, "
            f"{self.json} FROM outbox o LEFT JOIN history h ON h.tenant = o.tenant "
            "AND h.type = o.type AND h.id = o.id AND h.version = o.version "
            f"WHERE o.tenant = {self.p} AND o.seq > {self.p} ORDER BY o.seq LIMIT {self.p}"
        )
        return [tuple(row) for row in execute(sql, [tenant, after, limit])]

    def trim_outbox(self, execute: Execute, tenant: str, up_to: int) -> None:
        """Forget the tenant's events up to and including ``up_to`` (every consumer has them)."""
        execute(f"DELETE FROM outbox WHERE tenant = {self.p} AND seq <= {self.p}", [tenant, up_to])
