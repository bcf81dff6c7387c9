"""``helios view``: run a ViewDefinition, or print its SQL.

    helios view run VIEW.json --source DIR|FILE|URL [--format csv|ndjson|parquet|json] [--out F]
    helios view sql VIEW.json [--dialect duckdb|sqlite|postgres]

``--source`` is an NDJSON file, a folder of ``*.ndjson`` files (an export), a ``file://`` URL
of one of those, or a store URL (``sqlite:///path.db``, ``postgresql://...``) read through
``--tenant``. Without ``--out`` the rows go to standard output (Parquet needs ``--out``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from helios_persistence.errors import HeliosError, InvalidViewDefinition

__all__ = ["main"]


def _read_view(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise InvalidViewDefinition(f"cannot read {path}: {exc.strerror}") from None


def _source(text: str, tenant: str) -> tuple[Any, Any, Any]:
    """(source, ctx, store to close) for ``--source``."""
    import helios_persistence as hp

    if text.startswith(("sqlite://", "postgresql://", "postgres://")):
        store = hp.open_store(text)
        return store, hp.TenantContext.for_tenant(tenant), store
    if text.startswith(("http://", "https://")):
        raise InvalidViewDefinition(
            "remote sources are not read (no network): download the export and pass its folder",
            not_supported=True,
        )
    return text, None, None


def cmd_run(args: argparse.Namespace) -> int:
    from helios_persistence.views.run import run, serialize

    source, ctx, store = _source(args.source, args.tenant)
    try:
        rows = run(_read_view(args.view), source, ctx, limit=args.limit)
    finally:
        if store is not None:
            store.close()
    body = serialize(rows, args.format)
    if args.out:
        Path(args.out).write_bytes(body)
        print(f"{rows.num_rows} rows written to {args.out}", file=sys.stderr)
    elif args.format == "parquet":
        raise InvalidViewDefinition("--format parquet needs --out FILE")
    else:
        sys.stdout.buffer.write(body)
        sys.stdout.flush()
    return 0


def cmd_sql(args: argparse.Namespace) -> int:
    from helios_persistence.views.view import compile_view

    compiled = compile_view(_read_view(args.view), args.dialect, tenant=args.store_table)
    print(compiled.text + ";")
    for name, value in compiled.params.items():
        print(f"-- {name} = {value!r}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="helios view",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a ViewDefinition over NDJSON, an export or a store")
    run.add_argument("view", help="the ViewDefinition JSON file (- for standard input)")
    run.add_argument("--source", required=True, help="NDJSON file, folder, file:// or store URL")
    run.add_argument("--format", default="csv", choices=["csv", "ndjson", "parquet", "json"])
    run.add_argument("--out", help="output file (default: standard output)")
    run.add_argument("--tenant", default="default", help="tenant of a store source")
    run.add_argument("--limit", type=int, help="at most this many rows")
    run.set_defaults(fn=cmd_run)
    sql = sub.add_parser("sql", help="print the SQL a ViewDefinition compiles to")
    sql.add_argument("view", help="the ViewDefinition JSON file (- for standard input)")
    sql.add_argument("--dialect", default="duckdb", choices=["duckdb", "sqlite", "postgres"])
    sql.add_argument(
        "--store-table",
        action="store_true",
        help="over a store's resources table (tenant and deleted columns)",
    )
    sql.set_defaults(fn=cmd_sql)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    try:
        result: int = args.fn(args)
    except HeliosError as exc:
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    return result
