"""``store.reindex`` on PostgreSQL: rebuild index rows of stored resources, batch by batch.

As on SQLite: current resources are scanned in ``(type, id)`` order, ``batch`` at a time (one
read transaction), then one write transaction replaces their rows (all of them, or only
those of ``params``). The write locks the batch first and skips any resource whose version
changed since the scan (its newer write indexed it already, with the same registry), so a
reindex never overwrites newer rows. Resumable with ``after=progress.last_key``;
cancellable with ``cancel``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Iterator
from typing import TYPE_CHECKING, Any

from helios_persistence.indexing.reindex import Progress, plan
from helios_persistence.storage.index_tables import INDEX_TABLES
from helios_persistence.tenancy import Operation, TenantContext

from . import writer

if TYPE_CHECKING:
    from .store import PostgresStore

__all__ = ["reindex"]

_SCAN = (
    "SELECT type, id, version, json FROM resources "
    "WHERE tenant = %(tenant)s AND deleted = 0 "
    "AND (%(type)s::text IS NULL OR type = %(type)s::text) "
    "AND (%(after_type)s::text IS NULL OR (type, id) > (%(after_type)s::text, %(after_id)s::text)) "
    "ORDER BY type, id LIMIT %(limit)s"
)


def _scan(
    store: PostgresStore, ctx: TenantContext, resource_type: str | None, after: Any, batch: int
) -> Iterator[tuple[list[dict[str, Any]], dict[tuple[str, str], int]]]:
    last = tuple(after) if after is not None else (None, None)
    while True:
        params = {
            "tenant": ctx.tenant_key, "type": resource_type, "after_type": last[0],
            "after_id": last[1], "limit": batch,
        }  # fmt: skip
        with store.read_session(ctx, timeout_ms=0) as s:
            rows = s.conn.execute(_SCAN, params).fetchall()
        if not rows:
            return
        versions = {(t, i): int(v) for t, i, v, _ in rows}
        yield [body for _, _, _, body in rows], versions
        last = (rows[-1][0], rows[-1][1])


def _delete_params(s: Any, rtype: str, rid: str, params: Collection[str]) -> None:
    for table in INDEX_TABLES:
        for param in params:
            s.conn.execute(
                f"DELETE FROM {table} WHERE tenant = %s AND type = %s AND id = %s "
                "AND (param = %s OR param LIKE %s ESCAPE '\\')",
                (s.tenant, rtype, rid, param, param.replace("_", "\\_") + "$%"),
            )


def reindex(
    store: PostgresStore,
    ctx: TenantContext,
    resource_type: str | None = None,
    params: Collection[str] | None = None,
    *,
    after: Any = None,
    batch: int = 500,
    cancel: threading.Event | None = None,
    on_progress: Callable[[Progress], None] | None = None,
) -> Progress:
    """Rebuild index rows; see the module docstring. Needs the update permission."""
    ctx.check(Operation.UPDATE, resource_type)
    cancel = cancel or threading.Event()
    progress = Progress(last_key=after)
    done = failed = 0
    for resources, versions in _scan(store, ctx, resource_type, after, batch):
        job = plan(
            resources, registry=store.registry, params=params, after=progress.last_key,
            cancel=cancel,
        )  # fmt: skip
        with store.write_session(ctx) as s:
            s.conn.prefetch(versions)
            for item in job:
                if item.index is None or item.resource_type is None or item.id is None:
                    continue
                key = (item.resource_type, item.id)
                current = s.conn.known.get(key)
                if current is None or current.deleted or current.version != versions.get(key):
                    continue  # changed since the scan: its newer write indexed it
                if params is None:
                    writer.write_index(s.conn, s.tenant, *key, key, item.index)
                else:
                    _delete_params(s, *key, params)
                    writer.write_index(
                        s.conn, s.tenant, *key, key, item.index, replace=False, text=False
                    )
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
