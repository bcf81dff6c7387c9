"""The ``helios`` command: generate, load, search, compile, and the demo (``make demo``)."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.syntax import Syntax
from rich.table import Table

import helios_persistence as hp
from helios_persistence.errors import HeliosError
from helios_persistence.storage import exact_json

__all__ = ["main"]

console = Console()

#: the searches the demo runs: (what it shows, query)
DEMO_QUERIES = [
    ("token", "Observation?code=http://loinc.org|8867-4&_count=3"),
    ("string, accent- and case-insensitive", "Patient?name=muller&_count=3"),
    ("date range (a year) and sort", "Observation?date=2021&_sort=-date&_count=3"),
    (
        "quantity with UCUM conversion",
        "Observation?value-quantity=gt70|http://unitsofmeasure.org|kg&_count=3",
    ),
    (
        "chain and _include",
        "Observation?patient.name:contains=smith&code=http://loinc.org|8867-4&_include=Observation:patient&_count=2",
    ),
    (
        "reverse chain (_has)",
        "Patient?_has:Condition:patient:code=http://snomed.info/sct|53741008&_count=3",
    ),
    ("full text (_text)", "Patient?_text=cardiac&_count=3"),
    ("_filter", "Patient?_filter=gender eq female and birthdate lt 1975&_count=3"),
    (
        "composite",
        "Observation?component-code-value-quantity=http://loinc.org|8480-6$gt140&_count=3",
    ),
    (
        "the polyglot example (code:below needs the terminology issue: shown as an error)",
        "Observation?patient.name:contains=smith&_text=cardiac&code:below=http://loinc.org|8867-4"
        "&_include=Observation:patient",
    ),
    (
        "the polyglot example without code:below",
        "Observation?patient.name:contains=smith&_text=heart&_include=Observation:patient",
    ),
]


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


def load_bundles(
    store: Any, ctx: hp.TenantContext, bundles: Iterable[dict[str, Any]], total: int
) -> int:
    """Run each Bundle as a transaction (batch Bundles as batches); returns resources written."""
    written = 0
    with _progress() as progress:
        task = progress.add_task("loading", total=total)
        for bundle in bundles:
            response = store.transaction(ctx, bundle)
            written += len(response.get("entry", []))
            progress.advance(task)
    return written


def cmd_generate(args: argparse.Namespace) -> int:
    from helios_persistence.generator import generate

    out = sys.stdout if args.output == "-" else open(args.output, "w", encoding="utf-8")  # noqa: SIM115
    with out:
        for resource in generate(patients=args.patients, seed=args.seed):
            out.write(json.dumps(resource, separators=(",", ":")) + "\n")
    return 0


def cmd_load(args: argparse.Namespace) -> int:
    store = hp.open_store(args.store)
    ctx = hp.TenantContext.for_tenant(args.tenant)
    files = [Path(p) for p in args.files]
    start = time.perf_counter()
    count = 0
    with store, _progress() as progress:
        task = progress.add_task("loading", total=len(files))
        for path in files:
            if path.suffix == ".ndjson":
                created: list[str] = []
                count += store.bulk_load(ctx, _with_ids(store, ctx, path, created))
                count += len(created)
            else:
                document = exact_json.loads(path.read_text(encoding="utf-8"))
                if document.get("resourceType") == "Bundle" and document.get("type") in (
                    "transaction",
                    "batch",
                ):
                    count += len(store.transaction(ctx, document).get("entry", []))
                else:
                    _put(store, ctx, document)
                    count += 1
            progress.advance(task)
    console.print(f"{count} resources in {time.perf_counter() - start:.1f} s")
    return 0


def _with_ids(
    store: Any, ctx: hp.TenantContext, path: Path, created: list[str]
) -> Iterator[dict[str, Any]]:
    """The resources of an NDJSON file that have ids (for ``bulk_load``); the others are
    created on the way (the server assigns their ids, appended to ``created``)."""
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                resource = exact_json.loads(line)  # decimals keep their written digits
                if isinstance(resource, dict) and resource.get("id"):
                    yield resource
                else:
                    created.append(store.create(ctx, resource).id)


def _put(store: Any, ctx: hp.TenantContext, resource: dict[str, Any]) -> None:
    if resource.get("id"):
        store.update(ctx, resource)
    else:
        store.create(ctx, resource)


def cmd_search(args: argparse.Namespace) -> int:
    store = hp.open_store(args.store)
    with store:
        result = store.search(hp.TenantContext.for_tenant(args.tenant), args.query)
        print(json.dumps(result.to_bundle(), indent=2))
    return 0


def cmd_compile(args: argparse.Namespace) -> int:
    compiled = hp.compile(hp.parse(args.query), dialect=args.dialect)
    console.print(str(hp.parse(args.query)))
    console.print(Syntax(compiled.text, "sql", word_wrap=True))
    console.print(compiled.params)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from helios_persistence.generator import generate_bundles

    folder = Path(args.path) if args.path else Path(tempfile.mkdtemp(prefix="helios-demo-"))
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "demo.db"
    db.unlink(missing_ok=True)
    console.rule("[bold]helios-persistence demo")
    console.print(f"Generating {args.patients} synthetic patients (seed {args.seed}) into {db}")
    bundles = list(generate_bundles(patients=args.patients, seed=args.seed))
    store = hp.open_store(f"sqlite:///{db}")
    ctx = hp.TenantContext.for_tenant("demo")
    with store:
        start = time.perf_counter()
        written = load_bundles(store, ctx, bundles, len(bundles))
        elapsed = time.perf_counter() - start
        store.optimize(ctx)
        console.print(
            f"Loaded {written} resources in {elapsed:.1f} s ({written / elapsed:,.0f}/s)\n"
        )
        for title, query in DEMO_QUERIES:
            _demo_search(store, ctx, title, query)
    return 0


def _demo_search(store: Any, ctx: hp.TenantContext, title: str, query: str) -> None:
    console.rule(title)
    console.print(f"[bold cyan]{query}")
    try:
        parsed = hp.parse(query)
        compiled = hp.compile(parsed, dialect="sqlite")
        result = store.search(ctx, query)
    except HeliosError as exc:
        console.print(f"[yellow]{type(exc).__name__}: {exc}")
        return
    console.print(f"IR: {parsed}")
    console.print(Syntax(compiled.text, "sql", word_wrap=True, theme="ansi_dark"))
    table = Table("match", "summary")
    for resource in result.resources:
        table.add_row(f"{resource['resourceType']}/{resource['id']}", _summary(resource))
    for resource in result.included:
        table.add_row(
            f"[dim]include {resource['resourceType']}/{resource['id']}", _summary(resource)
        )
    console.print(table)


def _summary(resource: dict[str, Any]) -> str:
    if resource["resourceType"] == "Patient":
        name = (resource.get("name") or [{}])[0]
        given = " ".join(name.get("given", []))
        return f"{given} {name.get('family', '')}, born {resource.get('birthDate', '?')}"
    code = (resource.get("code") or {}).get("coding", [{}])[0]
    value = resource.get("valueQuantity")
    shown = f" = {value.get('value')} {value.get('unit', '')}" if value else ""
    return f"{code.get('display', code.get('code', ''))}{shown}"


def cmd_matrix(args: argparse.Namespace) -> int:
    from helios_persistence.conformance.matrix import main as matrix_main

    return matrix_main([])


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="helios", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="generate data, load it into SQLite, run searches")
    demo.add_argument("--patients", type=int, default=60)
    demo.add_argument("--seed", type=int, default=42)
    demo.add_argument("--path", help="folder for demo.db (default: a new temporary folder)")
    demo.set_defaults(fn=cmd_demo)

    gen = sub.add_parser("generate", help="write synthetic resources as NDJSON")
    gen.add_argument("--patients", type=int, default=100)
    gen.add_argument("--seed", type=int, default=42)
    gen.add_argument("--output", "-o", default="-")
    gen.set_defaults(fn=cmd_generate)

    load = sub.add_parser("load", help="load JSON/NDJSON files or Bundles into a store")
    load.add_argument("files", nargs="+")
    load.add_argument("--store", default="sqlite:///helios.db")
    load.add_argument("--tenant", default="default")
    load.set_defaults(fn=cmd_load)

    search = sub.add_parser("search", help="run a FHIR search and print the Bundle")
    search.add_argument("query")
    search.add_argument("--store", default="sqlite:///helios.db")
    search.add_argument("--tenant", default="default")
    search.set_defaults(fn=cmd_search)

    comp = sub.add_parser("compile", help="print the IR and the compiled query")
    comp.add_argument("query")
    comp.add_argument("--dialect", default="sqlite")
    comp.set_defaults(fn=cmd_compile)

    matrix = sub.add_parser("matrix", help="print the support matrix (the README's table)")
    matrix.set_defaults(fn=cmd_matrix)

    from helios_persistence.analytics.cli import add_parsers as add_analytics_parsers

    add_analytics_parsers(sub)  # export, analytics, sql

    sub.add_parser(
        "conformance",
        help="run the search conformance cases against a store (--store URL [--cases DIR])",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["conformance"]:  # its own options: pass them through untouched
        from helios_persistence.conformance.runner import main as conformance_main

        return conformance_main(argv[1:])
    args = build_parser().parse_args(argv)
    try:
        result: int = args.fn(args)
    except HeliosError as exc:
        console.print(f"[red]{type(exc).__name__}: {exc}")
        return 2
    return result


if __name__ == "__main__":
    raise SystemExit(main())
