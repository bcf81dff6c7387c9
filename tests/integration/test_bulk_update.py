"""``store.bulk_update`` and ``store.bulk_load`` against one ``update`` per resource.

The bulk path reads current versions up front and buffers its rows (SQLite: ``BulkWriter``;
PostgreSQL: the transaction's buffer and ``COPY``), so it is checked as a differential
property: hypothesis draws lists of writes over a small pool of ids (repeats within a list
and across lists, updates of stored resources, re-creation after a delete) and the bulk store
must end up indistinguishable from the one written a resource at a time: the same versions,
documents, history and search results (index rows, full text, per-parameter text). Odd lists
go through ``bulk_load`` in batches of 5 (SQLite drops and rebuilds its value indexes).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import apsw
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import helios_persistence as hp
from helios_persistence.errors import InvalidResource

try:
    from tests.conformance.backends import BACKENDS
except ImportError:  # plain `pytest`: tests/ itself is on sys.path
    from conformance.backends import BACKENDS  # type: ignore[no-redef]

CTX = hp.TenantContext.for_tenant("bulk")
FAMILIES = ("Smith", "Jones", "Müller", "García")
WORDS = ("cardiac", "renal", "fever", "cough")
CODES = ("8867-4", "8480-6", "9279-1")
QUERIES = [
    *(f"Patient?family={f}" for f in FAMILIES),
    *(f"Patient?_content={w}" for w in WORDS),
    *(f"Observation?code=http://loinc.org|{c}" for c in CODES),
    *(f"Observation?subject=Patient/p{i}" for i in range(3)),
    "Observation?value-quantity=gt50|http://unitsofmeasure.org|mg",
    "Observation?code:text=heart",
    "Observation?_text=cardiac",
    "Observation?subject.family=Smith",
    "Patient?_has:Observation:subject:code=8867-4",
]


def _patient(n: int, family: str, word: str) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": f"p{n}",
        "name": [{"family": family, "given": [word.title()]}],
        "text": {"status": "generated", "div": f"<div>{family} {word}</div>"},
    }


def _observation(n: int, code: str, patient: int, value: int) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": f"o{n}",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": code}], "text": "heart rate"},
        "subject": {"reference": f"Patient/p{patient}"},
        "valueQuantity": {"value": value, "system": "http://unitsofmeasure.org", "code": "mg"},
        "text": {"status": "generated", "div": "<div>cardiac</div>" if value > 50 else "<div/>"},
    }


patients = st.builds(_patient, st.integers(0, 2), st.sampled_from(FAMILIES), st.sampled_from(WORDS))
observations = st.builds(
    _observation, st.integers(0, 3), st.sampled_from(CODES), st.integers(0, 2),
    st.integers(0, 100),
)  # fmt: skip
#: a load: lists of writes (a None deletes the previous write's resource instead)
loads = st.lists(
    st.lists(st.one_of(patients, observations, st.none()), min_size=1, max_size=12),
    min_size=1,
    max_size=3,
)


def _available() -> list[Any]:
    params = []
    for backend in BACKENDS.values():
        if backend.name == "sqlite-file" or not backend.stores:
            continue  # the same code as sqlite-memory; a search-only backend
        reason = backend.unavailable()
        params.append(
            pytest.param(backend, marks=pytest.mark.skipif(bool(reason), reason=reason or ""))
        )
    return params


@pytest.fixture(params=_available(), ids=lambda b: b.name)
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Any, Any]]:
    backend = request.param
    bulk, single = backend.open(tmp_path / "a"), backend.open(tmp_path / "b")
    try:
        yield bulk, single
    finally:
        bulk.close()
        single.close()


def _snapshot(store: Any, ids: set[tuple[str, str]]) -> dict[str, Any]:
    """Everything a client can observe of ``ids``, without timestamps."""
    out: dict[str, Any] = {}
    for rtype, rid in sorted(ids):
        bundle = store.history(CTX, rtype, rid)
        out[f"{rtype}/{rid}"] = [
            (e["request"]["method"], e["response"].get("etag"), _strip(e.get("resource")))
            for e in bundle.get("entry", [])
        ]
    for query in QUERIES:
        out[query] = sorted(store.search(CTX, query + "&_count=100").ids)
    return out


def _strip(resource: dict[str, Any] | None) -> Any:
    if resource is None:
        return None
    meta = {k: v for k, v in resource.get("meta", {}).items() if k != "lastUpdated"}
    return {**resource, "meta": meta}


def _apply(
    store: Any, writes: list[Any], *, bulk: bool, seen: set[tuple[str, str]], load: bool = False
) -> None:
    batch: list[dict[str, Any]] = []
    last: dict[str, Any] | None = None
    for write in writes:
        if write is None:  # delete the previous write's resource (outside bulk_update)
            if last is not None:
                if bulk and batch:
                    store.bulk_update(CTX, batch)
                    batch = []
                store.delete(CTX, last["resourceType"], last["id"])
            continue
        seen.add((write["resourceType"], write["id"]))
        last = write
        if bulk:
            batch.append(write)
        else:
            store.update(CTX, write)
    if batch:
        if load:
            store.bulk_load(CTX, iter(batch), batch=5)
        else:
            store.bulk_update(CTX, batch)


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(loads)
def test_bulk_update_matches_one_update_at_a_time(stores: tuple[Any, Any], load: Any) -> None:
    bulk, single = stores
    seen: set[tuple[str, str]] = set()
    for n, writes in enumerate(load):
        _apply(bulk, writes, bulk=True, seen=seen, load=n % 2 == 1)
        _apply(single, writes, bulk=False, seen=seen)
        assert _snapshot(bulk, seen) == _snapshot(single, seen), f"after list {n}"
    # a store written once must be cleared for the next example
    for store in stores:
        for rtype, rid in seen:
            store.delete(CTX, rtype, rid)
            store.delete_history(CTX, rtype, rid)


def test_bulk_update_is_all_or_nothing(stores: tuple[Any, Any]) -> None:
    store, _ = stores
    store.update(CTX, _patient(0, "Smith", "fever"))
    batch = [_patient(0, "Jones", "renal"), _observation(0, "8867-4", 0, 70)]
    bad = {"resourceType": "Observation", "id": "bad id!", "status": "final"}
    with pytest.raises(InvalidResource):
        store.bulk_update(CTX, [*batch, bad])
    assert store.read(CTX, "Patient", "p0").version_id == "1"
    assert store.search(CTX, "Patient?family=Smith").ids == ["Patient/p0"]
    assert store.search(CTX, "Patient?family=Jones").ids == []
    assert store.search(CTX, "Observation?_content=cardiac").ids == []
    with pytest.raises(hp.errors.NotFound):
        store.read(CTX, "Observation", "o0")


def test_bulk_update_in_chunks_keeps_every_row(stores: tuple[Any, Any]) -> None:
    """More writes than one buffer holds (and the same ids again in a later chunk)."""
    store, _ = stores
    family = itertools.cycle(FAMILIES)
    batch = [
        {**_observation(n, CODES[n % 3], n % 3, n % 100), "id": f"o{n}"} for n in range(2300)
    ] + [_patient(n, next(family), "fever") for n in range(3)] * 2
    assert store.bulk_update(CTX, batch) == len(batch)
    store.optimize(CTX)  # planner statistics (PostgreSQL plans a chain badly without them)
    assert len(store.search(CTX, "Observation?code=8867-4&_count=1000&_total=accurate").ids) == 767
    assert store.search(CTX, "Observation?_count=0&_total=accurate").total == 2300
    assert store.read(CTX, "Patient", "p1").version_id == "2"
    assert store.search(CTX, "Observation?subject.family=Smith&_count=0&_total=accurate").total == (
        len([n for n in range(2300) if n % 3 == 0])
    )


def test_bulk_load_reports_progress_and_stops_at_a_bad_batch(stores: tuple[Any, Any]) -> None:
    store, _ = stores
    good = [_observation(n, "8867-4", 0, 60) for n in range(4)]
    bad = {"resourceType": "Observation", "id": "bad id!", "status": "final"}
    seen: list[int] = []
    with pytest.raises(InvalidResource):
        store.bulk_load(CTX, [*good, bad, _patient(1, "Jones", "renal")], batch=2,
                        on_progress=seen.append)  # fmt: skip
    assert seen == [2, 4]  # the batches before the bad one are committed, the rest are not
    assert len(store.search(CTX, "Observation?code=8867-4").ids) == 4
    assert store.search(CTX, "Patient?family=Jones").ids == []
    with pytest.raises(ValueError):
        store.bulk_load(CTX, good, batch=0)


def _indexes(path: Path) -> set[str]:
    conn = apsw.Connection(str(path))
    try:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    finally:
        conn.close()


def test_sqlite_bulk_load_rebuilds_its_indexes(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    with hp.open_store(f"sqlite:///{path}") as store:
        before = _indexes(path)
        during: list[set[str]] = []
        store.bulk_load(CTX, [_patient(0, "Smith", "fever")] * 3, batch=1,
                        on_progress=lambda n: during.append(_indexes(path)))  # fmt: skip
        assert all("idx_string_value" not in names for names in during)
        assert _indexes(path) == before
        assert store.search(CTX, "Patient?family=Smith").ids == ["Patient/p0"]


def test_sqlite_indexes_come_back_after_a_crash_in_a_bulk_load(tmp_path: Path) -> None:
    """A load that never reached its end (the process died): the next open builds them."""
    from helios_persistence.backends.sqlite.schema import defer_indexes

    path = tmp_path / "store.db"
    with hp.open_store(f"sqlite:///{path}") as store:
        store.update(CTX, _patient(0, "Smith", "fever"))
        before = _indexes(path)
    conn = apsw.Connection(str(path))
    with conn:
        assert defer_indexes(conn) > 10
    conn.close()
    assert "idx_token_value" not in _indexes(path)
    with hp.open_store(f"sqlite:///{path}") as store:
        assert _indexes(path) == before
        assert store.search(CTX, "Patient?family=Smith").ids == ["Patient/p0"]
