from __future__ import annotations

from pathlib import Path

import apsw
import pytest
from sqlite_helpers import patient

from helios_persistence.backends.sqlite import schema
from helios_persistence.backends.sqlite.schema import SCHEMA_VERSION, migrate, migrations
from helios_persistence.backends.sqlite.store import SQLiteStore
from helios_persistence.store_urls import open_store
from helios_persistence.tenancy import TenantContext


def test_migrations_are_ordered_and_start_with_the_schema() -> None:
    found = migrations()
    assert found[0][:2] == (1, "schema.sql")
    assert [v for v, _, _ in found] == sorted({v for v, _, _ in found})
    assert SCHEMA_VERSION == found[-1][0] >= 2


def test_migrate_fresh_and_idempotent() -> None:
    conn = apsw.Connection(":memory:")
    assert migrate(conn) == 0
    assert migrate(conn) == SCHEMA_VERSION
    assert conn.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {
        "resources",
        "history",
        "idx_token",
        "resource_text",
        "outbox",
        "param_text",
    } <= tables


def test_upgrade_from_version_1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "old.db"
    conn = apsw.Connection(str(path))
    conn.execute(migrations()[0][2])
    conn.execute("INSERT INTO schema_version VALUES (1)")
    conn.close()
    with open_store(f"sqlite:///{path}") as store:
        store.update(TenantContext.for_tenant("t"), patient(id="p"))
    conn = apsw.Connection(str(path))
    assert conn.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
    conn.close()


def test_new_migration_applies_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "db.sqlite"
    SQLiteStore(path).close()
    extra = (
        *migrations(),
        (SCHEMA_VERSION + 1, "999_test.sql", "CREATE TABLE IF NOT EXISTS extra_table (x INTEGER);"),
    )
    monkeypatch.setattr(schema, "migrations", lambda: extra)
    monkeypatch.setattr(schema, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    conn = apsw.Connection(str(path))
    assert migrate(conn) == SCHEMA_VERSION
    assert migrate(conn) == SCHEMA_VERSION + 1
    assert conn.execute("SELECT count(*) FROM extra_table").fetchone() == (0,)


def test_newer_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    SQLiteStore(path).close()
    conn = apsw.Connection(str(path))
    conn.execute("UPDATE schema_version SET version = 999")
    conn.close()
    with pytest.raises(RuntimeError, match="newer"):
        SQLiteStore(path)


def test_file_database_uses_wal(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "w.db") as store, store._pools[""].connection() as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
