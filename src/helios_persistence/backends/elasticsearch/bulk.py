"""Bulk writes with external versions: batches sized by operations and bytes, items that the
cluster rejects for load retried with backoff, every other failure reported, none dropped.

Each operation indexes one document with ``version_type=external`` and the FHIR version as
its version, so Elasticsearch itself keeps the newest: a version at or below the stored one
answers 409 and counts as *stale* (applying a change twice is applying it once).

:class:`Pipeline` overlaps the two halves of indexing: the caller builds the documents of the
next request (Python, one core) while a worker thread waits for the cluster to index the
previous one (the server, the other core); the socket wait releases the GIL.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from helios_persistence.errors import QueryTimeout, Unavailable

__all__ = ["BulkLimits", "BulkOutcome", "Operation", "Pipeline", "write"]

#: item statuses worth retrying (rejected for load, or a shard briefly unavailable)
_RETRY = {429, 502, 503, 504}
#: what a bulk response keeps of each item (``filter_path``: the server answers less)
_ITEM_FIELDS = "items.*.status,items.*.error"


@dataclass(frozen=True, slots=True)
class BulkLimits:
    """How big one request may grow and how hard a rejected item is retried."""

    operations: int = 1000
    bytes: int = 8 * 1024 * 1024
    retries: int = 5
    backoff: float = 0.2
    max_backoff: float = 5.0


@dataclass(slots=True)
class Operation:
    """One document version to write (``ref`` is the caller's, e.g. its Change).

    ``document`` may be given already serialised (JSON bytes): a batch waiting for its
    request then holds bytes, not the many small objects of a document, which the cyclic
    garbage collector would otherwise walk again and again."""

    ref: Any
    doc_id: str
    version: int
    document: dict[str, Any] | bytes
    _lines: bytes = b""

    def lines(self, index: str) -> bytes:
        if not self._lines:
            action = {"index": {"_index": index, "_id": self.doc_id, "version": self.version,
                                "version_type": "external"}}  # fmt: skip
            doc = self.document
            source = doc if isinstance(doc, bytes) else orjson.dumps(doc)
            self._lines = orjson.dumps(action) + b"\n" + source + b"\n"
        return self._lines


@dataclass(slots=True)
class BulkOutcome:
    applied: int = 0
    stale: int = 0
    failed: list[tuple[Any, str]] = field(default_factory=list)

    def add(self, other: BulkOutcome) -> None:
        self.applied += other.applied
        self.stale += other.stale
        self.failed.extend(other.failed)


def _batches(ops: Sequence[Operation], index: str, limits: BulkLimits) -> list[list[Operation]]:
    batches: list[list[Operation]] = []
    current: list[Operation] = []
    size = 0
    for op in ops:
        n = len(op.lines(index))
        if current and (len(current) >= limits.operations or size + n > limits.bytes):
            batches.append(current)
            current, size = [], 0
        current.append(op)
        size += n
    if current:
        batches.append(current)
    return batches


def write(
    client: Any,
    index: str,
    ops: Sequence[Operation],
    *,
    refresh: str,
    limits: BulkLimits,
    sleep: Callable[[float], None] = time.sleep,
) -> BulkOutcome:
    """Write ``ops`` to ``index``; retry rejected items, report the rest."""
    from elasticsearch import ApiError, ConnectionError, ConnectionTimeout

    outcome = BulkOutcome()
    pending = list(ops)
    for attempt in range(limits.retries + 1):
        retry: list[tuple[Operation, str]] = []
        for batch in _batches(pending, index, limits):
            body = b"".join(op.lines(index) for op in batch)
            try:
                # (require_alias: a deleted index is an error, never auto-created unmapped)
                response = client.bulk(body=body, refresh=refresh, require_alias=True,
                                       filter_path=_ITEM_FIELDS)  # fmt: skip
            except ConnectionTimeout as exc:
                if attempt == limits.retries:
                    raise QueryTimeout(f"Elasticsearch bulk request timed out: {exc}") from None
                retry.extend((op, f"timeout: {exc}") for op in batch)
                continue
            except ConnectionError as exc:
                if attempt == limits.retries:
                    raise Unavailable(f"Elasticsearch is unreachable: {exc}") from None
                retry.extend((op, f"unreachable: {exc}") for op in batch)
                continue
            except ApiError as exc:
                if exc.meta.status in _RETRY and attempt < limits.retries:
                    retry.extend((op, f"rejected: {exc}") for op in batch)
                    continue
                outcome.failed.extend((op.ref, f"bulk request refused: {exc}") for op in batch)
                continue
            for op, item in zip(batch, response["items"], strict=True):
                result = item["index"]
                status = int(result.get("status", 500))
                if status < 300:
                    outcome.applied += 1
                elif status == 409:
                    outcome.stale += 1
                elif status in _RETRY:
                    retry.append((op, _reason(result)))
                else:
                    outcome.failed.append((op.ref, _reason(result)))
        if not retry:
            return outcome
        if attempt == limits.retries:
            outcome.failed.extend((op.ref, f"{reason} (after {attempt} retries)")
                                  for op, reason in retry)  # fmt: skip
            return outcome
        pending = [op for op, _ in retry]
        sleep(min(limits.max_backoff, limits.backoff * 2**attempt))
    return outcome


def _reason(result: dict[str, Any]) -> str:
    error = result.get("error") or {}
    if isinstance(error, dict):
        return f"{error.get('type', 'error')}: {error.get('reason', '')}"
    return str(error)


class Pipeline:
    """Bulk requests written by a worker thread, in the order they are sent, while the caller
    builds the next ones (at most ``depth`` wait). :meth:`close` waits for the last and
    returns the summed outcome, or raises the error that stopped the worker
    (:class:`Unavailable`, :class:`QueryTimeout`); after an error nothing more is written.

        with Pipeline(client, index, limits=limits) as pipeline:
            for ops in batches:
                pipeline.send(ops)                  # refresh="false"
            pipeline.send(last, refresh="wait_for")
        outcome = pipeline.outcome
    """

    def __init__(
        self, client: Any, index: str, *, limits: BulkLimits, depth: int = 1,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:  # fmt: skip
        self.client, self.index, self.limits, self.sleep = client, index, limits, sleep
        self.outcome = BulkOutcome()
        self._error: BaseException | None = None
        self._queue: queue.Queue[tuple[Sequence[Operation], str] | None] = queue.Queue(depth)
        self._worker = threading.Thread(target=self._run, name="helios-es-bulk", daemon=True)
        self._worker.start()

    def send(self, ops: Sequence[Operation], refresh: str = "false") -> None:
        """Queue one request's operations (blocks while ``depth`` requests wait)."""
        if self._error is not None:
            self.close()
        if ops:
            self._queue.put((ops, refresh))

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            if self._error is not None:
                continue  # (stopped: the rest is drained unwritten, the error is raised)
            ops, refresh = item
            try:
                outcome = write(self.client, self.index, ops, refresh=refresh,
                                limits=self.limits, sleep=self.sleep)  # fmt: skip
            except BaseException as exc:  # raised to the caller by close()
                self._error = exc
                continue
            self.outcome.add(outcome)

    def close(self) -> BulkOutcome:
        """Wait for every queued request; raise the worker's error if it had one."""
        if self._worker.is_alive():
            self._queue.put(None)
            self._worker.join()
        if self._error is not None:
            raise self._error
        return self.outcome

    def __enter__(self) -> Pipeline:
        return self

    def __exit__(self, kind: object, *rest: object) -> None:
        if kind is None:
            self.close()
            return
        self._error = self._error or RuntimeError("the caller stopped")  # write nothing more
        self._queue.put(None)
        self._worker.join()
