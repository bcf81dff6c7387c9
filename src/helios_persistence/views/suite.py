"""The official SQL-on-FHIR v2 test suite, run on any dialect, with its ``test_report.json``.

A suite file is ``{title, resources, tests: [{title, view, expect | expectColumns |
expectError}]}``. Results are compared as the spec's harness does: rows as an unordered
collection of objects (a row is equal when every column is; numbers by value, so ``5`` equals
``5.0``; a collection column is an ordered list), ``expectColumns`` as the ordered column
names, ``expectError`` as "the view is rejected" (an
:class:`~helios_persistence.errors.InvalidViewDefinition`).

The report is the suite's format: ``{"<file>.json": {"tests": [{"name": title, "result":
{"passed": bool[, "reason": text]}}]}}``.

    python -m helios_persistence.views.suite TESTS_DIR --dialect duckdb --out test_report.json
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from helios_persistence.errors import HeliosError, InvalidViewDefinition
from helios_persistence.views.run import run
from helios_persistence.views.sources import DuckDBSource, SQLSource, ViewSource

__all__ = [
    "Case",
    "check",
    "engine",
    "load_cases",
    "rows_match",
    "run_suite",
    "write_report",
]


@dataclass(frozen=True, slots=True)
class Case:
    """One test of one suite file."""

    file: str
    title: str
    resources: tuple[dict[str, Any], ...]
    view: Any
    expect: tuple[dict[str, Any], ...] | None
    expect_columns: tuple[str, ...] | None
    expect_error: bool

    @property
    def id(self) -> str:
        return f"{self.file.removesuffix('.json')}::{self.title}"


def load_cases(folder: str | Path) -> list[Case]:
    """Every case of every ``*.json`` file of ``folder``, in file order."""
    cases: list[Case] = []
    for path in sorted(Path(folder).glob("*.json")):
        suite = json.loads(path.read_text(encoding="utf-8"))
        resources = tuple(suite.get("resources", ()))
        for test in suite.get("tests", ()):
            expect = test.get("expect")
            columns = test.get("expectColumns")
            cases.append(
                Case(
                    path.name,
                    test["title"],
                    resources,
                    test.get("view"),
                    tuple(expect) if expect is not None else None,
                    tuple(columns) if columns is not None else None,
                    bool(test.get("expectError")),
                )
            )
    return cases


def _canonical(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    return str(value)


def rows_match(actual: list[dict[str, Any]], expected: list[dict[str, Any]]) -> bool:
    """Equal as unordered collections of rows (numbers by value)."""

    def key(row: dict[str, Any]) -> bytes:
        return orjson.dumps(_canonical(row), option=orjson.OPT_SORT_KEYS)

    return sorted(map(key, actual)) == sorted(map(key, expected))


def check(case: Case, source: ViewSource) -> str | None:
    """None when ``case`` passes on ``source``, else why it does not."""
    try:
        table = run(case.view, source)
    except InvalidViewDefinition as exc:
        return None if case.expect_error else f"rejected: {exc}"
    except Exception as exc:  # a database error is a failed case, reported with its text
        return f"{type(exc).__name__}: {exc}"
    if case.expect_error:
        return "expected an error, the view ran"
    if case.expect_columns is not None:
        if table.column_names != list(case.expect_columns):
            return f"columns {table.column_names} != {list(case.expect_columns)}"
        return None
    rows = table.to_pylist()
    if not rows_match(rows, list(case.expect or ())):
        return f"rows {rows} != {list(case.expect or ())}"
    return None


# -- engines: load a case's resources into a fresh table of a dialect --------------------------
Loader = Callable[[tuple[dict[str, Any], ...]], ViewSource]


@contextmanager
def engine(dialect: str, url: str | None = None) -> Iterator[Loader]:
    """A loader of resources into a fresh ``resources`` table of ``dialect`` (PostgreSQL:
    ``url``, in a schema of its own dropped at the end)."""
    if dialect == "duckdb":
        yield lambda resources: DuckDBSource.from_resources(list(resources))
    elif dialect == "sqlite":
        import apsw

        conn: Any = apsw.Connection(":memory:")
        conn.execute("CREATE TABLE resources (type TEXT NOT NULL, json TEXT)")

        def load_sqlite(resources: tuple[dict[str, Any], ...]) -> ViewSource:
            with conn:
                conn.execute("DELETE FROM resources")
                conn.executemany(
                    "INSERT INTO resources VALUES (?, ?)",
                    [(r.get("resourceType"), orjson.dumps(r).decode()) for r in resources],
                )
            return SQLSource(conn, "sqlite")

        yield load_sqlite
        conn.close()
    elif dialect == "postgres":
        import psycopg

        if url is None:
            raise HeliosError("the postgres engine needs a url")
        schema = f"views_suite_{uuid.uuid4().hex[:12]}"
        pg: Any = psycopg.connect(url, autocommit=True)
        pg.execute(f'CREATE SCHEMA "{schema}"')
        pg.execute(f'SET search_path TO "{schema}"')
        pg.execute("CREATE TABLE resources (type TEXT NOT NULL, json JSONB)")

        def load_postgres(resources: tuple[dict[str, Any], ...]) -> ViewSource:
            pg.execute("TRUNCATE resources")
            with pg.cursor() as cur:
                cur.executemany(
                    "INSERT INTO resources VALUES (%s, %s::jsonb)",
                    [(r.get("resourceType"), orjson.dumps(r).decode()) for r in resources],
                )
            return SQLSource(pg, "postgres")

        try:
            yield load_postgres
        finally:
            pg.execute(f'DROP SCHEMA "{schema}" CASCADE')
            pg.close()
    else:
        raise InvalidViewDefinition(f"unknown dialect {dialect!r}")


def run_suite(
    folder: str | Path, dialect: str = "duckdb", url: str | None = None
) -> dict[str, Any]:
    """Run every case of ``folder`` on ``dialect``; the ``test_report.json`` content."""
    report: dict[str, Any] = {}
    with engine(dialect, url) as load:
        for case in load_cases(folder):
            reason = check(case, load(case.resources))
            result: dict[str, Any] = {"passed": reason is None}
            if reason is not None:
                result["reason"] = reason
            report.setdefault(case.file, {"tests": []})["tests"].append(
                {"name": case.title, "result": result}
            )
    return report


def write_report(report: dict[str, Any], path: str | Path) -> None:
    Path(path).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="run the SQL-on-FHIR v2 test suite")
    parser.add_argument("folder")
    parser.add_argument("--dialect", default="duckdb", choices=["duckdb", "sqlite", "postgres"])
    parser.add_argument("--url", help="PostgreSQL URL (postgres dialect)")
    parser.add_argument("--out", default="test_report.json")
    args = parser.parse_args(argv)
    report = run_suite(args.folder, args.dialect, args.url)
    write_report(report, args.out)
    results = [t["result"]["passed"] for f in report.values() for t in f["tests"]]
    print(f"{sum(results)}/{len(results)} passed on {args.dialect}; report: {args.out}")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
