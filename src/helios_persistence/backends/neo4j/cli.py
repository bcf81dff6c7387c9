"""``helios graph check`` and ``helios graph rebuild``: a Neo4j graph store against its
primary (``storage.sync.compare`` and ``storage.sync.rebuild``)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from rich.console import Console

import helios_persistence as hp
from helios_persistence.storage.sync import compare, rebuild

__all__ = ["add_parsers"]

console = Console()


def _open(args: argparse.Namespace) -> tuple[Any, Any, hp.TenantContext]:
    primary = hp.open_store(args.primary, create=False)
    try:
        graph = hp.open_store(args.graph)
    except BaseException:
        primary.close()
        raise
    return primary, graph, hp.TenantContext.for_tenant(args.tenant)


def cmd_check(args: argparse.Namespace) -> int:
    """Report what the graph lacks, holds in excess or holds at another version; exit status
    1 when it differs from the primary."""
    primary, graph, ctx = _open(args)
    with primary, graph:
        drift = compare(primary, graph, ctx)
    for name, keys in (("missing", drift.missing), ("extra", drift.extra), ("stale", drift.stale)):
        shown = ", ".join(f"{t}/{i}" for t, i in keys[: args.show])
        more = f" (+{len(keys) - args.show} more)" if len(keys) > args.show else ""
        console.print(f"{name:<8} {len(keys):>8}  {shown}{more}")
    if drift.clean:
        console.print("[green]the graph matches the primary")
        return 0
    console.print("[yellow]the graph differs from the primary (helios graph rebuild mends it)")
    return 1


def cmd_rebuild(args: argparse.Namespace) -> int:
    """Apply the primary's current resources to the graph and delete what it no longer has."""
    primary, graph, ctx = _open(args)
    with primary, graph:
        report = rebuild(primary, graph, ctx, batch=args.batch)
    console.print(
        f"applied {report.applied}, already current {report.stale}, failed {len(report.failed)}"
    )
    for change, reason in report.failed[: args.show]:
        console.print(f"[red]{change.resource_type}/{change.id}[/]: {reason}")
    return 1 if report.failed else 0


def add_parsers(command: Callable[..., argparse.ArgumentParser]) -> None:
    """``helios graph check|rebuild --primary URL --graph URL``."""
    graph = command("graph", "a Neo4j graph store against its primary: check, rebuild")
    actions = graph.add_subparsers(
        dest="action", required=True, metavar="ACTION", help="check or rebuild the graph"
    )
    for name, fn, help in (
        ("check", cmd_check, "report missing, extra and stale resources (exit 1 if any)"),
        ("rebuild", cmd_rebuild, "bring the graph to the primary's current resources"),
    ):
        action = actions.add_parser(name, help=help, description=help)
        action.add_argument("--primary", required=True, help="the primary store's URL")
        action.add_argument("--graph", required=True, help="the graph store's URL (neo4j://...)")
        action.add_argument("--tenant", default="default", help="tenant id (e.g. acme/research)")
        action.add_argument("--show", type=int, default=10, help="keys shown per kind")
        action.add_argument("--batch", type=int, default=1000, help="changes per apply")
        action.set_defaults(fn=fn)
