"""Index extraction throughput on the Synthea resources, as a ratio to ``json.loads``.

    python -m bench.bench_extraction [--repeat 3] [--limit N] [--fhirpathpy 200]

Every Synthea resource (``urn:uuid:`` references rewritten to ``Type/id`` as a transaction
would) is serialised once; the benchmark then times ``json.loads`` of those texts and
``extract`` of the parsed resources (plans compiled and UCUM loaded beforehand, best of
``--repeat`` runs), and prints resources/s for both and their ratio. The goal is extraction
≤ 10× the parse. ``--fhirpathpy N`` also times plain fhirpathpy on N Observations, for scale.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from helios_persistence.indexing import extract, plan_for
from helios_persistence.indexing.fhirpath import evaluate_slow
from helios_persistence.registry import default_registry


def shared_data() -> Path:
    env = os.environ.get("HELIOS_SHARED_DATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


def _rewrite(node: Any, mapping: dict[str, str]) -> None:
    if type(node) is dict:
        ref = node.get("reference")
        if type(ref) is str and ref in mapping:
            node["reference"] = mapping[ref]
        for value in node.values():
            if type(value) in (dict, list):
                _rewrite(value, mapping)
    elif type(node) is list:
        for value in node:
            _rewrite(value, mapping)


def synthea_resources(directory: Path) -> Iterator[dict[str, Any]]:
    for path in sorted(directory.glob("*.json")):
        bundle = json.loads(path.read_text(encoding="utf-8"))
        entries = [e for e in bundle.get("entry", ()) if "resource" in e]
        mapping = {
            e["fullUrl"]: f"{e['resource']['resourceType']}/{e['resource']['id']}"
            for e in entries
            if "fullUrl" in e and "id" in e["resource"]
        }
        for entry in entries:
            _rewrite(entry["resource"], mapping)
            yield entry["resource"]


def best_of(repeat: int, fn: Callable[[], None]) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--limit", type=int, default=None, help="use the first N resources")
    parser.add_argument("--fhirpathpy", type=int, default=200, metavar="N",
                        help="also time plain fhirpathpy on N Observations (0: skip)")  # fmt: skip
    args = parser.parse_args(argv)

    directory = shared_data() / "synthea"
    if not directory.is_dir():
        print(f"Synthea data not found in {directory} (set HELIOS_SHARED_DATA)", file=sys.stderr)
        return 2
    resources = list(synthea_resources(directory))[: args.limit]
    texts = [json.dumps(r) for r in resources]
    n = len(resources)

    registry = default_registry()
    for rtype in {r["resourceType"] for r in resources}:
        plan_for(rtype, registry)
    for resource in resources[:2000]:  # warm the caches (UCUM units, folds, dates)
        extract(resource, registry)

    def parse_all() -> None:
        loads = json.loads
        for text in texts:
            loads(text)

    def extract_all() -> None:
        for resource in resources:
            extract(resource, registry)

    t_parse = best_of(args.repeat, parse_all)
    t_extract = best_of(args.repeat, extract_all)
    rows = sum(len(extract(r, registry).rows) for r in resources)
    print(f"resources           {n:>10,}   ({rows:,} index rows)")
    print(f"json.loads          {n / t_parse:>10,.0f} resources/s   {t_parse:6.2f} s")
    print(f"extract             {n / t_extract:>10,.0f} resources/s   {t_extract:6.2f} s")
    print(f"ratio extract/parse {t_extract / t_parse:>10.1f}×   (goal ≤ 10×)")

    if args.fhirpathpy:
        observations = [r for r in resources if r["resourceType"] == "Observation"]
        sample = observations[: args.fhirpathpy]
        expressions = [p.expression for p in registry.params_for("Observation") if p.expression]

        def fhirpathpy_all() -> None:
            for obs in sample:
                for expression in expressions:
                    evaluate_slow(expression, obs, obs)

        t_slow = best_of(1, fhirpathpy_all) / max(1, len(sample))
        t_obs = best_of(args.repeat, lambda: [extract(o, registry) for o in observations]) / max(
            1, len(observations)
        )
        print(
            f"fhirpathpy alone    {1 / t_slow:>10,.0f} Observations/s "
            f"({len(expressions)} expressions; extract: {1 / t_obs:,.0f}/s, "
            f"{t_slow / t_obs:.0f}× faster)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
