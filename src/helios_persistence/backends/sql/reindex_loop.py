"""``store.reindex`` for every SQL backend: the batch loop, progress, cancel and resume.

A backend supplies two things: ``scan(after, batch)`` — current resources after a
``(type, id)`` key, in that order, with the version each was read at — and
``rewrite(items, versions, params)`` — one write transaction that replaces the rows of each
item whose version is still the scanned one (a resource written since the scan was indexed by
that write, so a reindex never overwrites newer rows). Resumable with
``after=progress.last_key``; cancellable with ``cancel``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Sequence
from typing import Any, Protocol

from helios_persistence.backends.sql.index_tables import INDEX_TABLES
from helios_persistence.indexing.reindex_plan import Progress, Reindexed, plan
from helios_persistence.registry import Registry

__all__ = ["ReindexTarget", "delete_param_rows", "run_reindex", "scan_params"]

#: ``(type, id)`` → the version a resource had when it was scanned
Versions = dict[tuple[str, str], int]


class ReindexTarget(Protocol):
    def scan(self, after: Any, batch: int) -> tuple[list[dict[str, Any]], Versions]: ...

    def rewrite(
        self, items: Sequence[Reindexed], versions: Versions, params: Collection[str] | None
    ) -> None: ...


def scan_params(tenant: str, resource_type: str | None, after: Any, batch: int) -> dict[str, Any]:
    """The named parameters of a backend's scan: the next ``batch`` resources of ``tenant``
    (of ``resource_type``, if given) after the ``(type, id)`` key ``after`` (None: from the
    start), in key order."""
    last = tuple(after) if after is not None else (None, None)
    return {
        "tenant": tenant, "type": resource_type, "after_type": last[0], "after_id": last[1],
        "limit": batch,
    }  # fmt: skip


def delete_param_rows(
    execute: Callable[[str, tuple[Any, ...]], Any],
    placeholder: str,
    key: tuple[str, str, str],
    params: Collection[str],
) -> None:
    """Delete one resource's rows of ``params`` (composite components ``<param>$<i>`` too)."""
    p = placeholder
    for table in INDEX_TABLES:
        for param in params:
            execute(
                f"DELETE FROM {table} WHERE tenant = {p} AND type = {p} AND id = {p} "
                f"AND (param = {p} OR param LIKE {p} ESCAPE '\\')",
                (*key, param, param.replace("_", "\\_") + "$%"),
            )


def run_reindex(
    target: ReindexTarget,
    registry: Registry,
    params: Collection[str] | None = None,
    *,
    after: Any = None,
    batch: int = 500,
    cancel: threading.Event | None = None,
    on_progress: Callable[[Progress], None] | None = None,
) -> Progress:
    """Rebuild index rows batch by batch; returns the final (or cancelled) progress."""
    cancel = cancel or threading.Event()
    progress = Progress(last_key=after)
    done = failed = 0
    while True:
        resources, versions = target.scan(progress.last_key, batch)
        if not resources:
            break
        job = plan(
            resources, registry=registry, params=params, after=progress.last_key, cancel=cancel
        )
        items = [item for item in job if item.index is not None and item.id is not None]
        target.rewrite(items, versions, params)
        done += job.progress.done
        failed += job.progress.failed
        progress = Progress(
            done=done, failed=failed, last_key=job.progress.last_key,
            cancelled=job.progress.cancelled,
        )  # fmt: skip
        if on_progress is not None:
            on_progress(progress)
        if job.progress.cancelled:
            return progress
    progress = Progress(done=done, failed=failed, last_key=progress.last_key, finished=True)
    if on_progress is not None:
        on_progress(progress)
    return progress
