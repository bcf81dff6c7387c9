"""The ``helios`` command: generate, load, search, compile, and the demo (``make demo``)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.syntax import Syntax
from rich.table import Table

import helios_persistence as hp
from helios_persistence.compilers import ALIASES, DIALECTS
from helios_persistence.errors import HeliosError, InvalidStoreURL
from helios_persistence.loading import Loader, LoadReport, LoadStopped, Source, expand

__all__ = ["main"]

console = Console()
#: progress, messages and errors: stdout stays for the output (``search``, ``generate``)
err_console = Console(stderr=True, soft_wrap=True)

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
        "the polyglot example",
        "Observation?patient.name:contains=smith&_text=heart&code:below=http://loinc.org|8867-4"
        "&_include=Observation:patient",
    ),
    (
        "the polyglot example without code:below",
        "Observation?patient.name:contains=smith&_text=heart&_include=Observation:patient",
    ),
    (
        "terminology (:below follows the stored LOINC fragment)",
        "Observation?code:below=http://loinc.org|85354-9&_count=3",
    ),
]


def _progress(console: Console) -> Progress:
    """Progress in resources, with their rate; the bar and the ETA follow the bytes read."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[resources]:>9,} resources"),
        TextColumn("{task.fields[rate]:>7,.0f}/s"),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


def load_sources(
    store: Any,
    ctx: hp.TenantContext,
    sources: list[Source],
    *,
    console: Console,
    **options: Any,
) -> LoadReport:
    """Load ``sources`` with a progress bar (options as for :class:`Loader`)."""
    with _progress(console) as progress:
        task = progress.add_task("loading", total=None, resources=0, rate=0.0)
        start = time.perf_counter()

        def show(written: int, done: int, total: int | None) -> None:
            rate = written / max(time.perf_counter() - start, 1e-9)
            progress.update(task, completed=done, total=total, resources=written, rate=rate)

        return Loader(store, ctx, on_progress=show, **options).load(sources)


def cmd_generate(args: argparse.Namespace) -> int:
    from helios_persistence.generator import generate

    out = sys.stdout if args.output == "-" else open(args.output, "w", encoding="utf-8")  # noqa: SIM115
    with out:
        for resource in generate(patients=args.patients, seed=args.seed):
            out.write(json.dumps(resource, separators=(",", ":")) + "\n")
    return 0


def cmd_load(args: argparse.Namespace) -> int:
    sources = expand(args.files)
    store = _open(args, create=True)
    ctx = hp.TenantContext.for_tenant(args.tenant)
    with store:
        try:
            report = load_sources(
                store,
                ctx,
                sources,
                console=err_console,
                continue_on_error=args.continue_on_error,
                batch=args.batch,
            )
        except LoadStopped as exc:
            if args.debug:
                err_console.print_exception()
            err_console.print(f"[red]error:[/] {escape(str(exc.failure))}")
            _print_outcome(exc.failure.outcome)
            err_console.print(
                f"stopped after {exc.report.resources:,} resources "
                "(--continue-on-error loads the rest and reports every failure)"
            )
            return 2 if exc.failure.input_error else 1
    for failure in report.failures:
        err_console.print(f"[red]failed:[/] {escape(str(failure))}")
        _print_outcome(failure.outcome)
    files = f"{len(sources)} file{'s' if len(sources) != 1 else ''}"
    err_console.print(
        f"{report.resources:,} resources from {files} in {report.seconds:.1f} s "
        f"({report.rate:,.0f}/s; {report.streamed:,} streamed)"
        + (f"; {report.deferred} Bundle(s) waited for another" if report.deferred else "")
    )
    if report.failures:
        err_console.print(f"[red]{len(report.failures)} failure(s)[/]: not loaded")
        return 2 if all(f.input_error for f in report.failures) else 1
    return 0


def _print_outcome(outcome: dict[str, Any]) -> None:
    err_console.print("  OperationOutcome: " + escape(json.dumps(outcome, separators=(",", ":"))))


def _open(args: argparse.Namespace, *, create: bool) -> Any:
    """The store ``--store`` names (``$HELIOS_STORE`` by default), with ``--base-url``."""
    url = args.store
    if not url:
        raise InvalidStoreURL(
            "no store: pass --store URL (sqlite:///relative.db, sqlite:////absolute.db, "
            "postgresql://...) or set HELIOS_STORE"
        )
    options = {"base_url": args.base_url} if getattr(args, "base_url", None) else {}
    if url.startswith(
        "composite:"
    ):  # a primary with its secondaries (helios_persistence.composite)
        from helios_persistence.composite import composite

        return composite(url, store_options=options)
    return hp.open_store(url, create=create, **options)


def cmd_search(args: argparse.Namespace) -> int:
    store = _open(args, create=False)
    with store:
        result = store.search(hp.TenantContext.for_tenant(args.tenant), args.query)
        resources = list(result.resources) + list(result.included)
        if args.format == "bundle":
            print(json.dumps(result.to_bundle(), indent=2))
        elif args.format == "json":
            print(json.dumps(resources, indent=2))
        elif args.format == "ndjson":
            for resource in resources:
                print(json.dumps(resource, separators=(",", ":")))
        else:
            table = Table("resource", "lastUpdated", "summary", title=args.query)
            table.columns[0].no_wrap = True
            for resource in result.resources:
                table.add_row(*_row(resource, ""))
            for resource in result.included:
                table.add_row(*_row(resource, "[dim]include "))
            console.print(table)
            total = f"{result.total:,} in all" if result.total is not None else ""
            more = "; more: run the next page" if result.next else ""
            console.print(f"{len(result.resources)} match(es) {total}{more}".strip())
    return 0


def _row(resource: dict[str, Any], prefix: str) -> tuple[str, str, str]:
    updated = str((resource.get("meta") or {}).get("lastUpdated", ""))
    return f"{prefix}{resource['resourceType']}/{resource['id']}", updated, _summary(resource)


def cmd_compile(args: argparse.Namespace) -> int:
    registry = None
    if args.store:
        with _open(args, create=False) as store:  # the tenant's custom parameters too
            ctx = hp.TenantContext.for_tenant(args.tenant or "default")
            with store.read_session(ctx):  # (a store registers a tenant's on first use)
                pass
            registry = store.registry_for(ctx)
    parsed = hp.parse(args.query, registry=registry)
    compiled = hp.compile(parsed, dialect=args.dialect, tenant=args.tenant)
    console.print(str(parsed))
    if compiled.body is not None:  # a request body (Elasticsearch): the tenant set at run time
        console.print(Syntax(json.dumps(compiled.body, indent=2), "json", word_wrap=True))
        return 0
    console.print(Syntax(compiled.text, "sql", word_wrap=True))
    console.print(compiled.params)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    if args.path:
        folder = Path(args.path)
        folder.mkdir(parents=True, exist_ok=True)
        return _demo(args, folder)
    with tempfile.TemporaryDirectory(prefix="helios-demo-") as temporary:
        return _demo(args, Path(temporary))


def _demo(args: argparse.Namespace, folder: Path) -> int:
    from helios_persistence.generator import generate_bundles

    db = folder / "demo.db"
    db.unlink(missing_ok=True)
    console.rule("[bold]helios-persistence demo")
    where = db if args.path else f"{db} (removed at the end; --path keeps it)"
    console.print(f"Generating {args.patients} synthetic patients (seed {args.seed}) into {where}")
    bundles = list(generate_bundles(patients=args.patients, seed=args.seed))
    store = hp.open_store(f"sqlite:///{db}")
    ctx = hp.TenantContext.for_tenant("demo")
    with store:
        start = time.perf_counter()
        written = 0
        for bundle in bundles:
            written += len(store.transaction(ctx, bundle).get("entry", []))
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
    table.columns[0].no_wrap = True  # whole ids
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
    code = ((resource.get("code") or {}).get("coding") or [{}])[0]
    value = resource.get("valueQuantity")
    shown = f" = {value.get('value')} {value.get('unit', '')}" if value else ""
    return f"{code.get('display', code.get('code', ''))}{shown}"


def cmd_matrix(args: argparse.Namespace) -> int:
    from helios_persistence.conformance.matrix import main as matrix_main

    return matrix_main([])


class _Help(argparse.RawDescriptionHelpFormatter):
    """Every option's default shown (unless it has none); descriptions kept as written."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "%(default)" not in text and action.default not in (None, False, argparse.SUPPRESS):
            text += " (default: %(default)s)"
        return text


def _store_option(parser: argparse.ArgumentParser, *, reads: bool) -> None:
    env = os.environ.get("HELIOS_STORE")
    what = "an existing database (never created)" if reads else "created if missing"
    parser.add_argument(
        "--store",
        default=env,
        required=env is None,
        help=f"store URL: sqlite:///relative.db, sqlite:////absolute.db, sqlite:// (memory), "
        f"postgresql://user@host/db; {what}; default: $HELIOS_STORE",
    )
    parser.add_argument(
        "--tenant", type=_tenant, default="default", help="tenant id (e.g. acme/research)"
    )
    parser.add_argument(
        "--base-url",
        help="the store's base URL (absolute references to it are local; absolute links)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="helios", description=__doc__, formatter_class=_Help)
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    parser.add_argument(
        "--debug", action="store_true", help="show the Python traceback of an error"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help: str, description: str | None = None) -> argparse.ArgumentParser:
        return sub.add_parser(
            name, help=help, description=description or help, formatter_class=_Help
        )

    demo = command("demo", "generate data, load it into SQLite, run searches")
    demo.add_argument("--patients", type=int, default=60, help="synthetic patients")
    demo.add_argument("--seed", type=int, default=42, help="random seed")
    demo.add_argument("--path", help="keep demo.db in this folder (default: a temporary one)")
    demo.set_defaults(fn=cmd_demo)

    gen = command("generate", "write synthetic resources as NDJSON")
    gen.add_argument("--patients", type=int, default=100, help="synthetic patients")
    gen.add_argument("--seed", type=int, default=42, help="random seed")
    gen.add_argument("--output", "-o", default="-", help="output file (- is stdout)")
    gen.set_defaults(fn=cmd_generate)

    load = command(
        "load",
        "load files, folders, globs or - (stdin) into a store",
        "Load FHIR resources: NDJSON (.ndjson, .jsonl, also .gz), single resources and Bundles "
        "(transaction, batch, collection, searchset), from files, folders (recursively), "
        "glob patterns or - (stdin), e.g. `helios generate | helios load - --store URL`. "
        "Transaction Bundles that only create and update, and batch Bundles that only create "
        "(ifNoneExist kept), are streamed (store.bulk_load); a "
        "Bundle whose conditional references match nothing yet is retried after the others.",
    )
    load.add_argument("files", nargs="+", metavar="PATH", help="file, folder, glob or -")
    _store_option(load, reads=False)
    load.add_argument(
        "--continue-on-error",
        action="store_true",
        help="report each failure (where, OperationOutcome), load the rest, exit 1 at the end",
    )
    load.add_argument("--batch", type=_positive, default=1000, help="resources per transaction")
    load.set_defaults(fn=cmd_load)

    search = command("search", "run a FHIR search on an existing store")
    search.add_argument("query", help="e.g. 'Patient?name=smith&_count=5'")
    _store_option(search, reads=True)
    search.add_argument(
        "--format",
        choices=["bundle", "json", "ndjson", "table"],
        default="bundle",
        help="searchset Bundle, JSON array or NDJSON of the resources, or a table",
    )
    search.set_defaults(fn=cmd_search)

    comp = command("compile", "print the IR and the compiled query with its parameters")
    comp.add_argument("query", help="e.g. 'Observation?date=ge2020'")
    comp.add_argument(
        "--dialect",
        choices=sorted([*DIALECTS, *ALIASES]),
        default="sqlite",
        help="target dialect (postgresql = postgres)",
    )
    comp.add_argument(
        "--store",
        help="an existing store whose search parameters (custom ones included) bind the query",
    )
    comp.add_argument(
        "--tenant", type=_tenant, default="default", help="the :tenant parameter's value"
    )
    comp.set_defaults(fn=cmd_compile)

    matrix = command("matrix", "print the support matrix (the README's table)")
    matrix.set_defaults(fn=cmd_matrix)

    from helios_persistence.analytics.cli import add_parsers as add_analytics_parsers

    add_analytics_parsers(command, _store_option)  # export, analytics, sql
    from helios_persistence.backends.elasticsearch.cli import add_parsers as add_es_parsers

    add_es_parsers(command)  # search-index check|rebuild

    from helios_persistence.backends.neo4j.cli import add_parsers as add_graph_parsers

    add_graph_parsers(command)  # graph check, graph rebuild

    from helios_persistence.composite.cli import add_parsers as add_composite_parsers

    add_composite_parsers(command, _store_option)  # explain, status

    command(
        "view",
        "SQL-on-FHIR views: view run VIEW.json --source DIR|FILE|URL, view sql VIEW.json",
    )
    command(
        "conformance",
        "run the search conformance cases against an existing store (--store URL [--cases DIR])",
    )
    return parser


def _tenant(value: str) -> str:
    try:
        hp.TenantContext.for_tenant(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return value


def _positive(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"not a positive integer: {value!r}")
    return int(value)


def _version() -> str:
    try:
        return version("helios-persistence")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return hp.__version__


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``helios`` command; user mistakes print a message and exit with status 2
    (``--debug`` shows the traceback)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    try:
        rest = [a for a in argv if a != "--debug"]
        if rest[:1] == ["conformance"]:  # its own options: passed through untouched
            from helios_persistence.conformance.runner import main as conformance_main

            return conformance_main(rest[1:])
        if rest[:1] == ["view"]:  # SQL-on-FHIR views: their own sub-commands
            from helios_persistence.views.cli import main as view_main

            return view_main(rest[1:])
        args = build_parser().parse_args(rest)  # (``--debug`` before or after the command)
        args.debug = debug
        result: int = args.fn(args)
        return result
    except KeyboardInterrupt:
        err_console.print("[yellow]cancelled")
        return 130
    except (HeliosError, OSError) as exc:
        if debug:
            err_console.print_exception()
        name = "error" if isinstance(exc, OSError) else type(exc).__name__
        err_console.print(f"[red]{name}:[/] {escape(str(exc))}")
        if not debug:
            err_console.print("[dim](--debug shows the traceback)")
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
