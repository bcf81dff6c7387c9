"""Faults: an unreachable server is ``Unavailable``, a slow answer ``QueryTimeout``, a search
the server refuses an ``InvalidSearch``; none changes what the index holds."""

from __future__ import annotations

import socket
import threading
import uuid
from typing import Any

import pytest

from helios_persistence import open_store
from helios_persistence.errors import InvalidSearch, InvalidStoreURL, QueryTimeout, Unavailable


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_unreachable_server_is_unavailable() -> None:
    with pytest.raises(Unavailable, match="unreachable"):
        open_store(f"elasticsearch://127.0.0.1:{_closed_port()}?timeout=2")


class _SilentServer:
    """Accepts every connection and reads its request, never answers (until closed): what
    a client sees of a server too slow to answer, whatever the machine's load (the kernel
    completes the handshake; the test waits for the request itself, not for a clock)."""

    def __init__(self) -> None:
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen()
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}"
        self.requests: list[bytes] = []
        self.received = threading.Semaphore(0)
        self._held: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.socket.accept()
            except OSError:  # closed
                return
            self._held.append(conn)
            head = b""
            while b"\r\n\r\n" not in head and (chunk := conn.recv(65536)):
                head += chunk
            self.requests.append(head.split(b"\r\n", 1)[0])
            self.received.release()

    def close(self) -> None:
        self.socket.close()
        for conn in self._held:
            conn.close()


def test_a_slow_answer_is_a_query_timeout(es_store: Any, ctx: Any) -> None:
    from elasticsearch import Elasticsearch

    server = _SilentServer()
    real, es_store.client = es_store.client, Elasticsearch(server.url, request_timeout=0.5,
                                                           max_retries=0)  # fmt: skip
    try:
        with pytest.raises(QueryTimeout, match="did not answer"):
            es_store.search(ctx, "Patient?name=x")
        # the search reached the server (a timeout on its answer, not on connecting), once
        assert server.received.acquire(timeout=10)
        assert len(server.requests) == 1 and server.requests[0].startswith(b"POST ")
        with pytest.raises(QueryTimeout, match="did not answer"):
            open_store(f"elasticsearch://{server.url.removeprefix('http://')}?timeout=0.5")
        assert server.received.acquire(timeout=10)
    finally:
        es_store.client = real
        server.close()


def test_a_refused_search_is_an_invalid_search(es_store: Any, ctx: Any) -> None:
    # a _content prefix matching nothing expands fine; an offset past the window is refused
    with pytest.raises(InvalidSearch, match="refused"):
        es_store.search(ctx, "Patient?_offset=200000&_count=10")


def test_bad_urls_are_refused(es_url: str) -> None:
    for bad in ("elasticsearch://", f"{es_url}?refresh=sometimes", f"{es_url}?prefix=UPPER",
                f"{es_url}?unknown=1", f"{es_url}?timeout=soon"):  # fmt: skip
        with pytest.raises(InvalidStoreURL):
            open_store(bad)


def test_a_deleted_index_is_reported_never_recreated_unmapped(es_url: str, ctx: Any) -> None:
    from helios_persistence.storage.sync import Change

    store = open_store(f"{es_url}?prefix=gone-{uuid.uuid4().hex[:10]}&refresh=true")
    try:
        store.drop()
        resource = {"resourceType": "Patient", "id": "p"}
        report = store.apply(ctx, [Change(1, "acme", "Patient", "p", 1, "upsert", 0, resource)])
        assert report.applied == 0 and len(report.failed) == 1
        assert not store.client.indices.exists(index=store.alias)
    finally:
        store.drop()
        store.close()
