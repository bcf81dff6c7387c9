"""Bulk export jobs and ``open_analytics``: states, manifest, levels, tenancy, permissions,
bad input, cancel, NDJSON and Parquet round trips, pyarrow filesystems."""

from __future__ import annotations

import json
import threading
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow.fs as pafs
import pytest

import helios_persistence as hp
from helios_persistence.analytics import writer as writer_module
from helios_persistence.analytics.jobs import ExportJob
from helios_persistence.analytics.lake import NotAnExport
from helios_persistence.errors import HeliosError, InvalidSearch, NotFound, PermissionDenied
from helios_persistence.tenancy import Operation, Permissions, TenantContext

pytest.importorskip("duckdb")

CTX = TenantContext.for_tenant("acme")
OTHER = TenantContext.for_tenant("other")


def _patient(i: int, family: str = "Smith") -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": f"p{i}",
        "name": [{"family": family, "given": [f"G{i}"]}],
        "birthDate": f"19{50 + i % 50:02d}-01-01",
        "extension": [
            {"url": "http://example.org/race", "extension": [
                {"url": "text", "valueString": f"r{i}"},
                {"url": "ombCategory", "valueCoding": {"system": "urn:x", "code": f"c{i}"}},
            ]},
        ],
        "_birthDate": {"extension": [{"url": "http://example.org/t", "valueTime": "10:00:00"}]},
    }  # fmt: skip


def _observation(i: int, patient: int, code: str = "8867-4") -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": f"o{i}",
        "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/"
                                  "observation-category", "code": "vital-signs"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": code}], "text": "Heart rate"},
        "subject": {"reference": f"Patient/p{patient}"},
        "effectiveDateTime": f"20{10 + i % 15:02d}-03-04T05:06:07Z",
        "valueQuantity": {"value": 72.50 + i, "unit": "/min", "system": "http://unitsofmeasure.org",
                          "code": "/min"},
    }  # fmt: skip


@pytest.fixture
def store() -> Any:
    s = hp.open_store("sqlite://")
    for i in range(6):
        s.update(CTX, _patient(i))
    for i in range(20):
        s.update(CTX, _observation(i, i % 6, "8867-4" if i % 2 else "8310-5"))
    s.update(CTX, {"resourceType": "Practitioner", "id": "dr", "name": [{"family": "Who"}]})
    s.update(OTHER, _patient(99, family="Other"))
    yield s
    s.close()


def _stored(store: Any, ctx: TenantContext, rtype: str) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    query: str | None = f"{rtype}?_count=1000"
    while query:
        result = store.search(ctx, query)
        out.update({r["id"]: r for r in result.resources})
        query = result.next
    return out


def test_export_states_manifest_and_search(store: Any, tmp_path: Path) -> None:
    seen: list[dict[str, int]] = []
    job = store.export(CTX, types=["Patient", "Observation"], destination=str(tmp_path / "x"))
    job.wait(on_progress=seen.append)
    assert job.status == "completed", job.error
    assert job.counts == {"Patient": 6, "Observation": 20}
    manifest = job.manifest
    assert manifest == json.loads((tmp_path / "x" / "manifest.json").read_text())
    assert set(manifest) >= {"transactionTime", "request", "requiresAccessToken", "output", "error"}
    assert manifest["requiresAccessToken"] is False and manifest["error"] == []
    assert manifest["request"].startswith(
        "$export?_outputFormat=parquet&_type=Patient%2CObservation"
    )
    assert {(o["type"], o["count"]) for o in manifest["output"]} == {
        ("Patient", 6),
        ("Observation", 20),
    }
    for output in manifest["output"]:
        assert output["url"].startswith("file://") and output["url"].endswith(".parquet")
        assert Path(output["url"][len("file://") :]).is_file()
    with hp.open_analytics(str(tmp_path / "x")) as lake:
        for query in (
            "Observation?code=http://loinc.org|8867-4&_include=Observation:patient",
            "Observation?value-quantity=gt80&_sort=-date&_count=3",
            "Patient?name=smi&birthdate=ge1953",
            "Patient?_has:Observation:patient:code=8310-5",
            "Observation?_content=heart",
        ):
            mine, theirs = lake.search(query), store.search(CTX, query)
            assert mine.ids == theirs.ids and mine.ids, query
            assert mine.resources == theirs.resources
            assert sorted(r["id"] for r in mine.included) == sorted(
                r["id"] for r in theirs.included
            )
            assert mine.next == theirs.next
        table = lake.search("Patient?_count=2").to_arrow()
        assert table.num_rows == 2
        assert table.column_names == ["id", "type", "lastUpdated", "resource"]
        rows = lake.sql(
            "select c.code, count(*) from observation, unnest(code.coding) as t(c) "
            "group by 1 order by 1"
        ).fetchall()
        assert rows == [("8310-5", 10), ("8867-4", 10)]
        race = lake.sql(
            "select e.extension[2].valueCoding.code from patient, unnest(extension) as t(e) "
            "where id = 'p3'"
        ).fetchall()
        assert race == [("c3",)]
        # decimals as written, castable
        total = lake.sql("select sum(valueQuantity.value::decimal(10,2)) from observation")
        assert total.fetchall()[0][0] == sum(Decimal(str(72.5 + i)) for i in range(20))
    assert seen and seen[-1] == job.counts


def test_parquet_and_ndjson_round_trip(store: Any, tmp_path: Path) -> None:
    for fmt in ("parquet", "ndjson"):
        job = store.export(CTX, format=fmt, destination=str(tmp_path / fmt)).wait()
        assert job.status == "completed", job.error
    with hp.open_analytics(str(tmp_path / "parquet")) as lake:
        for rtype in ("Patient", "Observation", "Practitioner"):
            assert {r["id"]: r for r in lake.resources(rtype)} == _stored(store, CTX, rtype)
    for rtype in ("Patient", "Observation", "Practitioner"):
        lines = (tmp_path / "ndjson" / "ndjson" / f"{rtype}.ndjson").read_text().splitlines()
        assert {r["id"]: r for r in map(json.loads, lines)} == _stored(store, CTX, rtype)


def test_since_and_type_filter(store: Any, tmp_path: Path) -> None:
    cut = store.read(CTX, "Observation", "o10").resource["meta"]["lastUpdated"]
    job = store.export(
        CTX, types=["Observation"], since=cut,
        type_filter=["Observation?code=8867-4", "Observation?code=8310-5&value-quantity=lt85"],
        destination=str(tmp_path / "f"),
    ).wait()  # fmt: skip
    assert job.status == "completed", job.error
    expected = {
        r["id"] for r in _stored(store, CTX, "Observation").values()
        if r["meta"]["lastUpdated"] > cut
        and (r["code"]["coding"][0]["code"] == "8867-4" or r["valueQuantity"]["value"] < 85)
    }  # fmt: skip
    with hp.open_analytics(str(tmp_path / "f")) as lake:
        assert {r["id"] for r in lake.resources("Observation")} == expected
    assert job.counts == {"Observation": len(expected)}


def test_patient_and_group_levels(store: Any, tmp_path: Path) -> None:
    store.update(CTX, {"resourceType": "Group", "id": "g", "type": "person", "actual": True,
                       "member": [{"entity": {"reference": "Patient/p1"}},
                                  {"entity": {"reference": "Patient/p4"}}]})  # fmt: skip
    job = store.export(CTX, level="patient", destination=str(tmp_path / "p")).wait()
    assert job.status == "completed", job.error
    # the Group is in its members' compartments (Group.member); the Practitioner in none
    assert job.counts == {"Patient": 6, "Observation": 20, "Group": 1}
    job = store.export(CTX, level="group", group="g", destination=str(tmp_path / "g")).wait()
    assert job.status == "completed", job.error
    with hp.open_analytics(str(tmp_path / "g")) as lake:
        ids = {f"{r['resourceType']}/{r['id']}" for r in lake.resources()}
    expected = {"Patient/p1", "Patient/p4", "Group/g"} | {
        f"Observation/o{i}" for i in range(20) if i % 6 in (1, 4)
    }
    assert ids == expected


def test_tenancy_and_permissions(store: Any, tmp_path: Path) -> None:
    job = store.export(OTHER, destination=str(tmp_path / "o")).wait()
    with hp.open_analytics(str(tmp_path / "o")) as lake:
        assert [r["id"] for r in lake.resources()] == ["p99"]
        assert lake.search("Patient").ids == ["Patient/p99"]
    assert job.counts == {"Patient": 1}
    no_export = TenantContext("acme", Permissions(operations=Operation.read_only()))
    with pytest.raises(PermissionDenied):
        store.export(no_export, destination=str(tmp_path / "n"))
    only_patients = TenantContext(
        "acme", Permissions(operations=Operation.EXPORT, resource_types=frozenset({"Patient"}))
    )
    job = store.export(only_patients, destination=str(tmp_path / "p")).wait()
    assert job.status == "completed", job.error
    assert job.counts == {"Patient": 6}
    with pytest.raises(PermissionDenied):
        store.export(only_patients, types=["Observation"], destination=str(tmp_path / "q"))
    # another tenant does not see the job
    with pytest.raises(NotFound):
        _ = ExportJob(store, OTHER, job.id).status


@pytest.mark.parametrize(
    ("kw", "parameter"),
    [
        ({"types": ["Patientx"]}, "_type"),
        ({"since": "yesterday"}, "_since"),
        ({"type_filter": ["Observation?nonsense=1"]}, "_typeFilter"),
        ({"type_filter": ["Nope?x=1"]}, "_typeFilter"),
        ({"format": "csv"}, "_outputFormat"),
    ],
)
def test_bad_requests(store: Any, tmp_path: Path, kw: dict[str, Any], parameter: str) -> None:
    with pytest.raises(InvalidSearch) as info:
        store.export(CTX, destination=str(tmp_path / "b"), **kw)
    assert parameter in info.value.message
    assert info.value.outcome["issue"][0]["code"] == "invalid"
    assert store.export_jobs(CTX) == [] and not (tmp_path / "b").exists()


def test_failures_are_recorded_on_the_job(store: Any, tmp_path: Path) -> None:
    job = store.export(CTX, level="group", group="missing", destination=str(tmp_path / "g")).wait()
    assert job.status == "failed"
    assert job.error["issue"][0]["code"] == "not-found"
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    job = store.export(CTX, destination=str(blocker / "sub")).wait()
    assert job.status == "failed"
    assert "cannot write" in job.error["issue"][0]["diagnostics"]
    assert [j.status for j in store.export_jobs(CTX)] == ["failed", "failed"]


def test_not_an_export(tmp_path: Path) -> None:
    with pytest.raises(NotAnExport):
        hp.open_analytics(str(tmp_path))
    (tmp_path / "_layout.json").write_text(json.dumps({"layout": "helios-parquet", "version": 99}))
    with pytest.raises(NotAnExport, match="version 99"):
        hp.open_analytics(str(tmp_path))
    assert issubclass(NotAnExport, HeliosError)


def test_cancel_deletes_the_files(store: Any, tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setattr("helios_persistence.analytics.export.PAGE_SIZE", 2)
    monkeypatch.setattr("helios_persistence.analytics.bulk.CHUNK", 2)
    started = threading.Event()
    release = threading.Event()

    def slow(counts: dict[str, int]) -> None:
        started.set()
        release.wait(5)

    job = store.export(
        CTX, types=["Observation"], destination=str(tmp_path / "c"), on_progress=slow
    )
    assert started.wait(10)
    assert job.status == "in-progress"
    canceller = threading.Thread(target=job.cancel)
    canceller.start()
    release.set()
    canceller.join(10)
    assert job.status == "cancelled" and job.manifest is None
    assert not (tmp_path / "c" / "resources").exists()
    assert not (tmp_path / "c" / "manifest.json").exists()


def test_subtree_filesystem_destination(store: Any, tmp_path: Path) -> None:
    (tmp_path / "bucket").mkdir()
    fs = pafs.SubTreeFileSystem(str(tmp_path / "bucket"), pafs.LocalFileSystem())
    job = store.export(CTX, types=["Observation"], destination=fs, path="exports/one").wait()
    assert job.status == "completed", job.error
    assert (tmp_path / "bucket" / "exports" / "one" / "manifest.json").is_file()
    with hp.open_analytics(fs, "exports/one") as lake:
        assert (
            lake.search("Observation?code=8867-4").ids
            == store.search(CTX, "Observation?code=8867-4").ids
        )
        assert lake.sql("select count(*) from observation").fetchall() == [(20,)]


def test_memory_is_bounded_by_the_buffer(store: Any, tmp_path: Path, monkeypatch: Any) -> None:
    """The writer never holds more than MAX_BUFFERED resources' rows (an export by search
    pages: bulk reads off)."""
    monkeypatch.setattr("helios_persistence.analytics.export.bulk_readable", lambda *a: False)
    monkeypatch.setattr(writer_module, "MAX_BUFFERED", 4)
    peaks: list[int] = []
    flush = writer_module.ExportWriter.flush

    def watched(self: writer_module.ExportWriter) -> None:
        peaks.append(sum(len(p.rows) for k, p in self.parts.items() if k[0] == "resources"))
        flush(self)

    monkeypatch.setattr(writer_module.ExportWriter, "flush", watched)
    job = store.export(CTX, destination=str(tmp_path / "m")).wait()
    assert job.status == "completed", job.error
    assert peaks and max(peaks) <= 4
    with hp.open_analytics(str(tmp_path / "m")) as lake:
        assert lake.sql("select count(*) from observation").fetchall() == [(20,)]


def test_bulk_reads_are_bounded_by_the_chunk(store: Any, tmp_path: Path, monkeypatch: Any) -> None:
    """A bulk export holds one chunk of CHUNK resources (and their rows) at a time, and
    writes the same export as search pages do."""
    monkeypatch.setattr("helios_persistence.analytics.bulk.CHUNK", 3)
    sizes: list[int] = []
    add_chunk = writer_module.ExportWriter.add_chunk

    def watched(self: writer_module.ExportWriter, chunk: Any) -> None:
        sizes.append(len(chunk))
        add_chunk(self, chunk)

    monkeypatch.setattr(writer_module.ExportWriter, "add_chunk", watched)
    job = store.export(CTX, destination=str(tmp_path / "b")).wait()
    assert job.status == "completed", job.error
    assert sizes and max(sizes) <= 3 and sum(sizes) == sum(job.counts.values())
    monkeypatch.setattr("helios_persistence.analytics.export.bulk_readable", lambda *a: False)
    paged = store.export(CTX, destination=str(tmp_path / "p")).wait()
    assert paged.counts == job.counts
    with (
        hp.open_analytics(str(tmp_path / "b")) as bulk,
        hp.open_analytics(str(tmp_path / "p")) as pages,
    ):
        for rtype in job.counts:
            assert sorted(bulk.resources(rtype), key=str) == sorted(pages.resources(rtype), key=str)
            for table in ("resources", "idx_token", "idx_reference", "resource_text", "param_text"):
                query = f"select * from {table} where type = '{rtype}' order by all"
                assert bulk.sql(query).fetchall() == pages.sql(query).fetchall(), table


def test_bulk_chunks_fill_one_file_of_full_row_groups(
    store: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    """A type read in several chunks is one file per dataset (per checkpoint), of row groups
    of ROW_GROUP_ROWS whatever the chunk size; a chunk using other columns begins a file."""
    import pyarrow.parquet as pq

    monkeypatch.setattr("helios_persistence.analytics.bulk.CHUNK", 3)
    monkeypatch.setattr(writer_module, "ROW_GROUP_ROWS", 4)
    monkeypatch.setattr(writer_module, "STORED_ROW_GROUP_ROWS", 2)
    other = {"resourceType": "Observation", "id": "zz", "status": "final",
             "code": {"text": "other columns"}, "note": [{"text": "a note"}]}  # fmt: skip
    store.update(CTX, other)
    job = store.export(CTX, destination=str(tmp_path / "x")).wait()
    assert job.status == "completed", job.error

    def groups(dataset: str) -> list[list[int]]:
        folder = tmp_path / "x" / dataset / "type=Observation"
        files = [pq.ParquetFile(f).metadata for f in sorted(folder.glob("*.parquet"))]
        return [[m.row_group(i).num_rows for i in range(m.num_row_groups)] for m in files]

    # 21 Observations in 7 chunks; the last (o8, o9, zz) has zz's columns: a file of its own
    assert groups("resources") == [[4, 4, 4, 4, 2], [3]]
    assert groups("stored") == [[2] * 10 + [1]]
    with hp.open_analytics(str(tmp_path / "x")) as lake:
        assert lake.sql("select count(*), count(note) from observation").fetchall() == [(21, 1)]
        assert len(lake.search("Observation?code=8867-4").resources) == 10


def test_resources_that_cannot_be_indexed_are_reported(
    store: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    extract = store._extract

    def failing(resource: dict[str, Any]) -> Any:
        if resource["id"] == "o3":
            raise hp.errors.InvalidResource("a value FHIRPath cannot read")
        return extract(resource)

    monkeypatch.setattr(store, "_extract", failing)
    # the writer extracts (as for a store that cannot hand over its index rows)
    monkeypatch.setattr("helios_persistence.analytics.jobs.stored_index_rows", lambda *a: None)
    monkeypatch.setattr("helios_persistence.analytics.export.bulk_readable", lambda *a: False)
    job = store.export(CTX, types=["Observation"], destination=str(tmp_path / "e")).wait()
    assert job.status == "completed", job.error
    (error,) = job.manifest["error"]
    assert error["type"] == "OperationOutcome" and error["count"] == 1
    lines = Path(error["url"][len("file://") :]).read_text().splitlines()
    outcome = json.loads(lines[0])
    assert outcome["resourceType"] == "OperationOutcome"
    assert "Observation/o3" in outcome["issue"][0]["diagnostics"]
    with hp.open_analytics(str(tmp_path / "e")) as lake:  # exported, not searchable
        assert lake.sql("select count(*) from observation").fetchall() == [(20,)]
        assert "Observation/o3" not in lake.search("Observation?status=final&_count=100").ids


def test_delete_removes_the_files_and_the_job(store: Any, tmp_path: Path) -> None:
    job = store.export(CTX, types=["Patient"], destination=str(tmp_path / "d")).wait()
    assert (tmp_path / "d" / "manifest.json").is_file()
    job.delete()
    assert sorted(p.name for p in (tmp_path / "d").iterdir()) == []
    assert store.export_jobs(CTX) == []
