"""``helios load`` on the Synthea files: the loader against one transaction per Bundle.

    python -m bench.bench_load [--patients 78] [--path /tmp/helios-bench-load]

Both write the same files into a fresh SQLite file. The baseline is what ``helios load`` did
before the loader: ``store.transaction`` per Bundle, in the one order that works (the
information Bundles first). The loader gets the files in name order — the patients first, so
they wait for the information Bundles and are streamed in a second pass — and in the working
order. Each figure is µs per resource (entries of the Bundles), as a ratio to the baseline
(below 1: faster).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import helios_persistence as hp
from bench.harness import Measurement, report
from helios_persistence.loading import Loader, expand

SHARED = os.environ.get("HELIOS_SHARED_DATA")
DATA = (Path(SHARED) if SHARED else Path(__file__).resolve().parents[2] / "shared" / "data") / (
    "synthea"
)
TENANT = "bench"


def _timed(folder: Path, name: str, work: Callable[[Any, hp.TenantContext], int]) -> float:
    """µs per resource of ``work(store, ctx)`` (which returns the resources written)."""
    db = folder / f"{name}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    ctx = hp.TenantContext.for_tenant(TENANT)
    with hp.open_store(f"sqlite:///{db}") as store:
        start = time.perf_counter()
        written = work(store, ctx)
        elapsed = time.perf_counter() - start
    return 1e6 * elapsed / written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--patients", type=int, default=78, help="patient files (of 78)")
    parser.add_argument("--path", help="folder for the database files (default: a temp folder)")
    args = parser.parse_args(argv)
    if not DATA.is_dir():
        print(f"bench_load: no Synthea data at {DATA}; skipped")
        return 0
    shared = sorted(DATA.glob("hospitalInformation*.json")) + sorted(
        DATA.glob("practitionerInformation*.json")
    )
    patients = sorted(p for p in DATA.glob("*.json") if p not in shared)[: args.patients]
    by_name = sorted(shared + patients, key=lambda p: p.name)
    working = shared + patients
    folder = Path(args.path or tempfile.mkdtemp(prefix="helios-bench-load-"))
    folder.mkdir(parents=True, exist_ok=True)

    def transactions(store: Any, ctx: hp.TenantContext) -> int:
        written = 0
        for path in working:
            bundle = json.loads(path.read_text(encoding="utf-8"))
            written += len(store.transaction(ctx, bundle)["entry"])
        return written

    def loader(files: list[Path]) -> Callable[[Any, hp.TenantContext], int]:
        def work(store: Any, ctx: hp.TenantContext) -> int:
            report = Loader(store, ctx).load(expand([str(p) for p in files]))
            assert not report.failures, report.failures[:3]
            return report.resources

        return work

    baseline = _timed(folder, "transactions", transactions)
    rows = [
        Measurement(name, _timed(folder, name, work), baseline, "µs/resource", note)
        for name, work, note in [
            ("loader, files by name", loader(by_name), "patients wait for a second pass"),
            ("loader, working order", loader(working), "information Bundles first"),
        ]
    ]
    report(
        "helios load",
        rows,
        extra={
            "files": len(working),
            "baseline": "store.transaction per Bundle, information Bundles first",
            "baseline_rate": 1e6 / baseline,
            "rates": {row.name: 1e6 / row.ours for row in rows},
        },
    )
    if not args.path:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
