"""The conformance suite's backends for secondaries (graph, search): "a secondary kept in sync
from a SQLite primary".

Writes go to the primary; the first search of a tenant after a write replays the primary's
outbox into the secondary (``storage.sync.replicate``), then the search runs on the secondary.
A failed change fails the search (a test must never see a half-synced secondary)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from helios_persistence import TenantContext, open_store
from helios_persistence.storage.sync import replicate


class SyncedStore:
    """Loads through a SQLite store, searches ``secondary`` (built by ``open_secondary(**kw)``,
    e.g. with the suite's shared ``registry``) after replaying the outbox into it."""

    def __init__(self, open_secondary: Callable[..., Any], **kw: Any) -> None:
        self.store = open_store("sqlite://", **kw)
        self.secondary = open_secondary(**kw)
        #: the dialect its searches run on
        self.compiler = self.secondary.compiler
        self.positions: dict[str, int] = {}

    def update(self, ctx: TenantContext, resource: dict[str, Any]) -> Any:
        return self.store.update(ctx, resource)

    def delete(self, ctx: TenantContext, resource_type: str, id: str) -> Any:
        return self.store.delete(ctx, resource_type, id)

    def sync(self, ctx: TenantContext) -> None:
        after = self.positions.get(ctx.tenant_key, 0)
        report, self.positions[ctx.tenant_key] = replicate(self.store, self.secondary, ctx,
                                                           after=after)  # fmt: skip
        if report.failed:
            change, reason = report.failed[0]
            raise RuntimeError(f"sync failed on {change.resource_type}/{change.id}: {reason}")

    def search(self, ctx: TenantContext, query: str, **kw: Any) -> Any:
        self.sync(ctx)
        return self.secondary.search(ctx, query, **kw)

    def close(self) -> None:
        self.secondary.close()
        self.store.close()
