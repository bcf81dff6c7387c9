"""Bulk reads of a SQLite file through ADBC (``analytics/sqlite_arrow.py``) give the same
chunks as the apsw reads of the same store, and the driver's per-batch type inference does
not mistype a column whose first values are NULL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import apsw
import pyarrow as pa
import pytest

import helios_persistence as hp
from helios_persistence.analytics import bulk
from helios_persistence.analytics.sqlite_arrow import SQLiteArrow, available

pytest.importorskip("duckdb")
if not available():  # pragma: no cover - the analytics extra installs it
    pytest.skip("adbc-driver-sqlite is not installed", allow_module_level=True)

CTX = hp.TenantContext.for_tenant("acme")
OTHER = hp.TenantContext.for_tenant("other")


def _observation(i: int) -> dict[str, Any]:
    return {
        "resourceType": "Observation", "id": f"o{i:02d}", "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": f"c{i % 3}"}],
                 "text": f"reading {i}"},
        "subject": {"reference": f"Patient/p{i % 4}"},
        "effectiveDateTime": f"2021-0{1 + i % 9}-04",
        "valueQuantity": {"value": i + 0.5, "unit": "mg", "system": "http://unitsofmeasure.org",
                          "code": "mg"},
        "note": [{"text": f"note {i}"}] if i % 2 else [],
    }  # fmt: skip


def _chunks(
    store: Any, since: str | None, source: bulk.ArrowSource | None = None
) -> list[tuple[list[Any], dict[str, list[Any]]]]:
    return [
        (
            chunk.stored.to_pylist(),
            {name: sorted(t.to_pylist(), key=repr) for name, t in sorted(chunk.rows.items())},
        )
        for rtype in ("Observation", "Patient")
        for chunk in bulk.chunks(store, CTX, rtype, since, source=source)
    ]


def _not_called(*args: Any) -> None:
    raise AssertionError("read through apsw")


def test_arrow_reads_equal_apsw_reads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bulk, "CHUNK", 7)
    with hp.open_store(f"sqlite:///{tmp_path}/store.db") as store:
        patients = [{"resourceType": "Patient", "id": f"p{i}", "gender": "other"} for i in range(4)]
        store.bulk_load(CTX, patients + [_observation(i) for i in range(16)])
        store.update(OTHER, _observation(99))
        middle = store.read(CTX, "Observation", "o15").resource["meta"]["lastUpdated"]
        store.bulk_load(CTX, [_observation(i) for i in range(16, 30)])
        for i in range(20, 30, 3):  # a new version, and deletions
            store.update(CTX, {**_observation(i), "status": "amended"})
        store.delete(CTX, "Observation", "o21")
        source = bulk.ArrowSource(store, CTX)  # (one reading process)
        for since in (None, middle):
            with monkeypatch.context() as m:  # (no read falls back to apsw)
                m.setattr(bulk, "_python_chunk", _not_called)
                arrow = _chunks(store, since, source)
            with monkeypatch.context() as m:
                m.setattr(bulk, "available", lambda: False)
                python = _chunks(store, since)
            assert arrow == python
            assert arrow and max(len(stored) for stored, _ in arrow) <= 7
            ids = [r["id"] for stored, _ in arrow for r in stored]
            assert "o21" not in ids and "o99" not in ids
            if since is not None:
                assert "o05" not in ids and "o23" in ids
        assert any("index/idx_quantity" in rows for _, rows in arrow)
        assert any("text/param_text" in rows for _, rows in arrow)
        source.close()


def test_a_column_null_in_its_first_rows_keeps_its_type(tmp_path: Path) -> None:
    path = str(tmp_path / "t.db")
    conn = apsw.Connection(path)
    conn.execute("CREATE TABLE t (k INTEGER, v TEXT)")
    with conn:
        conn.executemany("INSERT INTO t VALUES (?, ?)", [(i, None) for i in range(3000)])
        conn.execute("INSERT INTO t VALUES (3000, 'x'), (3001, NULL)")
    conn.close()
    reader = SQLiteArrow(path)
    try:
        schema = pa.schema([("k", pa.int64()), ("v", pa.string())])
        table = reader.read("SELECT k, v FROM t WHERE k >= ? ORDER BY k", [2999], schema)
        assert table.schema == schema
        assert table.to_pylist() == [
            {"k": 2999, "v": None}, {"k": 3000, "v": "x"}, {"k": 3001, "v": None},
        ]  # fmt: skip
        whole = reader.read("SELECT k, v FROM t ORDER BY k", [], schema)
        assert whole.num_rows == 3002 and whole.column("v").null_count == 3001
        nothing = reader.read("SELECT k, v FROM t WHERE v = ?", ["y"], schema)
        assert nothing.num_rows == 0 and nothing.schema == schema
    finally:
        reader.close()
