"""Bad input (issue 12): a HeliosError with an OperationOutcome, never a raw exception, and
nothing changed; and no input is silently changed. (Runs on every backend: tests/storage.)"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from helios_persistence.errors import HeliosError, InvalidResource, InvalidSearch
from helios_persistence.tenancy import TenantContext

from .helpers import count_rows, observation, patient

CTX = TenantContext.for_tenant("acme")


def deep(levels: int) -> dict[str, Any]:
    value: Any = "x"
    for _ in range(levels):
        value = {"nested": value}
    return value


def _rejects(store: Any, call: Callable[[], Any], error: type = HeliosError) -> HeliosError:
    before = [count_rows(store, CTX, t) for t in ("resources", "history")]
    with pytest.raises(error) as info:
        call()
    outcome = info.value.outcome
    assert outcome["resourceType"] == "OperationOutcome" and outcome["issue"][0]["diagnostics"]
    assert [count_rows(store, CTX, t) for t in ("resources", "history")] == before
    return info.value


def _bundle(*entries: dict[str, Any], kind: str = "transaction") -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": kind, "entry": list(entries)}


def test_deep_nesting_is_rejected_everywhere(store: Any) -> None:
    store.update(CTX, patient(id="p1"))
    nested = patient(id="p2", extension=[{"url": "http://x", "valueString": "y", **deep(10_000)}])
    _rejects(store, lambda: store.create(CTX, {**nested, "id": None} | {}), InvalidResource)
    _rejects(store, lambda: store.update(CTX, nested), InvalidResource)
    _rejects(store, lambda: store.bulk_update(CTX, [patient(id="p3"), nested]), InvalidResource)
    entry = {"resource": nested, "request": {"method": "PUT", "url": "Patient/p2"}}
    _rejects(store, lambda: store.transaction(CTX, _bundle(entry)), InvalidResource)
    ops = [{"op": "add", "path": "/extension", "value": [deep(10_000)]}]
    _rejects(store, lambda: store.patch(CTX, "Patient", "p1", ops), InvalidResource)
    _rejects(store, lambda: store.transaction(CTX, _bundle(entry, kind="batch")), InvalidResource)


def test_transaction_get_without_a_type(store: Any) -> None:
    store.update(CTX, patient(id="p1"))
    bundle = _bundle(
        {"request": {"method": "GET", "url": "_history"}},
        {"request": {"method": "GET", "url": "?_type=Patient"}},
    )
    for kind in ("transaction", "batch"):
        out = store.transaction(CTX, {**bundle, "type": kind})
        statuses = [e["response"]["status"] for e in out["entry"]]
        assert statuses == ["200 OK", "200 OK"], out
        assert out["entry"][1]["resource"]["entry"][0]["resource"]["id"] == "p1"


def _cursor(values: Any) -> str:
    text = "[" * 5000 + "]" * 5000 if values == "deep" else json.dumps(values)
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


#: decoded cursors a client may forge (one store serves them all: a store per value made
#: this the slowest test of the suite on PostgreSQL)
TAMPERED = [
    [],
    ["Patient", 7],
    [{"a": 1}, "x"],
    [[1], "p"],
    [2**70, "Patient", "p"],
    ["x", 1, 2],
    [1.5, "Patient", "p"],
    [None, None, None],
    ["Patient", "p\u0000"],
    [True, "Patient", "p"],
    {"not": "a list"},
    "string",
    "deep",
]


@pytest.mark.parametrize("sort", ["", "&_sort=_lastUpdated", "&_sort=-_id"])
def test_tampered_cursor(store: Any, sort: str) -> None:
    for i in range(3):
        store.update(CTX, patient(id=f"p{i}"))
    first = store.search(CTX, f"Patient?_count=1{sort}")
    assert first.next and "_cursor=" in first.next
    for values in TAMPERED:
        query = f"Patient?_count=1{sort}&_cursor={_cursor(values)}"
        with _naming(f"cursor {str(values)[:40]}"):
            _rejects(store, lambda: store.search(CTX, query), InvalidSearch)  # noqa: B023


@contextmanager
def _naming(what: str) -> Iterator[None]:
    """Name ``what`` in a failure of the block (a loop over cases in one test)."""
    try:
        yield
    except BaseException as exc:
        exc.add_note(f"(with {what})")
        raise


def test_vread_of_a_huge_version(store: Any) -> None:
    store.update(CTX, patient(id="p1"))
    error = _rejects(store, lambda: store.vread(CTX, "Patient", "p1", "1" * 30))
    assert error.http_status == 404


def test_non_string_ids(store: Any) -> None:
    store.update(CTX, patient(id="p1"))
    for bad_id in [5, 5.0, None, ["p1"], "\ud800", "a\x00b", "a" * 65]:
        for call in (
            lambda: store.read(CTX, "Patient", bad_id),  # noqa: B023
            lambda: store.vread(CTX, "Patient", bad_id, "1"),  # noqa: B023
            lambda: store.delete(CTX, "Patient", bad_id),  # noqa: B023
            lambda: store.history(CTX, "Patient", bad_id or 0),  # noqa: B023 (None: type's history)
            lambda: store.patch(CTX, "Patient", bad_id, []),  # noqa: B023
            lambda: store.delete_history(CTX, "Patient", bad_id),  # noqa: B023
        ):
            with _naming(f"id {bad_id!r:.40}"):
                _rejects(store, call)


def test_non_string_if_none_exist_and_full_url(store: Any) -> None:
    store.update(CTX, patient(id="p1"))
    for bad in (5, ["name=x"], {"name": "x"}):
        entry = {
            "resource": patient(),
            "request": {"method": "POST", "url": "Patient", "ifNoneExist": bad},
        }
        _rejects(store, lambda: store.transaction(CTX, _bundle(entry)), InvalidResource)  # noqa: B023
        entry = {
            "fullUrl": bad,
            "resource": patient(),
            "request": {"method": "POST", "url": "Patient"},
        }
        _rejects(store, lambda: store.transaction(CTX, _bundle(entry)), InvalidResource)  # noqa: B023
        _rejects(store, lambda: store.create(CTX, patient(), if_none_exist=bad))  # noqa: B023


def test_bad_queries(store: Any) -> None:
    store.update(CTX, patient(id="p1"))
    for query in ("Patient?name=\ud800", "Patient?name:exact=a\udfffb", "Patient?_id=\ud83d"):
        _rejects(store, lambda: store.search(CTX, query), InvalidSearch)  # noqa: B023
    for query in (None, 5, b"Patient?name=x"):
        _rejects(store, lambda: store.search(CTX, query), InvalidSearch)  # noqa: B023
    for kw in ({"offset": -1}, {"offset": "1"}, {"count": -1}, {"offset": 10**30}, {"count": 1.5}):
        _rejects(store, lambda: store.history(CTX, "Patient", **kw))  # noqa: B023


def test_non_string_keys_are_rejected(store: Any) -> None:
    for bad in ({1: "x"}, {"name": [{"family": "a", 2: "b"}]}, {(1, 2): "x"}, {None: 1},
                {"gender": "\ud800"}, {"\udfff": "x"}):  # fmt: skip
        _rejects(store, lambda: store.update(CTX, {**patient(id="p1"), **bad}), InvalidResource)  # noqa: B023


@pytest.mark.parametrize("value", [2**53 + 1, -(2**53) - 1, 2**63 - 1, 10**20 + 1])
def test_integers_beyond_2_53_are_indexed_exactly(store: Any, value: int) -> None:
    store.update(
        CTX, observation("Patient/p1", id="o1", valueQuantity={"value": value, "unit": "1"})
    )
    store.update(
        CTX, observation("Patient/p1", id="o2", valueQuantity={"value": value - 1, "unit": "1"})
    )
    found = store.search(CTX, f"Observation?value-quantity={value}")
    assert [r["id"] for r in found.resources] == ["o1"]
    found = store.search(CTX, f"Observation?value-quantity=gt{value - 1}")
    assert [r["id"] for r in found.resources] == ["o1"]
    assert store.read(CTX, "Observation", "o1").resource["valueQuantity"]["value"] == value


def test_duplicate_full_urls_are_rejected(store: Any) -> None:
    urn = "urn:uuid:0b3f5c1e-8c1a-4a43-9d6b-4b0b9a6c0d11"
    bundle = _bundle(
        {
            "fullUrl": urn,
            "resource": patient(family="A"),
            "request": {"method": "POST", "url": "Patient"},
        },
        {
            "fullUrl": urn,
            "resource": patient(family="B"),
            "request": {"method": "POST", "url": "Patient"},
        },
        {"resource": observation(urn), "request": {"method": "POST", "url": "Observation"}},
    )
    error = _rejects(store, lambda: store.transaction(CTX, bundle), InvalidResource)
    assert "fullUrl" in str(error)


def test_bulk_update_with_malformed_keys(store: Any) -> None:
    for bad in ({"resourceType": "Patient", "id": "\ud800"}, {"resourceType": "\ud800", "id": "x"},
                {"resourceType": "Patient", "id": "a" * 65}):  # fmt: skip
        _rejects(store, lambda: store.bulk_update(CTX, [patient(id="ok"), bad]), InvalidResource)  # noqa: B023
