"""Run every benchmark: ``python -m bench`` (``make bench``); a module with ``BY_DEFAULT =
False`` (the million-resource ``bench_scale``) runs only on its own."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def main() -> int:
    folder = Path(__file__).resolve().parent
    names = sorted(
        m.name for m in pkgutil.iter_modules([str(folder)]) if m.name.startswith("bench_")
    )
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        if not getattr(module, "BY_DEFAULT", True):
            continue
        print(f"\n=== {name}")
        module.main([])
    return 0


if __name__ == "__main__":
    sys.exit(main())
