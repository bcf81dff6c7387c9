"""``helios conformance --store URL [--cases DIR]``: run the conformance cases against a store.

Each case file's fixtures are written (with ``update``, keeping their ids) into a tenant of
their own, named ``conformance-<fixture names>``, so **point the runner at a scratch
database**: it writes. Every case then runs on the store and on the reference evaluator (over
the resources exactly as the store returned them); the report prints one row per area:
passed, failed, known gaps (declared in :mod:`.gaps` for the store's dialect), and how many
cases the evaluator itself disagrees with (a case file that the evaluator fails is suspect).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from helios_persistence.conformance.cases import (
    Case,
    check,
    fixture_steps,
    live_resources,
    load_cases,
    observe_evaluator,
    observe_store,
    tenant_for,
)
from helios_persistence.conformance.evaluator import Evaluator
from helios_persistence.conformance.gaps import gaps_for

__all__ = ["AreaResult", "CaseResult", "Report", "main", "run"]


@dataclass(frozen=True, slots=True)
class CaseResult:
    case: Case
    problems: tuple[str, ...]
    evaluator_problems: tuple[str, ...]
    known_gap: str | None = None

    @property
    def passed(self) -> bool:
        return not self.problems


@dataclass(slots=True)
class AreaResult:
    area: str
    results: list[CaseResult] = field(default_factory=list)

    @property
    def passed(self) -> int:
        return sum(r.passed for r in self.results)

    @property
    def failed(self) -> int:
        return sum(not r.passed and r.known_gap is None for r in self.results)

    @property
    def gaps(self) -> int:
        return sum(not r.passed and r.known_gap is not None for r in self.results)

    @property
    def evaluator_failed(self) -> int:
        return sum(bool(r.evaluator_problems) for r in self.results)


@dataclass(slots=True)
class Report:
    """The outcome of a run: per area, per case."""

    store_url: str
    dialect: str
    areas: dict[str, AreaResult] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """No unexpected failure (known gaps do not count)."""
        return all(a.failed == 0 for a in self.areas.values())

    @property
    def results(self) -> list[CaseResult]:
        return [r for a in self.areas.values() for r in a.results]

    def table(self) -> str:
        """The per-area pass/fail table as Markdown."""
        lines = [
            "| area | cases | passed | failed | known gaps | evaluator disagrees |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for a in self.areas.values():
            lines.append(
                f"| {a.area} | {len(a.results)} | {a.passed} | {a.failed} | {a.gaps} "
                f"| {a.evaluator_failed} |"
            )
        total = self.results
        lines.append(
            f"| **all** | {len(total)} | {sum(r.passed for r in total)} "
            f"| {sum(a.failed for a in self.areas.values())} "
            f"| {sum(a.gaps for a in self.areas.values())} "
            f"| {sum(a.evaluator_failed for a in self.areas.values())} |"
        )
        return "\n".join(lines)

    def failures(self) -> str:
        """Every unexpected failure (and every evaluator disagreement), with its problems."""
        out = []
        for r in self.results:
            if not r.passed and r.known_gap is None:
                out.append(f"FAIL {r.case.id}: {r.case.query}")
                out.extend(f"    {p}" for p in r.problems)
            if r.evaluator_problems:
                out.append(f"EVALUATOR DISAGREES {r.case.id}: {r.case.query}")
                out.extend(f"    {p}" for p in r.evaluator_problems)
        return "\n".join(out)


def _dialect(store_url: str) -> str:
    from helios_persistence.engines import engine_for_scheme

    scheme = store_url.split(":", 1)[0]
    engine = engine_for_scheme(scheme)
    return engine.name if engine is not None else scheme.lower()


def run(store_url: str, cases_dir: str | Path | None = None, *, create: bool = True) -> Report:
    """Run every case in ``cases_dir`` (default: the packaged cases) against ``store_url``
    (``create=False``: a missing SQLite file is an error, not a new database)."""
    from helios_persistence import TenantContext, open_store

    cases = load_cases(cases_dir)
    dialect = _dialect(store_url)
    known = gaps_for(dialect, cases)
    report = Report(store_url, dialect)
    store = open_store(store_url, create=create)
    try:
        loaded: dict[tuple[str, ...], tuple[TenantContext, Evaluator]] = {}
        for case in cases:
            if case.fixtures not in loaded:
                ctx = TenantContext.for_tenant(tenant_for(case.fixtures))
                steps = fixture_steps(case.fixtures, case.fixtures_dirs)
                stored = live_resources(store, ctx, steps)
                base = getattr(store, "base_url", None)
                loaded[case.fixtures] = (ctx, Evaluator(stored, base_url=base))
            ctx, evaluator = loaded[case.fixtures]
            problems = check(case, observe_store(store, ctx, case))
            evaluator_problems = check(case, observe_evaluator(evaluator, case))
            gap = known.get(case.id)
            area = report.areas.setdefault(case.area, AreaResult(case.area))
            area.results.append(
                CaseResult(
                    case,
                    tuple(problems),
                    tuple(evaluator_problems),
                    gap.reason if gap is not None and problems else None,
                )
            )
    finally:
        close = getattr(store, "close", None)
        if close is not None:
            close()
    return report


def main(argv: Sequence[str] | None = None) -> int:
    """``helios conformance --store URL [--cases DIR] [-v]``; exit status 1 on any unexpected
    failure."""
    parser = argparse.ArgumentParser(
        prog="helios conformance",
        description="Run the FHIR search conformance cases against a store (it writes "
        "fixtures into tenants named conformance-*: use a scratch database).",
    )
    parser.add_argument(
        "--store",
        required=True,
        help="store URL of an existing database, e.g. sqlite:///scratch.db, or sqlite:// "
        "(a new in-memory one)",
    )
    parser.add_argument("--cases", help="a directory of case files (default: the packaged ones)")
    parser.add_argument("-v", "--verbose", action="store_true", help="list every failure")
    args = parser.parse_args(argv)
    report = run(args.store, args.cases, create=False)
    print(f"conformance of {report.store_url} (dialect {report.dialect})\n")
    print(report.table())
    details = report.failures()
    if details and (args.verbose or not report.ok):
        print("\n" + details)
    return 0 if report.ok else 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
