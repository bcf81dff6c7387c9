from __future__ import annotations

import re
from pathlib import Path

import apsw
import pytest
from sqlite_helpers import patient

from helios_persistence.backends.sqlite import schema
from helios_persistence.backends.sqlite.schema import SCHEMA_VERSION, migrate, migrations
from helios_persistence.backends.sqlite.store import SQLiteStore
from helios_persistence.errors import SchemaMismatch
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


def test_migration_007_marks_irregular_date_rows_written_before_it(tmp_path: Path) -> None:
    """A database written before 007 (every plain date row with ``grp`` NULL) gets the marks
    the writer now sets: multi-valued and wider-than-a-day rows 0, the others NULL."""
    path = tmp_path / "old.db"
    ctx = TenantContext.for_tenant("acme")
    goal = {
        "resourceType": "Goal", "id": "g1", "lifecycleStatus": "active",
        "description": {"text": "x"}, "subject": {"reference": "Patient/p1"},
        "target": [{"dueDate": "2020-01-15"}, {"dueDate": "2021-03-01"}],
    }  # fmt: skip
    with open_store(f"sqlite:///{path}") as store:
        store.update(ctx, patient(id="p1", birthDate="1980"))  # a year: wider than a day
        store.update(ctx, patient(id="p2", birthDate="1980-05-17"))  # a day: regular
        store.update(ctx, goal)  # two target dates: both irregular
    query = "SELECT type, id, param, grp FROM idx_date WHERE param NOT LIKE '%$%' ORDER BY 1, 2, 3"
    conn = apsw.Connection(str(path))
    marked = conn.execute(query).fetchall()
    assert sorted(r[1] for r in marked if r[3] is not None) == ["g1", "g1", "p1"]
    with conn:  # as written before 007, which is then applied again
        conn.execute("UPDATE idx_date SET grp = NULL WHERE param NOT LIKE '%$%'")
        conn.execute("UPDATE schema_version SET version = 6")
    conn.close()
    with open_store(f"sqlite:///{path}") as store:
        goals = store.search(ctx, "Goal?target-date=lt2020-06&target-date=gt2020-12")
        assert [r["id"] for r in goals.resources] == ["g1"]
    conn = apsw.Connection(str(path))
    assert conn.execute(query).fetchall() == marked
    conn.close()


def _two_more(monkeypatch: pytest.MonkeyPatch) -> tuple[int, int]:
    """The loader now knows two more migrations, ``late`` and ``last``; their numbers."""
    late, last = SCHEMA_VERSION + 1, SCHEMA_VERSION + 2
    extra = (
        (late, f"{late:03d}_late.sql", "CREATE TABLE IF NOT EXISTS late (x INTEGER);"),
        (last, f"{last:03d}_last.sql", "CREATE TABLE IF NOT EXISTS last (x INTEGER);"),
    )
    monkeypatch.setattr(schema, "migrations", lambda: (*migrations(), *extra))
    monkeypatch.setattr(schema, "SCHEMA_VERSION", last)
    return late, last


def _recorded(conn: apsw.Connection) -> list[int]:
    return [v for (v,) in conn.execute("SELECT version FROM schema_migrations ORDER BY 1")]


def test_every_applied_migration_is_recorded(tmp_path: Path) -> None:
    SQLiteStore(tmp_path / "db.sqlite").close()
    conn = apsw.Connection(str(tmp_path / "db.sqlite"))
    assert _recorded(conn) == [v for v, _, _ in migrations()]


def test_a_migration_added_below_the_database_version_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database that went past a number before a migration was added there never ran it:
    opening it is refused, clearly, and changes nothing."""
    path = tmp_path / "db.sqlite"
    SQLiteStore(path).close()
    late, last = _two_more(monkeypatch)
    conn = apsw.Connection(str(path))
    with conn:  # as a library that had ``last`` but not yet ``late`` left it
        conn.execute("INSERT INTO schema_migrations VALUES (?)", (last,))
        conn.execute("UPDATE schema_version SET version = ?", (last,))
    with pytest.raises(SchemaMismatch, match=re.escape(f"never ran {late:03d}_late.sql")):
        SQLiteStore(path)
    assert not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'late'").fetchall()
    assert late not in _recorded(conn)
    conn.close()


def test_a_database_that_recorded_only_its_version_counts_as_having_run_every_migration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Databases made before the record existed are taken at their word (every migration up
    to their version ran) and recorded so; then only new numbers apply."""
    path = tmp_path / "old.db"
    SQLiteStore(path).close()
    conn = apsw.Connection(str(path))
    conn.execute("DROP TABLE schema_migrations")
    SQLiteStore(path).close()  # accepted, and the record is made
    assert _recorded(conn) == [v for v, _, _ in migrations()]
    late, last = _two_more(monkeypatch)
    SQLiteStore(path).close()
    assert _recorded(conn)[-2:] == [late, last]
    conn.close()


def test_migration_008_turns_real_numbers_into_exact_keys(tmp_path: Path) -> None:
    """Number and quantity rows written before 008 (REAL values) become the text keys the
    writer now stores (open Range ends included), and searches answer as before."""
    from decimal import Decimal

    from helios_persistence.indexing.decimal_keys import decimal_of_key

    path = tmp_path / "old.db"
    ctx = TenantContext.for_tenant("acme")
    values = [1.5, -3, 100, 0.1]
    risk = {
        "resourceType": "RiskAssessment", "id": "r1", "status": "final",
        "subject": {"reference": "Patient/p1"},
        "prediction": [{"probabilityRange": {"low": {"value": 0.2}}}],
    }  # fmt: skip
    with open_store(f"sqlite:///{path}") as store:
        for i, value in enumerate(values):
            store.update(
                ctx,
                {
                    "resourceType": "Observation", "id": f"o{i}", "status": "final",
                    "code": {"text": "x"}, "valueQuantity": {"value": value, "unit": "1"},
                },
            )  # fmt: skip
        store.update(ctx, risk)
    tables = {
        "idx_number": "value, low, high",
        "idx_quantity": "value, low, high, canonical_value, canonical_low, canonical_high",
    }
    queries = {t: f"SELECT id, param, {c} FROM {t} ORDER BY 1, 2, 3" for t, c in tables.items()}
    conn = apsw.Connection(str(path))
    written = {t: conn.execute(q).fetchall() for t, q in queries.items()}
    assert all(isinstance(v, str) for rows in written.values() for r in rows for v in r[2:3])

    def as_real(key: str | None) -> float | None:
        return None if key is None else float(decimal_of_key(key))

    conn.create_scalar_function("as_real", as_real, 1)
    with conn:  # as written before 008 (floats), which is then applied again
        for table, columns in tables.items():
            sets = ", ".join(f"{c} = as_real({c})" for c in columns.split(", "))
            conn.execute(f"UPDATE {table} SET {sets}")
        conn.execute("UPDATE schema_version SET version = 7")
    assert isinstance(conn.execute(queries["idx_number"]).fetchone()[3], float)
    conn.close()
    with open_store(f"sqlite:///{path}") as store:
        found = store.search(ctx, "Observation?value-quantity=ge1.5&_sort=value-quantity")
        assert [r["id"] for r in found.resources] == ["o0", "o2"]
        assert store.search(ctx, "RiskAssessment?probability=gt0.1").ids == ["RiskAssessment/r1"]
    conn = apsw.Connection(str(path))
    assert {t: conn.execute(q).fetchall() for t, q in queries.items()} == written
    conn.close()
    assert decimal_of_key(written["idx_number"][0][4]) == Decimal("Infinity")
