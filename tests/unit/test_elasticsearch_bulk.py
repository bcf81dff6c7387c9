"""Bulk writes without a server: batches cut by operations and bytes, rejected items retried
with backoff, other failures reported (never dropped), an unreachable cluster an error."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

pytest.importorskip("elasticsearch")
from elastic_transport import ApiResponseMeta, HttpHeaders, NodeConfig

from helios_persistence.backends.elasticsearch.bulk import (
    BulkLimits,
    Operation,
    write,
)
from helios_persistence.errors import Unavailable


class FakeClient:
    """Answers each bulk request with the statuses ``script`` gives per document id."""

    def __init__(self, script: dict[str, list[int]], fail_requests: int = 0) -> None:
        self.script = script
        self.requests: list[list[str]] = []
        self.fail_requests = fail_requests

    def bulk(self, body: bytes, refresh: str, require_alias: bool) -> dict[str, Any]:
        from elasticsearch import ConnectionError

        assert require_alias  # a deleted index must never be re-created without the mapping
        if self.fail_requests:
            self.fail_requests -= 1
            raise ConnectionError("connection refused")
        lines = body.splitlines()
        ids = [orjson.loads(a)["index"]["_id"] for a in lines[::2]]
        self.requests.append(ids)
        items = []
        for doc_id in ids:
            statuses = self.script.get(doc_id, [201])
            status = statuses.pop(0) if len(statuses) > 1 else statuses[0]
            result: dict[str, Any] = {"_id": doc_id, "status": status}
            if status >= 300:
                result["error"] = {"type": f"status_{status}", "reason": "scripted"}
            items.append({"index": result})
        return {"errors": any(i["index"]["status"] >= 300 for i in items), "items": items}


def _ops(n: int, size: int = 10) -> list[Operation]:
    return [Operation(f"ref{i}", f"d{i}", 1, {"x": "y" * size}) for i in range(n)]


def test_batches_are_cut_by_operations_and_by_bytes() -> None:
    client = FakeClient({})
    outcome = write(client, "i", _ops(25), refresh="false", limits=BulkLimits(operations=10))
    assert outcome.applied == 25 and [len(r) for r in client.requests] == [10, 10, 5]
    client = FakeClient({})
    one = len(_ops(1, 1000)[0].lines("i"))
    limits = BulkLimits(operations=1000, bytes=3 * one)
    write(client, "i", _ops(7, 1000), refresh="false", limits=limits)
    assert [len(r) for r in client.requests] == [3, 3, 1]


def test_rejected_items_are_retried_with_backoff() -> None:
    client = FakeClient({"d1": [429, 429, 201], "d2": [503, 201]})
    pauses: list[float] = []
    outcome = write(client, "i", _ops(4), refresh="false",
                    limits=BulkLimits(backoff=0.5), sleep=pauses.append)  # fmt: skip
    assert (outcome.applied, outcome.stale, outcome.failed) == (4, 0, [])
    assert client.requests == [["d0", "d1", "d2", "d3"], ["d1", "d2"], ["d1"]]
    assert pauses == [0.5, 1.0]


def test_failures_are_reported_never_dropped() -> None:
    client = FakeClient({"d0": [400], "d1": [409], "d2": [429]})
    outcome = write(client, "i", _ops(4), refresh="false",
                    limits=BulkLimits(retries=2), sleep=lambda _: None)  # fmt: skip
    assert outcome.applied == 1 and outcome.stale == 1
    failed = dict(outcome.failed)
    assert set(failed) == {"ref0", "ref2"}
    assert "status_400" in failed["ref0"]
    assert "after 2 retries" in failed["ref2"]


def test_an_unreachable_cluster_is_retried_then_unavailable() -> None:
    client = FakeClient({}, fail_requests=1)
    outcome = write(client, "i", _ops(2), refresh="false", limits=BulkLimits(),
                    sleep=lambda _: None)  # fmt: skip
    assert outcome.applied == 2
    client = FakeClient({}, fail_requests=10)
    with pytest.raises(Unavailable, match="unreachable"):
        write(client, "i", _ops(2), refresh="false", limits=BulkLimits(retries=2),
              sleep=lambda _: None)  # fmt: skip


def test_a_refused_request_reports_its_items() -> None:
    from elasticsearch import ApiError

    class Refusing(FakeClient):
        def bulk(self, body: bytes, refresh: str, require_alias: bool) -> dict[str, Any]:
            meta = ApiResponseMeta(413, "1.1", HttpHeaders(), 0.0, NodeConfig("http", "h", 1))
            raise ApiError("too large", meta, {})

    outcome = write(Refusing({}), "i", _ops(3), refresh="false", limits=BulkLimits())
    assert [ref for ref, _ in outcome.failed] == ["ref0", "ref1", "ref2"]
