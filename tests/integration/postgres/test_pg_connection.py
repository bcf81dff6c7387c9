"""Bad connections, pool limits and statement timeouts on PostgreSQL."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import psycopg
import pytest
from psycopg import sql
from sqlite_helpers import patient

from helios_persistence.errors import QueryTimeout, Unavailable
from helios_persistence.store_urls import open_store
from helios_persistence.tenancy import TenantContext

CTX = TenantContext.for_tenant("t")


def test_unreachable_server_is_a_clear_error() -> None:
    start = time.monotonic()
    with pytest.raises(Unavailable) as err:
        open_store("postgresql://someone:s3cret@127.0.0.1:1/nowhere?connect_timeout=2")
    assert time.monotonic() - start < 5
    message = str(err.value)
    assert "cannot connect to PostgreSQL at postgresql://someone@127.0.0.1:1/nowhere" in message
    assert "s3cret" not in message
    assert err.value.http_status == 503 and err.value.outcome["issue"][0]["code"] == "transient"


def test_dropped_connections_are_replaced(make_store: Any, pg_db: Any) -> None:
    app = f"helios-drop-{uuid.uuid4().hex[:8]}"
    store = make_store(f"pool_size=3&pool_min=3&application_name={app}")
    store.update(CTX, patient(id="p1"))
    for _ in range(3):  # every pooled connection dies, e.g. a server restart
        killed = pg_db.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE application_name = %s",
            [app],
        ).fetchone()[0]
        assert killed >= 1
        assert store.read(CTX, "Patient", "p1").id == "p1"
        assert store.update(CTX, patient(id="p1")).resource is not None
        assert store.search(CTX, "Patient?_id=p1").ids == ["Patient/p1"]


@pytest.fixture
def locked(pg_url: str) -> Any:
    """``lock(schema)``: hold an ACCESS EXCLUSIVE lock on the schema's resources table."""
    holders: list[Any] = []

    def lock(schema: str) -> None:
        conn = psycopg.connect(pg_url)
        conn.execute(sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(
            sql.Identifier(schema, "resources")
        ))  # fmt: skip
        holders.append(conn)

    yield lock
    for conn in holders:
        conn.rollback()
        conn.close()


def test_search_statement_timeout(make_store: Any, locked: Any) -> None:
    store = make_store("statement_timeout=300")
    store.update(CTX, patient(id="p1", family="Slow"))
    locked(store.schema)  # the search waits for the lock: long enough to time out
    start = time.monotonic()
    with pytest.raises(QueryTimeout, match="statement timeout") as err:
        store.search(CTX, "Patient?name=slow")
    assert time.monotonic() - start < 3
    assert err.value.outcome["issue"][0]["code"] == "too-costly"
    with pytest.raises(QueryTimeout):  # per search, overriding the store's setting
        store.search(CTX, "Patient?name=slow", timeout_ms=100)


def test_timeouts_leave_the_store_usable(make_store: Any, pg_url: str) -> None:
    store = make_store("statement_timeout=200&pool_size=2")
    store.update(CTX, patient(id="p1", family="Fine"))
    conn = psycopg.connect(pg_url)
    conn.execute(sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(
        sql.Identifier(store.schema, "resources")
    ))  # fmt: skip
    for _ in range(3):
        with pytest.raises(QueryTimeout):
            store.search(CTX, "Patient?name=fine")
    conn.rollback()
    conn.close()
    assert store.search(CTX, "Patient?name=fine").ids == ["Patient/p1"]


def test_an_exhausted_pool_is_a_clear_error(make_store: Any) -> None:
    store = make_store("pool_size=1&pool_min=1&pool_timeout=0.5")
    entered, release = threading.Event(), threading.Event()

    def hold() -> None:
        with store.write_session(CTX):
            entered.set()
            release.wait(10)

    t = threading.Thread(target=hold)
    t.start()
    try:
        assert entered.wait(10)
        with pytest.raises(Unavailable, match="no PostgreSQL connection available"):
            store.read(CTX, "Patient", "p1")
    finally:
        release.set()
        t.join()
    store.update(CTX, patient(id="p1"))


def test_url_options(make_store: Any) -> None:
    store = make_store(
        "tenancy=schema&pool_size=4&statement_timeout=1234&base_url=http://x/fhir"
        "&application_name=helios-options"
    )
    assert store.tenancy == "schema" and store.statement_timeout_ms == 1234
    assert store.base_url == "http://x/fhir"
    store.update(CTX, patient(id="p"))
    assert store.history(CTX)["entry"][0]["fullUrl"] == "http://x/fhir/Patient/p"


@pytest.mark.parametrize(
    "query, message",
    [
        ("tenancy=other", "tenancy"),
        ("pool_size=many", "pool_size"),
        ("force_rls=maybe", "force_rls"),
        ("schema=bad-name", "schema"),
    ],
)
def test_bad_options(pg_url: str, query: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        open_store(f"{pg_url}?{query}")


def test_unknown_libpq_parameter_is_refused(pg_url: str) -> None:
    with pytest.raises((ValueError, Unavailable), match="frobnicate"):
        open_store(f"{pg_url}?frobnicate=1")
