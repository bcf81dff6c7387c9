"""Compile cost: a query whose shape was compiled before (cache hit) vs a new shape.

    python -m bench.bench_compile

Goal (issue 3): a cached compilation adds ≤ 50 µs. The baseline column is the full
compilation of the same query with an empty cache (sqlglot AST + SQL generation).
"""

from __future__ import annotations

import statistics
import time

import helios_persistence as hp
from bench.harness import Measurement, report
from helios_persistence.compilers.sqlite import SQLiteCompiler

QUERIES = [
    "Observation?code=http://loinc.org|8867-4&date=ge2020-01-01&subject=Patient/123",
    "Patient?name=smith&birthdate=lt1980&_sort=-birthdate&_count=20",
    "Observation?subject:Patient.name:contains=smi&value-quantity=gt5.4|http://unitsofmeasure.org|mg",
    "Patient?_has:Observation:patient:code=1234-5&gender:not=male",
    "Observation?component-code-value-quantity=http://loinc.org|8480-6$gt140&_include=Observation:patient",
]


def _variant(query: str, i: int) -> str:
    """The same shape with other values (so the cache, not the values, is measured)."""
    return query.replace("123", str(1000 + i)).replace("smith", f"smith{i}")


def main(argv: list[str] | None = None) -> int:
    compiler = SQLiteCompiler()
    rows = []
    for query in QUERIES:
        parsed = [hp.parse(_variant(query, i)) for i in range(200)]
        cold, warm = [], []
        for q in parsed[:50]:
            SQLiteCompiler._cache.clear()
            start = time.perf_counter()
            compiler.compile(q)
            cold.append(time.perf_counter() - start)
        compiler.compile(parsed[0])
        for q in parsed:
            start = time.perf_counter()
            compiler.compile(q)
            warm.append(time.perf_counter() - start)
        rows.append(
            Measurement(
                query.split("?")[0] + "?" + query.split("?")[1][:40],
                statistics.median(warm) * 1e6,
                statistics.median(cold) * 1e6,
                "µs",
                "cached vs cold compile",
            )
        )
    report("compile cache", rows)
    worst = max(r.ours for r in rows)
    print(f"worst cached compile: {worst:.1f} µs (goal ≤ 50 µs)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
