"""The conformance suite's DuckDB backend: "DuckDB over an export of the suite's fixtures".

Writes go to a SQLite store; the first search of a tenant after a write exports that tenant
(Parquet, through ``store.export``) and opens the export with ``open_analytics``; searches
then run on DuckDB over the Parquet files."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from helios_persistence import TenantContext, open_analytics, open_store
from helios_persistence.compilers import get_compiler


class ExportedStore:
    """Loads through a SQLite store, searches DuckDB over its export (one per tenant)."""

    #: the dialect its searches run on
    compiler = get_compiler("duckdb")

    def __init__(self, tmp: Path, **kw: Any) -> None:
        self.store = open_store("sqlite://", **kw)
        self.tmp = Path(tmp)
        self.lakes: dict[str, Any] = {}
        self.numbers = itertools.count()

    def update(self, ctx: TenantContext, resource: dict[str, Any]) -> Any:
        self._stale(ctx)
        return self.store.update(ctx, resource)

    def delete(self, ctx: TenantContext, resource_type: str, id: str) -> Any:
        self._stale(ctx)
        return self.store.delete(ctx, resource_type, id)

    def _stale(self, ctx: TenantContext) -> None:
        lake = self.lakes.pop(ctx.tenant_key, None)
        if lake is not None:
            lake.close()

    def lake(self, ctx: TenantContext) -> Any:
        lake = self.lakes.get(ctx.tenant_key)
        if lake is None:
            folder = self.tmp / f"export-{next(self.numbers)}"
            job = self.store.export(ctx, destination=str(folder)).wait()
            if job.status != "completed":
                raise RuntimeError(f"export failed: {job.error}")
            lake = self.lakes[ctx.tenant_key] = open_analytics(
                str(folder), registry=self.store.registry
            )
        return lake

    def search(self, ctx: TenantContext, query: str, **kw: Any) -> Any:
        return self.lake(ctx).search(query, **kw)

    def close(self) -> None:
        for lake in self.lakes.values():
            lake.close()
        self.store.close()
