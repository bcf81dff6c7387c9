"""``store.reindex`` on SQLite: the scan and the rewrite (the loop is ``storage.reindex``)."""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING, Any

from helios_persistence.backends.sql.reindex_loop import Versions, delete_param_rows, scan_params
from helios_persistence.indexing.reindex_plan import Reindexed
from helios_persistence.tenancy import TenantContext

from . import writer

if TYPE_CHECKING:
    from .store import SQLiteStore

__all__ = ["SQLiteReindex"]

_SCAN = """
SELECT type, id, version, json FROM resources
WHERE tenant = :tenant AND deleted = 0 AND (:type IS NULL OR type = :type)
  AND (:after_type IS NULL OR (type, id) > (:after_type, :after_id))
ORDER BY type, id LIMIT :limit
"""
_CURRENT = "SELECT rowid, version, deleted FROM resources WHERE tenant = ? AND type = ? AND id = ?"


class SQLiteReindex:
    """One tenant's (optionally one type's) resources, for :func:`storage.reindex.run_reindex`."""

    def __init__(self, store: SQLiteStore, ctx: TenantContext, resource_type: str | None) -> None:
        self.store, self.ctx, self.resource_type = store, ctx, resource_type

    def scan(self, after: Any, batch: int) -> tuple[list[dict[str, Any]], Versions]:
        params = scan_params(self.ctx.tenant_key, self.resource_type, after, batch)
        with self.store.read_session(self.ctx) as s:
            rows = s.conn.execute(_SCAN, params).fetchall()
        versions = {(str(t), str(i)): int(str(v)) for t, i, v, _ in rows}
        return [json.loads(str(text)) for _, _, _, text in rows], versions

    def rewrite(
        self, items: Sequence[Reindexed], versions: Versions, params: Collection[str] | None
    ) -> None:
        with self.store.write_session(self.ctx) as s:
            for item in items:
                assert item.index is not None and item.resource_type and item.id
                key = (item.resource_type, item.id)
                current = s.conn.execute(_CURRENT, (s.tenant, *key)).fetchone()
                if current is None or current[2] or current[1] != versions.get(key):
                    continue  # written since the scan: that write indexed it already
                rowid = int(str(current[0]))
                if params is None:
                    writer.write_index(s.conn, s.tenant, *key, rowid, item.index)
                    continue
                delete_param_rows(s.conn.execute, "?", (s.tenant, *key), params)
                buffer = writer.IndexBuffer(text=False)
                buffer.add(s.tenant, *key, rowid, item.index)
                buffer.flush(s.conn)
