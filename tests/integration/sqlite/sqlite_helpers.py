"""The storage suite's builders and probes (``tests/storage/helpers.py``), for the SQLite-only
integration tests."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from storage.helpers import count_rows, observation, patient

__all__ = ["count_rows", "observation", "patient"]
