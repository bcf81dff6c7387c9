"""Numbers in an export's index rows are exact (layout 3: text keys, as SQLite stores them),
from a SQLite or a PostgreSQL store; an export of layout 2 (doubles) still reads."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import helios_persistence as hp
from helios_persistence.backends.sql.index_tables import COLUMNS
from helios_persistence.indexing.decimal_keys import decimal_of_key

try:
    from tests.conformance.backends import BACKENDS
except ImportError:  # plain `pytest`: tests/ itself is on sys.path
    from conformance.backends import BACKENDS  # type: ignore[no-redef]

CTX = hp.TenantContext.for_tenant("numbers")
VALUES = [2**53 + 1, 2**53, 100, 0.5, -3, 10**20 + 1]


def _observations(store: Any) -> None:
    for i, value in enumerate(VALUES):
        store.update(
            CTX,
            {
                "resourceType": "Observation", "id": f"o{i}", "status": "final",
                "code": {"text": "x"}, "valueQuantity": {"value": value, "unit": "1"},
            },
        )  # fmt: skip


def _ids(lake: Any, query: str) -> list[str]:
    return [r["id"] for r in lake.search(query).resources]


@pytest.fixture(params=["sqlite-memory", "postgres"])
def exported(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """An export of the observations from a store (PostgreSQL's numbers are Decimals)."""
    with BACKENDS[request.param].opened(tmp_path) as store:  # (skips a server that is down)
        _observations(store)
        job = store.export(CTX, destination=str(tmp_path / "export")).wait()
        assert job.status == "completed", job.error
    return tmp_path / "export"


def test_exported_numbers_are_exact(exported: Path) -> None:
    with hp.open_analytics(str(exported)) as lake:
        assert _ids(lake, "Observation?value-quantity=9007199254740993") == ["o0"]
        assert _ids(lake, "Observation?value-quantity=gt9007199254740992") == ["o0", "o5"]
        assert _ids(lake, "Observation?value-quantity=100000000000000000001") == ["o5"]
        assert _ids(lake, "Observation?value-quantity=lt0.5&_sort=value-quantity") == ["o4"]


def test_an_export_of_layout_2_reads_its_doubles(exported: Path, tmp_path: Path) -> None:
    old = tmp_path / "v2"
    shutil.copytree(exported, old)
    for table in ("idx_number", "idx_quantity"):
        for part in (old / "index" / table).rglob("*.parquet"):
            data = pq.read_table(part)
            for name in COLUMNS[table]:
                if name.endswith(("value", "low", "high")):
                    doubles = [None if v is None else float(decimal_of_key(v))
                               for v in data[name].to_pylist()]  # fmt: skip
                    at = data.schema.get_field_index(name)
                    data = data.set_column(at, name, pa.array(doubles, pa.float64()))
            pq.write_table(data, part)
    (old / "_layout.json").write_text(json.dumps({"layout": "helios-parquet", "version": 2}))
    with hp.open_analytics(str(old)) as lake:
        assert _ids(lake, "Observation?value-quantity=lt0.5&_sort=value-quantity") == ["o4"]
        # 2^53 + 1 was stored as 2^53: a double cannot tell them apart (ties go by id)
        expected = ["o2", "o0", "o1", "o5"]
        assert _ids(lake, "Observation?value-quantity=gt99&_sort=value-quantity") == expected
        assert set(_ids(lake, "Observation?value-quantity=9007199254740992")) == {"o0", "o1"}
