"""Where the shared data sets are: ``../shared/data`` next to the repository (as in CI), or
``$HELIOS_SHARED_DATA`` (e.g. when the repository is a git worktree elsewhere)."""

from __future__ import annotations

import os
from pathlib import Path

DATA = Path(
    os.environ.get("HELIOS_SHARED_DATA")
    or Path(__file__).resolve().parents[3].parent / "shared" / "data"
)
