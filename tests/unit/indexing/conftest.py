"""Shared data for the indexing tests: FHIR R4 examples and Synthea resources.

The data lives in ``../shared/data`` beside the repository (or ``$HELIOS_SHARED_DATA``);
tests that need it skip with the reason when it is absent.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


def shared_data() -> Path:
    env = os.environ.get("HELIOS_SHARED_DATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[3] / ".." / "shared" / "data"


EXAMPLES = shared_data() / "fhir-r4" / "examples"
SYNTHEA = shared_data() / "synthea"


def example_files() -> list[Path]:
    return sorted(EXAMPLES.glob("*.json")) if EXAMPLES.is_dir() else []


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


def synthea_resources(limit_files: int | None = None) -> Iterator[dict[str, Any]]:
    """Every resource of the Synthea bundles, with ``urn:uuid:`` references rewritten to
    ``Type/id`` as a transaction would (conditional references are left as written)."""
    files = sorted(SYNTHEA.glob("*.json"))
    # the batch bundles of Organizations/Locations/Practitioners first, as the README says
    files.sort(key=lambda p: not p.name.startswith(("hospital", "practitioner")))
    for path in files[:limit_files]:
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


@pytest.fixture(scope="session")
def examples() -> list[tuple[str, dict[str, Any]]]:
    files = example_files()
    if not files:
        pytest.skip(f"FHIR R4 examples not found in {EXAMPLES} (set HELIOS_SHARED_DATA)")
    return [(p.name, json.loads(p.read_text(encoding="utf-8"))) for p in files]


@pytest.fixture(scope="session")
def synthea() -> list[dict[str, Any]]:
    if not SYNTHEA.is_dir():
        pytest.skip(f"Synthea bundles not found in {SYNTHEA} (set HELIOS_SHARED_DATA)")
    return list(synthea_resources())
