"""``store.reindex`` on PostgreSQL: rebuild index rows of stored resources, batch by batch.

As on SQLite: current resources are scanned in ``(type, id)`` order, ``batch`` at a time (one
read transaction), then one write transaction replaces their rows (all of them, or only
those of ``params``). The write locks the batch first and skips any resource whose version
changed since the scan (its newer write indexed it already, with the same registry), so a
reindex never overwrites newer rows. Resumable with ``after=progress.last_key``;
cancellable with ``cancel``.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING, Any

from helios_persistence.backends.sql.reindex_loop import Versions, delete_param_rows, scan_params
from helios_persistence.indexing.reindex_plan import Reindexed
from helios_persistence.tenancy import TenantContext

from . import writer

if TYPE_CHECKING:
    from .store import PostgresStore

__all__ = ["PostgresReindex"]

_SCAN = (
    "SELECT type, id, version, json FROM resources "
    "WHERE tenant = %(tenant)s AND deleted = 0 "
    "AND (%(type)s::text IS NULL OR type = %(type)s::text) "
    "AND (%(after_type)s::text IS NULL OR (type, id) > (%(after_type)s::text, %(after_id)s::text)) "
    "ORDER BY type, id LIMIT %(limit)s"
)


class PostgresReindex:
    """One tenant's (optionally one type's) resources, for :func:`storage.reindex.run_reindex`."""

    def __init__(self, store: PostgresStore, ctx: TenantContext, resource_type: str | None) -> None:
        self.store, self.ctx, self.resource_type = store, ctx, resource_type

    def scan(self, after: Any, batch: int) -> tuple[list[dict[str, Any]], Versions]:
        params = scan_params(self.ctx.tenant_key, self.resource_type, after, batch)
        with self.store.read_session(self.ctx, timeout_ms=0) as s:
            rows = s.conn.execute(_SCAN, params).fetchall()
        versions = {(t, i): int(v) for t, i, v, _ in rows}
        return [body for _, _, _, body in rows], versions

    def rewrite(
        self, items: Sequence[Reindexed], versions: Versions, params: Collection[str] | None
    ) -> None:
        with self.store.write_session(self.ctx) as s:
            s.conn.prefetch(versions)  # locks the batch's resources, in key order
            for item in items:
                assert item.index is not None and item.resource_type and item.id
                key = (item.resource_type, item.id)
                current = s.conn.known.get(key)
                if current is None or current.deleted or current.version != versions.get(key):
                    continue  # changed since the scan: its newer write indexed it
                if params is None:
                    writer.write_index(s.conn, s.tenant, *key, key, item.index)
                else:
                    delete_param_rows(s.conn.execute, "%s", (s.tenant, *key), params)
                    writer.write_index(
                        s.conn, s.tenant, *key, key, item.index, replace=False, text=False
                    )
