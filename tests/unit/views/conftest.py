"""Shared fixtures of the view tests (PostgreSQL comes from ``postgres_url`` in tests/)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def shared_data() -> Path:
    """``../shared/data`` beside the repository, or ``$HELIOS_SHARED_DATA``."""
    env = os.environ.get("HELIOS_SHARED_DATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[3] / ".." / "shared" / "data"


@pytest.fixture(scope="session")
def examples_dir() -> Path:
    path = shared_data() / "fhir-r4" / "examples"
    if not path.is_dir():
        pytest.skip(f"FHIR R4 examples not found in {path} (set HELIOS_SHARED_DATA)")
    return path
