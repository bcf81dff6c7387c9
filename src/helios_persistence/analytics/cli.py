"""``helios export``, ``helios analytics`` and ``helios sql`` (sub-commands of ``helios``)."""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.progress import Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

import helios_persistence as hp
from helios_persistence.errors import HeliosError
from helios_persistence.results import dumps

__all__ = ["add_parsers"]

console = Console()


class _ExportProgress:
    """A bar per type (resources and resources/s) and one for the whole export."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.start = time.perf_counter()
        self.total = progress.add_task("all types", count=0, rate=0.0)
        self.tasks: dict[str, TaskID] = {}

    def __call__(self, counts: dict[str, int]) -> None:
        elapsed = max(time.perf_counter() - self.start, 1e-9)
        for rtype, count in counts.items():
            if rtype not in self.tasks:
                self.tasks[rtype] = self.progress.add_task(rtype, count=0, rate=0.0)
            self.progress.update(self.tasks[rtype], count=count, rate=count / elapsed)
        total = sum(counts.values())
        self.progress.update(self.total, count=total, rate=total / elapsed)


def cmd_export(args: argparse.Namespace) -> int:
    options = {"base_url": args.base_url} if getattr(args, "base_url", None) else {}
    store = hp.open_store(args.store, create=False, **options)
    ctx = hp.TenantContext.for_tenant(args.tenant)
    types = [t for value in args.type for t in value.split(",") if t]
    columns = (
        TextColumn("[bold]{task.description:<24}"),
        TextColumn("{task.fields[count]:>10,} resources"),
        TextColumn("{task.fields[rate]:>10,.0f} /s"),
        TimeElapsedColumn(),
    )
    with store, Progress(*columns, console=console) as progress:
        job = store.export(
            ctx, types=types, since=args.since, type_filter=args.type_filter,
            format=args.format, destination=args.out, level=args.level, group=args.group,
            on_progress=_ExportProgress(progress),
        ).wait()  # fmt: skip
        status, error, manifest = job.status, job.error, job.manifest
    if status != "completed":
        console.print(f"[red]export {status}: {json.dumps(error)}")
        return 2
    console.print(f"{sum(o['count'] for o in manifest['output'])} resources written to {args.out}")
    return 0


def _table(rows: list[tuple[Any, ...]], names: list[str]) -> Table:
    table = Table(*names)
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    return table


def cmd_analytics(args: argparse.Namespace) -> int:
    with hp.open_analytics(args.dir) as lake:
        result = lake.search(args.query)
    if args.bundle:
        print(dumps(result.to_bundle(), indent=True))
        return 0
    rows = [
        (mode, r["resourceType"], r["id"], (r.get("meta") or {}).get("lastUpdated"))
        for mode, group in (("match", result.resources), ("include", result.included))
        for r in group
    ]
    console.print(_table(rows, ["mode", "type", "id", "lastUpdated"]))
    if result.next:
        console.print(f"next: {result.next}")
    return 0


def cmd_sql(args: argparse.Namespace) -> int:
    with hp.open_analytics(args.dir) as lake:
        try:
            relation = lake.sql(args.query)
            names = list(relation.columns)
            rows = relation.fetchall()
        except Exception as exc:  # DuckDB's own errors (syntax, unknown columns)
            if isinstance(exc, HeliosError):
                raise
            console.print(f"[red]{type(exc).__name__}: {exc}")
            return 2
    console.print(_table(rows, names))
    return 0


def add_parsers(
    command: Callable[..., argparse.ArgumentParser],
    store_option: Callable[..., None],
) -> None:
    """``export``, ``analytics`` and ``sql``, made with the main CLI's ``command`` factory and
    ``--store``/``--tenant``/``--base-url`` options."""
    export = command("export", "Bulk Data $export of a store to Parquet or NDJSON")
    store_option(export, reads=True)
    export.add_argument("--type", action="append", default=[], help="resource type(s), repeatable")
    export.add_argument("--since", help="only resources updated after this instant")
    export.add_argument(
        "--type-filter", action="append", default=[], help="e.g. Observation?code=x (repeatable)"
    )
    export.add_argument(
        "--format", choices=("parquet", "ndjson"), default="parquet", help="output format"
    )
    export.add_argument(
        "--level", choices=("system", "patient", "group"), default="system", help="export level"
    )
    export.add_argument("--group", help="the Group id of a group-level export")
    export.add_argument("--out", required=True, help="a directory or URI (file://, s3://)")
    export.set_defaults(fn=cmd_export)

    analytics = command("analytics", "FHIR search over an export (DuckDB)")
    analytics.add_argument("dir", help="the export directory")
    analytics.add_argument("query", help="a FHIR search, e.g. 'Observation?code=8867-4'")
    analytics.add_argument("--bundle", action="store_true", help="print the searchset Bundle")
    analytics.set_defaults(fn=cmd_analytics)

    sql = command("sql", "SQL over an export (DuckDB; a view per resource type)")
    sql.add_argument("dir", help="the export directory")
    sql.add_argument("query", help='e.g. "select gender, count(*) from patient group by 1"')
    sql.set_defaults(fn=cmd_sql)
