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
    Pipeline,
    write,
)
from helios_persistence.errors import Unavailable


class FakeClient:
    """Answers each bulk request with the statuses ``script`` gives per document id."""

    def __init__(self, script: dict[str, list[int]], fail_requests: int = 0) -> None:
        self.script = script
        self.requests: list[list[str]] = []
        self.refreshes: list[str] = []
        self.fail_requests = fail_requests

    def bulk(
        self, body: bytes, refresh: str, require_alias: bool, filter_path: str
    ) -> dict[str, Any]:
        from elasticsearch import ConnectionError

        self.refreshes.append(refresh)
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
        def bulk(
            self, body: bytes, refresh: str, require_alias: bool, filter_path: str
        ) -> dict[str, Any]:
            meta = ApiResponseMeta(413, "1.1", HttpHeaders(), 0.0, NodeConfig("http", "h", 1))
            raise ApiError("too large", meta, {})

    outcome = write(Refusing({}), "i", _ops(3), refresh="false", limits=BulkLimits())
    assert [ref for ref, _ in outcome.failed] == ["ref0", "ref1", "ref2"]


def test_a_serialised_document_is_written_as_given() -> None:
    as_dict = Operation("r", "d", 3, {"a": [1, "x"]}).lines("i")
    assert Operation("r", "d", 3, orjson.dumps({"a": [1, "x"]})).lines("i") == as_dict
    action, source = as_dict.splitlines()
    assert orjson.loads(action)["index"] == {"_index": "i", "_id": "d", "version": 3,
                                             "version_type": "external"}  # fmt: skip
    assert orjson.loads(source) == {"a": [1, "x"]}


def test_a_pipeline_writes_its_requests_in_order_and_sums_them() -> None:
    client = FakeClient({"d3": [409], "d5": [400]})
    ops = _ops(7)
    with Pipeline(client, "i", limits=BulkLimits(operations=2)) as pipeline:
        pipeline.send(ops[:3])
        pipeline.send([])  # (nothing to write: no request)
        pipeline.send(ops[3:], refresh="wait_for")
    outcome = pipeline.outcome
    assert client.requests == [["d0", "d1"], ["d2"], ["d3", "d4"], ["d5", "d6"]]
    assert client.refreshes == ["false", "false", "wait_for", "wait_for"]
    assert (outcome.applied, outcome.stale, [r for r, _ in outcome.failed]) == (5, 1, ["ref5"])


def test_a_pipeline_raises_its_workers_error_and_writes_nothing_after_it() -> None:
    client = FakeClient({}, fail_requests=100)
    pipeline = Pipeline(client, "i", limits=BulkLimits(retries=1), sleep=lambda _: None)
    pipeline.send(_ops(2))
    with pytest.raises(Unavailable, match="unreachable"):
        pipeline.close()
    with pytest.raises(Unavailable), Pipeline(client, "i", limits=BulkLimits(retries=0)) as p:
        p.send(_ops(2))
        for _ in range(1000):  # (the caller goes on building while the worker fails)
            if p._error is not None:
                break
            p._worker.join(timeout=0.01)
        p.send(_ops(2))  # raises the worker's error instead of queueing more
    assert client.requests == []


def test_a_pipeline_left_by_an_error_of_its_caller_stops() -> None:
    client = FakeClient({})
    with pytest.raises(KeyError), Pipeline(client, "i", limits=BulkLimits()) as pipeline:
        pipeline.send(_ops(1))
        raise KeyError("the caller failed")
    assert not pipeline._worker.is_alive()
