"""``helios explain``, ``helios status`` and ``helios resync``: a composite store's routing
decisions, health and lag, and the rebuild of a secondary that lost data (``--store
composite://?primary=...&search=...``; a plain store URL is a composite of that primary
alone)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.table import Table

import helios_persistence as hp

__all__ = ["add_parsers", "open_composite"]

console = Console()


def open_composite(url: str, *, base_url: str | None = None, start: bool = True) -> Any:
    """The composite a ``composite://`` URL describes, or one of a plain store URL alone."""
    from helios_persistence.composite import CompositeConfig, composite

    if url.startswith("composite:"):
        config = CompositeConfig.from_url(url)
    else:
        config = CompositeConfig(primary=url)
    options = {"base_url": base_url} if base_url else {}
    return composite(config, start=start, store_options=options)


def cmd_explain(args: argparse.Namespace) -> int:
    with open_composite(args.store, base_url=args.base_url, start=False) as store:
        ctx = hp.TenantContext.for_tenant(args.tenant)
        plan = store.explain(ctx, args.query, run=args.run)
        if args.format == "json":
            print(json.dumps(plan, indent=2, default=str))
            return 0
        f = plan["features"]
        console.print(f"[bold]{plan['query']}")
        console.print(f"features: {', '.join(f['kinds']) or 'none'}; complexity {f['complexity']}")
        console.print(f"strategy: [bold]{plan['strategy']}[/] (primary: {plan['primary']}; "
                      f"costs: {plan['costs']})")  # fmt: skip
        table = Table("part", "feature", "runs on", "ms (primary / chosen)", "why")
        for p in plan["parts"]:
            table.add_row(p["part"], p["feature"], p["backend"],
                          f"{p['cost_primary_ms']} / {p['cost_ms']}", p["reason"])  # fmt: skip
        console.print(table)
        if args.run and plan.get("execution"):
            for run in plan["execution"]["runs"]:
                console.print(f"ran: {run['part']} on {run['backend']} ({run['strategy']}): "
                              f"{run['ids']} ids, {run['ms']} ms {run['note']}")  # fmt: skip
            console.print(f"{plan['matches']} match(es) on the page")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    with open_composite(args.store, base_url=args.base_url, start=False) as store:
        ctx = hp.TenantContext.for_tenant(args.tenant)
        store.health.check_all()  # probe each secondary once
        status = store.status(ctx)
        if args.format == "json":
            print(json.dumps(status, indent=2, default=str))
            return 0
        console.print(f"primary: {status['primary']}; sync: {status['sync']}")
        table = Table("secondary", "engine", "mode", "healthy", "pending", "oldest (s)",
                      "last error")  # fmt: skip
        for s in status["secondaries"]:
            lag, health = s["lag"], s["health"]
            pending = f"{lag['pending']}{'+' if lag['capped'] else ''}"
            table.add_row(s["role"], s["dialect"], s["mode"], str(health["healthy"]), pending,
                          str(lag["oldest_seconds"] if lag["oldest_seconds"] is not None else ""),
                          health["last_error"] or lag["last_error"] or "")  # fmt: skip
        console.print(table)
    return 0


def cmd_resync(args: argparse.Namespace) -> int:
    with open_composite(args.store, base_url=args.base_url, start=False) as store:
        ctx = hp.TenantContext.for_tenant(args.tenant)
        for role, drifts in store.resync(ctx).items():
            for drift in drifts:
                what = "in step" if drift.clean else (
                    f"rebuilt: {len(drift.missing)} missing, {len(drift.extra)} extra, "
                    f"{len(drift.stale)} stale")  # fmt: skip
                console.print(f"{role}: {what}")
    return 0


def add_parsers(
    command: Callable[..., argparse.ArgumentParser], store_option: Callable[..., None]
) -> None:
    """``explain`` and ``status``, with the main CLI's ``--store``/``--tenant`` options."""
    explain = command("explain", "how a composite store would run a search (--run: and run it)")
    explain.add_argument("query", help="e.g. 'Observation?patient.name=smith&_text=cardiac'")
    store_option(explain, reads=True)
    explain.add_argument("--run", action="store_true", help="run it and show what the merger did")
    explain.add_argument(
        "--format", choices=("table", "json"), default="table", help="a table (default) or JSON"
    )
    explain.set_defaults(fn=cmd_explain)

    status = command("status", "health and sync lag of a composite store's secondaries")
    store_option(status, reads=True)
    status.add_argument(
        "--format", choices=("table", "json"), default="table", help="a table (default) or JSON"
    )
    status.set_defaults(fn=cmd_status)

    resync = command(
        "resync", "check a composite's secondaries against the primary; rebuild what differs"
    )
    store_option(resync, reads=True)
    resync.set_defaults(fn=cmd_resync)
