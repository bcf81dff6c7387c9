"""Read ahead: the items of an iterator made in a thread of their own, while the caller works
on the ones before (an export reads the next chunk from the store while it converts and
writes the last one: SQLite, DuckDB and pyarrow release the GIL)."""

from __future__ import annotations

import queue
import threading
from collections.abc import Generator, Iterator
from typing import TypeVar

__all__ = ["prefetched"]

T = TypeVar("T")
_END = object()


class _Failed:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def prefetched(items: Iterator[T], depth: int = 1) -> Generator[T, None, None]:
    """``items`` in order, made up to ``depth`` items ahead in a thread (so at most
    ``depth + 2`` items exist at once: one being made, ``depth`` waiting, one in use). An
    exception of ``items`` is raised here, in its place; closing this iterator stops the
    thread (after the item it is making) and closes ``items``."""
    ready: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    break
            else:
                put(_END)
        except BaseException as exc:  # handed over to the consumer
            put(_Failed(exc))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=produce, name="helios-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item = ready.get()
            if item is _END:
                return
            if isinstance(item, _Failed):
                raise item.exc
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        thread.join()
