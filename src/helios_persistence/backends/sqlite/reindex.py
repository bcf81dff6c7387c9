"""``store.reindex``: rebuild index rows of stored resources with the current registry.

Runs after a custom SearchParameter is added or changed (its values exist only in resources
written afterwards) or after an extraction fix. The scan walks current resources in
``(type, id)`` order, ``batch`` at a time: one read for the batch, then one write transaction
that replaces the rows (all of them, or only those of ``params``). The returned
:class:`~helios_persistence.indexing.reindex.Progress` carries ``last_key``; passing it back
as ``after`` resumes an interrupted or cancelled run without redoing or missing anything.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Collection, Iterator
from typing import TYPE_CHECKING, Any

from helios_persistence.indexing.reindex import Progress, plan
from helios_persistence.tenancy import Operation, TenantContext

from . import writer

if TYPE_CHECKING:
    from .store import SQLiteStore

__all__ = ["reindex"]

_SCAN = """
SELECT type, id, version, json FROM resources
WHERE tenant = :tenant AND deleted = 0 AND (:type IS NULL OR type = :type)
  AND (:after_type IS NULL OR (type, id) > (:after_type, :after_id))
ORDER BY type, id LIMIT :limit
"""
_CURRENT = "SELECT rowid, version, deleted FROM resources WHERE tenant = ? AND type = ? AND id = ?"


def _scan(
    store: SQLiteStore, ctx: TenantContext, resource_type: str | None, after: Any, batch: int
) -> Iterator[tuple[list[dict[str, Any]], dict[tuple[str, str], int]]]:
    """Batches of current resources, with the version each was read at."""
    last = tuple(after) if after is not None else (None, None)
    while True:
        params = {
            "tenant": ctx.tenant_key, "type": resource_type, "after_type": last[0],
            "after_id": last[1], "limit": batch,
        }  # fmt: skip
        with store.read_session(ctx) as s:
            rows = s.conn.execute(_SCAN, params).fetchall()
        if not rows:
            return
        versions = {(str(t), str(i)): int(str(v)) for t, i, v, _ in rows}
        yield [json.loads(str(text)) for _, _, _, text in rows], versions
        last = (rows[-1][0], rows[-1][1])


def _delete_params(conn: Any, tenant: str, rtype: str, rid: str, params: Collection[str]) -> None:
    for table in writer.INDEX_TABLES:
        for param in params:
            conn.execute(
                f"DELETE FROM {table} WHERE tenant = ? AND type = ? AND id = ? "
                "AND (param = ? OR param LIKE ? ESCAPE '\\')",
                (tenant, rtype, rid, param, param.replace("_", "\\_") + "$%"),
            )


def reindex(
    store: SQLiteStore,
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
            for item in job:
                if item.index is None or item.resource_type is None or item.id is None:
                    continue
                key = (item.resource_type, item.id)
                current = s.conn.execute(_CURRENT, (s.tenant, *key)).fetchone()
                if current is None or current[2] or current[1] != versions.get(key):
                    continue  # written since the scan: that write indexed it already
                rowid = int(str(current[0]))
                if params is None:
                    writer.write_index(
                        s.conn, s.tenant, item.resource_type, item.id, rowid, item.index
                    )
                else:
                    _delete_params(s.conn, s.tenant, item.resource_type, item.id, params)
                    buffer = writer.IndexBuffer(text=False)
                    buffer.add(s.tenant, item.resource_type, item.id, rowid, item.index)
                    buffer.flush(s.conn)
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
