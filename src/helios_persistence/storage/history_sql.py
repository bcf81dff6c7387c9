"""The WHERE clause of a history query (instance, type or system level), for every SQL backend.

Only the placeholder and the "type is one of a list" form differ between drivers; every value
is a bound parameter.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

__all__ = ["history_filter"]


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
