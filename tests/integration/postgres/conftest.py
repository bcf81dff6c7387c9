"""PostgreSQL integration fixtures: one scratch database per test session (dropped at the end,
with every tenant database made from it), and a fresh schema per store.

SQLite's backend-agnostic integration tests run here too: the ``test_pg_*`` modules import
them, and pytest resolves their ``store``, ``any_store``, ``ctx`` and ``tstore`` fixtures from
this directory, so the very same test bodies run against PostgreSQL.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

psycopg = pytest.importorskip("psycopg")
from pg_helpers import drop_databases, drop_schemas  # noqa: E402
from psycopg import sql  # noqa: E402
from psycopg.conninfo import conninfo_to_dict, make_conninfo  # noqa: E402

from helios_persistence.store_urls import open_store  # noqa: E402
from helios_persistence.tenancy import TenantContext  # noqa: E402

# SQLite's test modules and helpers (imported by the test_pg_* modules)
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "sqlite"))


def _url(conninfo: str) -> str:
    params = conninfo_to_dict(conninfo)
    auth = params.get("user", "")
    if params.get("password"):
        auth += f":{params['password']}"
    host = f"{params.get('host', '127.0.0.1')}:{params.get('port', 5432)}"
    return f"postgresql://{auth}@{host}/{params['dbname']}"


@pytest.fixture(scope="session")
def pg_admin(postgres_url: str) -> Iterator[Any]:
    """An autocommit connection to the server's test database (a superuser in the tests)."""
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        yield conn


@pytest.fixture(scope="session")
def pg_url(postgres_url: str, pg_admin: Any) -> Iterator[str]:
    """URL of a scratch database for this session; it and its tenant databases are dropped
    at the end."""
    name = f"helios_it_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    pg_admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield _url(make_conninfo(postgres_url, dbname=name))
    finally:
        drop_databases(pg_admin, name)


@pytest.fixture(scope="session")
def pg_db(pg_url: str) -> Iterator[Any]:
    """An autocommit superuser connection to the scratch database."""
    with psycopg.connect(pg_url, autocommit=True) as conn:
        yield conn


@pytest.fixture
def make_store(pg_url: str, pg_db: Any) -> Iterator[Callable[..., Any]]:
    """``make_store(query="", **options)``: a store in a fresh schema (dropped afterwards)."""
    made: list[tuple[Any, str]] = []

    def make(query: str = "", **options: Any) -> Any:
        schema = options.pop("schema", None) or f"s{uuid.uuid4().hex[:10]}"
        url = f"{pg_url}?schema={schema}" + (f"&{query}" if query else "")
        store = open_store(url, **options)
        made.append((store, schema))
        return store

    yield make
    for store, schema in made:
        store.close()
        drop_schemas(pg_db, schema)
    # (tenant databases are dropped with the session's scratch database: each ``DROP
    # DATABASE`` waits for a checkpoint, 2–30 s after a busy test; a later store of the same
    # tenant works in a schema of its own inside the same database)


@pytest.fixture
def store(make_store: Callable[..., Any]) -> Any:
    return make_store()


@pytest.fixture(params=["shared", "schema"])
def any_store(request: pytest.FixtureRequest, make_store: Callable[..., Any]) -> Any:
    """The store in the shared schema, and in a schema of the tenant's own."""
    return make_store(f"tenancy={request.param}")


@pytest.fixture(params=["shared", "schema", "database"])
def tstore(request: pytest.FixtureRequest, make_store: Callable[..., Any]) -> Any:
    """Every tenancy strategy."""
    return make_store(f"tenancy={request.param}")


@pytest.fixture
def ctx() -> TenantContext:
    return TenantContext.for_tenant("acme")
