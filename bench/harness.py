"""Timing helpers shared by the benchmarks: medians, ratios against a baseline, a report."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

__all__ = ["Measurement", "median_seconds", "report"]

RESULTS = Path(__file__).resolve().parent / "results"


@dataclass
class Measurement:
    """One benchmark row: the library's time, the baseline's, and their ratio."""

    name: str
    ours: float
    baseline: float
    unit: str = "ms"
    note: str = ""
    #: False: the two sides do not give the same answer (no verdict on the ratio)
    comparable: bool = True

    @property
    def ratio(self) -> float:
        return self.ours / self.baseline if self.baseline else float("inf")


def median_seconds(fn: Callable[[], Any], *, repeat: int = 15, warmup: int = 2) -> float:
    """Median wall time of ``fn()`` over ``repeat`` runs after ``warmup`` runs."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def report(
    title: str,
    rows: list[Measurement],
    goal: float | None = None,
    extra: dict[str, Any] | None = None,
) -> None:
    """Print a table and write ``bench/results/<title>.json``."""
    table = Table(title=title)
    for column in ("case", "ours", "baseline", "ratio", "note"):
        table.add_column(column)
    for row in rows:
        verdict = ""
        if goal is not None and row.comparable:
            verdict = " ✓" if row.ratio <= goal else " ✗"
        elif goal is not None:
            verdict = " (not comparable)"
        table.add_row(
            row.name, f"{row.ours:.3f} {row.unit}", f"{row.baseline:.3f} {row.unit}",
            f"{row.ratio:.2f}×{verdict}", row.note,
        )  # fmt: skip
    Console().print(table)
    RESULTS.mkdir(exist_ok=True)
    payload = {
        "title": title,
        "goal_ratio": goal,
        "rows": [asdict(r) | {"ratio": r.ratio} for r in rows],
        **(extra or {}),
    }
    (RESULTS / f"{title.replace(' ', '_')}.json").write_text(json.dumps(payload, indent=2))
