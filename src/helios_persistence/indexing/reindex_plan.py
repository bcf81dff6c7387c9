"""Reindexing building block: existing resources in, their new index out.

A store's ``reindex`` operation (per type, per parameter, or everything) scans its current
resources in a stable key order and feeds them to :func:`plan`; for each resource it gets a
:class:`Reindexed` (the new rows, or the ``InvalidResource`` that stopped them) and writes it
in its own transaction, then records :attr:`Progress.last_key`. After an interruption the same
scan restarted with ``after=last_key`` continues where it stopped: every resource at or before
that key is skipped, so nothing is indexed twice and nothing is missed.

Cancellation is cooperative: ``cancel`` (a ``threading.Event``) is checked before each
resource; once it is set the iteration ends, and the last progress report says
``cancelled=True`` with the key to resume from.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from helios_persistence.errors import InvalidResource
from helios_persistence.indexing.extract import extract
from helios_persistence.indexing.rows import CompositeRow, IndexRow, ResourceIndex
from helios_persistence.registry import Registry, default_registry

__all__ = ["Progress", "Reindex", "Reindexed", "default_key", "plan"]


def default_key(resource: dict[str, Any]) -> tuple[str, str]:
    """``(resourceType, id)``: the order a store scans its current resources in."""
    return (str(resource.get("resourceType", "")), str(resource.get("id", "")))


@dataclass(frozen=True, slots=True)
class Progress:
    """Where a reindex is: counts, the last key processed, and whether it has ended."""

    done: int = 0
    failed: int = 0
    skipped: int = 0
    total: int | None = None
    last_key: Any = None
    elapsed: float = 0.0
    cancelled: bool = False
    finished: bool = False


@dataclass(frozen=True, slots=True)
class Reindexed:
    """One resource's new index (``index``), or why it could not be indexed (``error``)."""

    key: Any
    resource_type: str | None
    id: str | None
    index: ResourceIndex | None
    error: InvalidResource | None = None


def _only(index: ResourceIndex, params: frozenset[str]) -> ResourceIndex:
    rows: tuple[IndexRow | CompositeRow, ...] = tuple(r for r in index.rows if r.param in params)
    return replace(index, rows=rows)


class Reindex:
    """An iterable reindex job; iterate it once. :attr:`progress` is updated as it goes."""

    def __init__(
        self,
        resources: Iterable[dict[str, Any]],
        *,
        registry: Registry | None = None,
        resource_types: Collection[str] | None = None,
        params: Collection[str] | None = None,
        after: Any = None,
        key: Callable[[dict[str, Any]], Any] = default_key,
        total: int | None = None,
        cancel: threading.Event | None = None,
        on_progress: Callable[[Progress], None] | None = None,
        every: int = 100,
    ) -> None:
        self.resources = resources
        self.registry = default_registry() if registry is None else registry
        self.resource_types = frozenset(resource_types) if resource_types is not None else None
        self.params = frozenset(params) if params is not None else None
        self.after = after
        self.key = key
        self.cancel = cancel or threading.Event()
        self.on_progress = on_progress
        self.every = max(1, every)
        self.progress = Progress(total=total, last_key=after)

    def _report(self, **changes: Any) -> None:
        self.progress = replace(self.progress, **changes)
        if self.on_progress is not None:
            self.on_progress(self.progress)

    def __iter__(self) -> Iterator[Reindexed]:
        started = time.monotonic()
        done = failed = skipped = 0
        last = self.after
        for resource in self.resources:
            if self.cancel.is_set():
                self._report(
                    done=done, failed=failed, skipped=skipped, last_key=last,
                    elapsed=time.monotonic() - started, cancelled=True,
                )  # fmt: skip
                return
            k = self.key(resource)
            if self.after is not None and k <= self.after:
                skipped += 1
                continue
            rtype = resource.get("resourceType") if isinstance(resource, dict) else None
            if self.resource_types is not None and rtype not in self.resource_types:
                skipped += 1
                last = k
                continue
            rid = resource.get("id") if isinstance(resource, dict) else None
            try:
                index = extract(resource, self.registry)
            except InvalidResource as exc:
                failed += 1
                item = Reindexed(k, rtype, rid, None, exc)
            else:
                done += 1
                if self.params is not None:
                    index = _only(index, self.params)
                item = Reindexed(k, rtype, rid, index)
            yield item
            last = k
            self.progress = replace(
                self.progress, done=done, failed=failed, skipped=skipped, last_key=last,
                elapsed=time.monotonic() - started,
            )  # fmt: skip
            if (done + failed) % self.every == 0 and self.on_progress is not None:
                self.on_progress(self.progress)
        self._report(
            done=done, failed=failed, skipped=skipped, last_key=last,
            elapsed=time.monotonic() - started, finished=True,
        )  # fmt: skip


def plan(resources: Iterable[dict[str, Any]], **options: Any) -> Reindex:
    """A reindex over ``resources`` (ascending ``key`` order); see :class:`Reindex` for
    ``registry``, ``resource_types``, ``params``, ``after``, ``key``, ``total``, ``cancel``,
    ``on_progress`` and ``every``."""
    return Reindex(resources, **options)
