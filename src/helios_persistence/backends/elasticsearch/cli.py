"""``helios search-index check|rebuild``: an Elasticsearch search index against its primary.

``check`` reports the documents the index lacks (*missing*), holds for resources the primary
no longer has (*extra*) and holds at another version (*stale*), with
:func:`helios_persistence.storage.sync.compare`; it exits 1 when there is any drift.
``rebuild`` brings the index to the primary's current resources
(:func:`helios_persistence.storage.sync.rebuild`) and checks again.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.table import Table

import helios_persistence as hp
from helios_persistence.storage.sync import Drift, compare, rebuild

__all__ = ["add_parsers"]

console = Console()
#: how many ``type/id`` of each kind of drift are printed
SHOWN = 10


def _open(args: argparse.Namespace) -> tuple[Any, Any, hp.TenantContext]:
    primary = hp.open_store(args.primary, create=False)
    index = hp.open_store(args.index)
    return primary, index, hp.TenantContext.for_tenant(args.tenant)


def _report(drift: Drift) -> int:
    table = Table("drift", "documents", "first ones")
    for name in ("missing", "extra", "stale"):
        keys = getattr(drift, name)
        shown = ", ".join(f"{t}/{i}" for t, i in keys[:SHOWN])
        table.add_row(name, f"{len(keys):,}", shown + (" ..." if len(keys) > SHOWN else ""))
    console.print(table)
    if drift.clean:
        console.print("[green]the search index matches the primary")
        return 0
    console.print("[yellow]the search index differs from the primary "
                  "(helios search-index rebuild brings it in line)")  # fmt: skip
    return 1


def cmd_check(args: argparse.Namespace) -> int:
    primary, index, ctx = _open(args)
    try:
        return _report(compare(primary, index, ctx))
    finally:
        index.close()
        primary.close()


def cmd_rebuild(args: argparse.Namespace) -> int:
    primary, index, ctx = _open(args)
    try:
        report = rebuild(primary, index, ctx, batch=args.batch)
        console.print(f"applied {report.applied:,}, already current {report.stale:,}, "
                      f"failed {len(report.failed):,}")  # fmt: skip
        for change, reason in report.failed[:SHOWN]:
            console.print(f"[red]{change.resource_type}/{change.id}[/]: {reason}")
        return max(_report(compare(primary, index, ctx)), 1 if report.failed else 0)
    finally:
        index.close()
        primary.close()


def add_parsers(command: Callable[..., argparse.ArgumentParser]) -> None:
    """``search-index`` and its sub-commands, under the ``helios`` parser."""
    parser = command(
        "search-index",
        "check or rebuild an Elasticsearch search index against its primary store",
    )
    sub = parser.add_subparsers(
        dest="action", required=True, metavar="ACTION", help="check or rebuild"
    )
    for name, fn, help in (
        ("check", cmd_check, "report missing, extra and stale documents (exit 1 on drift)"),
        ("rebuild", cmd_rebuild, "apply the primary's current resources, delete the rest"),
    ):
        action = sub.add_parser(name, help=help, description=help)
        action.add_argument("--primary", required=True, help="the primary store's URL")
        action.add_argument(
            "--index", required=True, help="the search store's URL (elasticsearch://host:9200)"
        )
        action.add_argument("--tenant", default="default", help="the tenant to compare")
        if name == "rebuild":
            action.add_argument("--batch", type=int, default=1000, help="changes per bulk apply")
        action.set_defaults(fn=fn)
