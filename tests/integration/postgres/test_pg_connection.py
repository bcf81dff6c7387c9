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


def _terminate(pg_db: Any, app: str) -> int:
    return int(
        pg_db.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE application_name = %s",
            [app],
        ).fetchone()[0]
    )


SEARCHES = [  # one statement; one with its includes inline; count and page; separate includes
    ("Patient?name=smith", ["Patient/p1"]),
    ("Encounter?status=finished&_include=Encounter:subject", ["Encounter/e1", "Patient/p1"]),
    ("Patient?name=smith&_total=accurate", ["Patient/p1"]),
    ("Encounter?_include:iterate=Encounter:subject", ["Encounter/e1", "Patient/p1"]),
]


def _two_resources(store: Any) -> None:
    store.update(CTX, patient(id="p1", family="Smith"))
    encounter = {"resourceType": "Encounter", "id": "e1", "status": "finished",
                 "subject": {"reference": "Patient/p1"}}  # fmt: skip
    store.update(CTX, encounter)


def _found(result: Any) -> list[str]:
    return sorted(f"{r['resourceType']}/{r['id']}" for r in result.resources + result.included)


@pytest.mark.parametrize("query, expected", SEARCHES)
def test_a_search_on_dead_pooled_connections_runs_again(
    make_store: Any, pg_db: Any, query: str, expected: list[str]
) -> None:
    """A read transaction's first round trip carries the search's statement itself (and,
    for one statement, its COMMIT): when the pooled connection turns out dead there, the
    whole round trip runs again on a live one — it changed nothing."""
    app = f"helios-drop-{uuid.uuid4().hex[:8]}"
    store = make_store(f"pool_size=3&pool_min=3&application_name={app}")
    _two_resources(store)
    for _ in range(2):  # every pooled connection dies, e.g. a server restart
        assert _terminate(pg_db, app) >= 1
        assert _found(store.search(CTX, query)) == expected  # the search is the first use
    page = store.search(CTX, "Patient?_count=1&_total=accurate")
    assert page.total == 1 and page.ids == ["Patient/p1"]


@pytest.mark.parametrize(
    "query, expected, trips", [(q, e, t) for (q, e), t in zip(SEARCHES, (1, 1, 2, 4), strict=True)]
)
def test_round_trips_of_a_search(
    make_store: Any, tmp_path: Any, query: str, expected: list[str], trips: int
) -> None:
    """Counted as Sync messages in libpq's protocol trace of the store's one connection: a
    page, with or without its inline includes, is one pipeline (BEGIN, settings, statement,
    COMMIT) and one round trip; a count and a page two; separate includes take one per
    statement (page, references, fetch) and the COMMIT."""
    store = make_store("pool_size=1&pool_min=1")
    _two_resources(store)
    db = store._tenancy.main
    trace = tmp_path / "trace.txt"
    for _ in range(3):  # (psycopg prepares a statement on its second run)
        store.search(CTX, query)
    with trace.open("w") as out:
        with db.pool.connection() as conn:
            conn.pgconn.trace(out.fileno())
            conn.pgconn.set_trace_flags(psycopg.pq.Trace.SUPPRESS_TIMESTAMPS)
        try:
            result = store.search(CTX, query)
        finally:
            with db.pool.connection() as conn:
                conn.pgconn.untrace()
    assert _found(result) == expected
    sent = [line.split("\t")[2] for line in trace.read_text().splitlines() if line[:1] == "F"]
    assert sent.count("Sync") == trips
    assert sent.count("Execute") >= 4  # BEGIN, settings, the statement(s), COMMIT


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
