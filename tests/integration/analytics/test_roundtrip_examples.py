"""Losslessness: every official R4 example stored, exported to Parquet and read back (through
DuckDB and the typed columns) is JSON-equal to the stored resource. The fast test takes a
fixed sample (every 25th file, plus every Questionnaire: recursion); the ``slow`` one all."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import helios_persistence as hp
from helios_persistence.analytics.layout import layout_for
from helios_persistence.errors import HeliosError
from helios_persistence.results import dumps
from helios_persistence.storage import exact_json

try:
    from tests.integration.analytics.shared_data import DATA
except ImportError:  # plain `pytest`: tests/ itself is on sys.path
    from integration.analytics.shared_data import DATA  # type: ignore[no-redef]

pytest.importorskip("duckdb")

EXAMPLES = DATA / "fhir-r4" / "examples"
pytestmark = pytest.mark.skipif(
    not EXAMPLES.is_dir(), reason=f"FHIR R4 examples not found at {EXAMPLES}"
)


def _digits(resource: dict[str, Any]) -> Any:
    """The resource with every decimal as its written text (so 1.10 is not 1.1)."""
    return json.loads(dumps(resource), parse_float=str)


CTX = hp.TenantContext.for_tenant("examples")


def _files(sample: bool) -> list[Path]:
    files = sorted(EXAMPLES.glob("*.json"))
    if not sample:
        return files
    return [f for i, f in enumerate(files) if i % 25 == 0 or "questionnaire" in f.name.lower()]


def _round_trip(tmp_path: Path, files: list[Path]) -> tuple[int, int]:
    """(resources compared, resources kept whole as JSON)."""
    stored: dict[tuple[str, str], dict[str, Any]] = {}
    with hp.open_store(f"sqlite:///{tmp_path}/examples.db") as store:
        for path in files:
            resource = json.loads(path.read_text(encoding="utf-8"))
            try:
                s = store.update(CTX, resource)
            except HeliosError:  # not storable (the store's own validation): not exported
                continue
            assert s.json is not None
            stored[(s.resource_type, s.id)] = exact_json.loads(s.json)  # decimals as written
        job = store.export(CTX, destination=str(tmp_path / "export")).wait()
        assert job.status == "completed", job.error
        assert sum(job.counts.values()) == len(stored)
    whole = 0
    with hp.open_analytics(str(tmp_path / "export")) as lake:
        back = {(r["resourceType"], r["id"]): r for r in lake.resources()}
        for rtype in {t for t, _ in stored}:
            whole += lake.sql(
                f'select count(*) from "{rtype.lower()}" where _raw is not null'
            ).fetchall()[0][0]
    assert back.keys() == stored.keys()
    for key, resource in stored.items():  # (Decimals compare by value: the texts by digits)
        assert back[key] == resource and _digits(back[key]) == _digits(resource), key
    return len(stored), whole


def test_sampled_examples_round_trip(tmp_path: Path) -> None:
    compared, whole = _round_trip(tmp_path, _files(sample=True))
    assert compared > 80
    assert whole == 0  # every sampled example fits the typed columns


@pytest.mark.slow
def test_every_example_round_trips(tmp_path: Path) -> None:
    compared, whole = _round_trip(tmp_path, _files(sample=False))
    assert compared > 2000
    assert whole <= 2  # the few that do not fit the typed layout are kept whole, still equal


def test_questionnaire_items_are_typed_to_the_documented_depth() -> None:
    schema = layout_for("Questionnaire").schema
    item = schema.field("item").type.value_type
    level2 = item.field("item").type.value_type
    level3 = level2.field("item").type.value_type
    assert str(level3.field("item").type) == "string"  # the rest: JSON text
    assert str(schema.field("valueQuantity").type) if "valueQuantity" in schema.names else True
    obs = layout_for("Observation").schema
    assert {"valueQuantity", "valueString", "valueCodeableConcept"} <= set(obs.names)
    assert str(obs.field("valueQuantity").type.field("value").type) == "string"  # as written
