"""Bulk writes with external versions: batches sized by operations and bytes, items that the
cluster rejects for load retried with backoff, every other failure reported, none dropped.

Each operation indexes one document with ``version_type=external`` and the FHIR version as
its version, so Elasticsearch itself keeps the newest: a version at or below the stored one
answers 409 and counts as *stale* (applying a change twice is applying it once).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from helios_persistence.errors import QueryTimeout, Unavailable

__all__ = ["BulkLimits", "BulkOutcome", "Operation", "write"]

#: item statuses worth retrying (rejected for load, or a shard briefly unavailable)
_RETRY = {429, 502, 503, 504}


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
    """One document version to write (``ref`` is the caller's, e.g. its Change)."""

    ref: Any
    doc_id: str
    version: int
    document: dict[str, Any]
    _lines: bytes = b""

    def lines(self, index: str) -> bytes:
        if not self._lines:
            action = {"index": {"_index": index, "_id": self.doc_id, "version": self.version,
                                "version_type": "external"}}  # fmt: skip
            self._lines = orjson.dumps(action) + b"\n" + orjson.dumps(self.document) + b"\n"
        return self._lines


@dataclass(slots=True)
class BulkOutcome:
    applied: int = 0
    stale: int = 0
    failed: list[tuple[Any, str]] = field(default_factory=list)


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
                response = client.bulk(body=body, refresh=refresh, require_alias=True)
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
