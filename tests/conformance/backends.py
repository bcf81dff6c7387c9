"""The backends the conformance suite and the differential tests run against.

Adding a backend is one entry: a name, its dialect (the compiler whose gaps apply, see
``helios_persistence.conformance.gaps``) and how to open a fresh store in a scratch
directory (keyword arguments go to the store, e.g. a shared ``registry``). ``unavailable``
returns a reason to skip (e.g. a server that is not running).

PostgreSQL opens each store in a fresh schema of the test server's database (``schema=``
option) and drops it when the store is closed.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from helios_persistence import open_store

try:
    from tests.conformance.exported import ExportedStore
except ImportError:  # plain `pytest`: tests/ itself is on sys.path
    from conformance.exported import ExportedStore  # type: ignore[no-redef]
try:
    from tests.conformance.synced import SyncedStore
except ImportError:  # plain `pytest`: tests/ itself is on sys.path
    from conformance.synced import SyncedStore  # type: ignore[no-redef]
try:
    from tests.services import DEFAULT_URLS, ENV_VARS, REQUIRE_ENV, _probe
except ImportError:  # plain `pytest`: tests/ itself is on sys.path
    from services import DEFAULT_URLS, ENV_VARS, REQUIRE_ENV, _probe  # type: ignore[no-redef]

__all__ = ["BACKENDS", "STORES", "Backend"]


def _available() -> str | None:
    return None


def _service(name: str) -> str:
    return os.environ.get(ENV_VARS[name]) or DEFAULT_URLS[name]


def _service_missing(name: str) -> str | None:
    """Why the ``name`` server cannot be used (None: it answers); an error, not a skip,
    under ``HELIOS_REQUIRE_SERVICES``."""
    reason = _probe(name, _service(name))
    if reason and os.environ.get(REQUIRE_ENV):
        raise RuntimeError(f"{name} is required ({REQUIRE_ENV}) but not reachable: {reason}")
    return reason


def _postgres(tmp: Any, **kw: Any) -> Any:
    """A PostgreSQL store in a fresh schema, dropped on close."""
    import psycopg
    from psycopg import sql

    url = _service("postgres")
    schema = f"conformance_{uuid.uuid4().hex[:10]}"
    store = open_store(f"{url}?schema={schema}", **kw)
    close = store.close

    def close_and_drop() -> None:
        databases = []
        if getattr(store, "tenancy", "") == "database":  # (and the tenants' databases)
            tenancy = store._tenancy
            databases = [tenancy.database_name(t) for t in list(tenancy._ready)]
            databases = [name for name in databases if name.startswith(tenancy.prefix)]
        close()
        with psycopg.connect(url, autocommit=True) as conn:
            # the store's schema and, under schema tenancy, its tenants' ``<schema>_t_…`` ones
            rows = conn.execute(
                "SELECT nspname FROM pg_namespace WHERE nspname = %s OR starts_with(nspname, %s)",
                (schema, f"{schema}_t_"),
            ).fetchall()
            for (name,) in rows:
                conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(name)))
        _drop_at_exit(url, databases)

    store.close = close_and_drop
    return store


#: tenant databases to drop when the process ends: each ``DROP DATABASE`` waits for a
#: checkpoint (2–30 s when the server has written much since the last one), so the drops wait
#: until the end, where the first one's checkpoint leaves the others little to flush
_DATABASES_TO_DROP: list[tuple[str, str]] = []


def _drop_at_exit(url: str, databases: list[str]) -> None:
    if not _DATABASES_TO_DROP and databases:
        atexit.register(_drop_databases)
    _DATABASES_TO_DROP.extend((url, name) for name in databases)


def _drop_databases() -> None:
    import psycopg
    from psycopg import sql

    drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
    for url, name in _DATABASES_TO_DROP:
        with contextlib.suppress(psycopg.Error), psycopg.connect(url, autocommit=True) as conn:
            conn.execute(drop.format(sql.Identifier(name)))


#: one index per test process (creating an index costs more than a whole small test); each
#: store keeps its documents under a namespace of its own, deleted on close
_ES_PREFIX = f"test-{uuid.uuid4().hex[:10]}"


def _elasticsearch(**kw: Any) -> Any:
    """An Elasticsearch store in a fresh namespace of this process's index (the index is
    deleted when the process exits); refreshed on every apply (read-your-writes)."""
    url = _service("elasticsearch").replace("http", "elasticsearch", 1)
    namespace = uuid.uuid4().hex[:12]
    store = open_store(f"{url}?prefix={_ES_PREFIX}&namespace={namespace}&refresh=true", **kw)
    if not _ES_CLEANUP:
        _ES_CLEANUP.append(atexit.register(_drop_index, url))
    close = store.close

    def close_and_drop() -> None:
        store.drop()
        close()

    store.close = close_and_drop
    return store


_ES_CLEANUP: list[Any] = []


def _drop_index(url: str) -> None:
    with contextlib.suppress(Exception):
        store = open_store(f"{url}?prefix={_ES_PREFIX}")
        store.drop()
        store.close()


def _neo4j_store(**kw: Any) -> Any:
    """A Neo4j graph store in a namespace of its own (deleted on close)."""
    url = _service("neo4j")
    namespace = f"conformance-{uuid.uuid4().hex[:10]}"
    return open_store(f"{url}{'&' if '?' in url else '?'}namespace={namespace}&temporary=true",
                      **kw)  # fmt: skip


def _neo4j(tmp: Any, **kw: Any) -> Any:
    """A Neo4j graph store synced from SQLite."""
    return SyncedStore(_neo4j_store, **kw)


def _composite(primary: Callable[..., Any], **secondaries: Callable[..., Any]) -> Any:
    """A composite (``hp.composite``, synchronous) over ``primary(tmp, **kw)`` and the
    secondaries (``role=open(**kw)``), every part a secondary lowers routed to it."""
    from helios_persistence.composite import composite
    from helios_persistence.composite.costs import route_all

    def open_(tmp: Any, **kw: Any) -> Any:
        stores = [primary(tmp, **kw)]
        try:
            roles = {role: make(**kw) for role, make in secondaries.items()}
        except BaseException:
            stores[0].close()
            raise
        stores += roles.values()
        store = composite(primary=stores[0], **roles, costs=route_all(), start=False)
        close = store.close

        def close_all() -> None:
            close()
            for member in reversed(stores):
                member.close()

        store.close = close_all
        return store

    return open_


@dataclass(frozen=True)
class Backend:
    name: str
    dialect: str
    open: Callable[..., Any]
    unavailable: Callable[[], str | None] = field(default=_available)
    #: False: the backend only answers searches (DuckDB over an export), so the storage
    #: suite (CRUD, history, transactions, permissions) does not run on it
    stores: bool = True
    #: the tenancy strategies it offers (the store's ``tenancy`` option), default first
    tenancies: tuple[str, ...] = ()
    #: True: the conformance suite runs it under ``make test-slow`` only, and the default
    #: differential tests leave it out (``tests/composite/test_differential.py`` runs it)
    slow: bool = False
    #: True: the differential property tests run it under ``make test-slow`` only (with the
    #: slow backends); the conformance suite still runs it by default (the suite's budget)
    property_slow: bool = False

    @contextmanager
    def opened(self, tmp: Any, **kw: Any) -> Iterator[Any]:
        """A fresh store of this backend (the calling test skips when its server is down),
        closed afterwards."""
        import pytest

        reason = self.unavailable()
        if reason:
            pytest.skip(f"{self.name}: {reason}")
        store = self.open(tmp, **kw)
        try:
            yield store
        finally:
            store.close()


BACKENDS: dict[str, Backend] = {
    b.name: b
    for b in (
        Backend(
            "sqlite-memory",
            "sqlite",
            lambda tmp, **kw: open_store("sqlite://", **kw),
            tenancies=("shared", "database"),
        ),
        Backend(
            "sqlite-file",
            "sqlite",
            lambda tmp, **kw: open_store(f"sqlite:///{tmp}/store.db", **kw),
            tenancies=("shared", "database"),  # (database: a folder of one file per tenant)
        ),
        Backend(
            "postgres",
            "postgres",
            _postgres,
            unavailable=lambda: _service_missing("postgres"),
            tenancies=("shared", "schema", "database"),
        ),
        Backend(
            "neo4j",
            "cypher",
            _neo4j,
            unavailable=lambda: _service_missing("neo4j"),
            stores=False,
            property_slow=True,
        ),
        Backend(
            "duckdb-export", "duckdb", lambda tmp, **kw: ExportedStore(tmp, **kw), stores=False
        ),
        Backend(
            "elasticsearch",
            "elasticsearch",
            lambda tmp, **kw: SyncedStore(_elasticsearch, **kw),
            unavailable=lambda: _service_missing("elasticsearch"),
            stores=False,
            property_slow=True,
        ),
        Backend(
            "composite-sqlite-es",
            "sqlite",  # (a composite's answers are its primary's)
            _composite(lambda tmp, **kw: open_store("sqlite://", **kw), search=_elasticsearch),
            unavailable=lambda: _service_missing("elasticsearch"),
            stores=False,
            slow=True,
        ),
        Backend(
            "composite-postgres-neo4j",
            "postgres",
            _composite(_postgres, graph=_neo4j_store),
            unavailable=lambda: _service_missing("postgres") or _service_missing("neo4j"),
            stores=False,
            slow=True,
        ),
        Backend(
            "composite-postgres-neo4j-es",
            "postgres",
            _composite(_postgres, graph=_neo4j_store, search=_elasticsearch),
            unavailable=lambda: (
                _service_missing("postgres")
                or _service_missing("neo4j")
                or _service_missing("elasticsearch")
            ),
            stores=False,
            slow=True,
        ),
    )
}
#: the backends the storage suite runs on
STORES = {name: b for name, b in BACKENDS.items() if b.stores}
