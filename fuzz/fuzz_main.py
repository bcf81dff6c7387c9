"""The command line every fuzz target (``fuzz/fuzz_*.py``) shares: ``--hypothesis [N]`` runs
the target's hypothesis loop for N examples; otherwise atheris (libFuzzer: its options and
corpus folders pass through), or the hypothesis loop when atheris is not installed."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

#: the hypothesis loop's examples when ``--hypothesis`` gives no count, or without atheris
EXAMPLES = 2000


def run(
    argv: list[str],
    hypothesis_loop: Callable[[int], None],
    fuzz: Callable[[Any, list[str]], None],
) -> int:
    """Run a fuzz target: ``hypothesis_loop(examples)``, or ``fuzz(atheris, argv)`` (which
    sets atheris up and starts it). Returns the exit status."""
    if "--hypothesis" in argv:
        i = argv.index("--hypothesis")
        hypothesis_loop(int(argv[i + 1]) if i + 1 < len(argv) else EXAMPLES)
        return 0
    try:
        import atheris
    except ImportError:
        print(
            "atheris is not installed: running the hypothesis loop (pip install atheris)",
            file=sys.stderr,
        )
        hypothesis_loop(EXAMPLES)
        return 0
    fuzz(atheris, argv)
    return 0
