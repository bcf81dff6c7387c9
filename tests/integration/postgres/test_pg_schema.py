"""PostgreSQL schema migrations: versioned, idempotent, transactional, upgrade on open."""

from __future__ import annotations

import re
import threading
import uuid
from typing import Any

import pytest
from pg_helpers import drop_schemas
from psycopg import sql
from sqlite_helpers import patient

from helios_persistence.backends.postgres import schema
from helios_persistence.backends.postgres.schema import (
    SCHEMA_VERSION,
    current_version,
    migrate,
    migrations,
)
from helios_persistence.backends.postgres.store import _RLS_TABLES
from helios_persistence.errors import SchemaMismatch
from helios_persistence.store_urls import open_store
from helios_persistence.tenancy import TenantContext

CTX = TenantContext.for_tenant("t")


@pytest.fixture
def scratch(pg_db: Any) -> Any:
    name = f"m{uuid.uuid4().hex[:10]}"
    yield name
    drop_schemas(pg_db, name)


def _tables(conn: Any, name: str) -> set[str]:
    rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s", [name])
    return {r[0] for r in rows}


def _indexes(conn: Any, name: str) -> set[str]:
    rows = conn.execute("SELECT indexname FROM pg_indexes WHERE schemaname = %s", [name])
    return {r[0] for r in rows}


def test_migrations_are_ordered_and_start_with_the_schema() -> None:
    found = migrations()
    assert found[0][:2] == (1, "schema.sql")
    assert [v for v, _, _ in found] == sorted({v for v, _, _ in found})
    assert SCHEMA_VERSION == found[-1][0] >= 3


def test_migrate_fresh_and_idempotent(pg_db: Any, scratch: str) -> None:
    assert current_version(pg_db, scratch) == 0
    assert migrate(pg_db, scratch) == 0
    assert migrate(pg_db, scratch) == SCHEMA_VERSION
    assert current_version(pg_db, scratch) == SCHEMA_VERSION
    assert {
        "resources", "history", "idx_token", "resource_text", "param_text", "outbox",
        "helios_tenants",
    } <= _tables(pg_db, scratch)  # fmt: skip
    assert {
        "idx_string_value", "idx_string_trgm", "resource_text_content",
        "param_text_text", "history_type_updated",
    } <= _indexes(pg_db, scratch)  # fmt: skip
    policies = pg_db.execute(
        "SELECT count(*) FROM pg_policies WHERE schemaname = %s", [scratch]
    ).fetchone()
    # one per tenant table (export jobs and terminology too), and helios_tenants (008)
    assert policies == (len(_RLS_TABLES) + 1,)


def test_upgrade_from_version_1_on_open(pg_url: str, pg_db: Any, scratch: str) -> None:
    migrate(pg_db, scratch, upto=1)
    assert current_version(pg_db, scratch) == 1
    assert "idx_string_trgm" not in _indexes(pg_db, scratch)
    with open_store(f"{pg_url}?schema={scratch}") as store:
        store.update(CTX, patient(id="p", family="Upgraded"))
        assert store.search(CTX, "Patient?name:contains=grad").ids == ["Patient/p"]
    assert current_version(pg_db, scratch) == SCHEMA_VERSION
    assert "idx_string_trgm" in _indexes(pg_db, scratch)


def test_a_new_migration_applies_once(
    pg_url: str, pg_db: Any, scratch: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    open_store(f"{pg_url}?schema={scratch}").close()
    extra = (
        *migrations(),
        (SCHEMA_VERSION + 1, "999_test.sql", "CREATE TABLE IF NOT EXISTS extra (x INTEGER);"),
    )
    monkeypatch.setattr(schema, "migrations", lambda: extra)
    monkeypatch.setattr(schema, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    assert migrate(pg_db, scratch) == SCHEMA_VERSION
    assert migrate(pg_db, scratch) == SCHEMA_VERSION + 1
    table = sql.Identifier(scratch, "extra")
    assert pg_db.execute(sql.SQL("SELECT count(*) FROM {}").format(table)).fetchone() == (0,)


def test_a_failed_migration_changes_nothing(
    pg_db: Any, scratch: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    migrate(pg_db, scratch, upto=1)
    broken = (*migrations()[:2], (3, "003_broken.sql", "CREATE TABLE oops (x INTEGER); SELEC 1;"))
    monkeypatch.setattr(schema, "migrations", lambda: broken)
    with pytest.raises(Exception, match="syntax"):
        migrate(pg_db, scratch, upto=3)
    assert current_version(pg_db, scratch) == 1  # 002 rolled back with the failing 003
    assert "oops" not in _tables(pg_db, scratch)
    assert "idx_string_trgm" not in _indexes(pg_db, scratch)


def test_concurrent_opens_migrate_once(pg_url: str, pg_db: Any, scratch: str) -> None:
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def open_one() -> None:
        barrier.wait()
        try:
            open_store(f"{pg_url}?schema={scratch}").close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert current_version(pg_db, scratch) == SCHEMA_VERSION
    rows = pg_db.execute(
        sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(scratch, "schema_version"))
    ).fetchone()
    assert rows == (1,)


def test_a_newer_schema_is_refused(pg_url: str, pg_db: Any, scratch: str) -> None:
    migrate(pg_db, scratch)
    table = sql.Identifier(scratch, "schema_version")
    pg_db.execute(sql.SQL("UPDATE {} SET version = 999").format(table))
    with pytest.raises(RuntimeError, match="newer"):
        open_store(f"{pg_url}?schema={scratch}")


def test_migration_009_marks_irregular_date_rows_written_before_it(
    pg_url: str, pg_db: Any, scratch: str
) -> None:
    """Rows written before 009 (every plain date row with ``grp`` NULL) get the marks the
    writer now sets, row-level security forced or not: multi-valued and wider-than-a-day
    rows 0, the others NULL."""
    goal = {
        "resourceType": "Goal", "id": "g1", "lifecycleStatus": "active",
        "description": {"text": "x"}, "subject": {"reference": "Patient/p1"},
        "target": [{"dueDate": "2020-01-15"}, {"dueDate": "2021-03-01"}],
    }  # fmt: skip
    with open_store(f"{pg_url}?schema={scratch}") as store:
        store.update(CTX, patient(id="p1", birthDate="1980"))  # a year: wider than a day
        store.update(CTX, patient(id="p2", birthDate="1980-05-17"))  # a day: regular
        store.update(CTX, goal)  # two target dates: both irregular
    table = sql.Identifier(scratch, "idx_date")
    query = sql.SQL(
        "SELECT type, id, param, grp FROM {} WHERE param NOT LIKE '%%$%%' ORDER BY 1, 2, 3"
    ).format(table)
    marked = pg_db.execute(query).fetchall()
    assert sorted(r[1] for r in marked if r[3] is not None) == ["g1", "g1", "p1"]
    pg_db.execute(sql.SQL("UPDATE {} SET grp = NULL WHERE param NOT LIKE '%%$%%'").format(table))
    pg_db.execute(sql.SQL("ALTER TABLE {} FORCE ROW LEVEL SECURITY").format(table))
    pg_db.execute(
        sql.SQL("UPDATE {} SET version = 8").format(sql.Identifier(scratch, "schema_version"))
    )
    with open_store(f"{pg_url}?schema={scratch}") as store:
        goals = store.search(CTX, "Goal?target-date=lt2020-06&target-date=gt2020-12")
        assert goals.ids == ["Goal/g1"]
    assert pg_db.execute(query).fetchall() == marked
    forced = pg_db.execute(
        "SELECT relforcerowsecurity FROM pg_class WHERE oid = %s::regclass",
        [f'"{scratch}".idx_date'],
    ).fetchone()
    assert forced == (True,)


def _two_more(monkeypatch: pytest.MonkeyPatch) -> tuple[int, int]:
    """The loader now knows two more migrations, ``late`` and ``last``; their numbers."""
    late, last = SCHEMA_VERSION + 1, SCHEMA_VERSION + 2
    extra = (
        (late, f"{late:03d}_late.sql", "CREATE TABLE IF NOT EXISTS late (x integer);"),
        (last, f"{last:03d}_last.sql", "CREATE TABLE IF NOT EXISTS last (x integer);"),
    )
    monkeypatch.setattr(schema, "migrations", lambda: (*migrations(), *extra))
    monkeypatch.setattr(schema, "SCHEMA_VERSION", last)
    return late, last


def _recorded(conn: Any, name: str) -> list[int]:
    table = sql.Identifier(name, "schema_migrations")
    query = sql.SQL("SELECT version FROM {} ORDER BY 1").format(table)
    return [v for (v,) in conn.execute(query)]


def test_a_migration_added_below_the_schema_version_is_refused(
    pg_db: Any, scratch: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A schema that went past a number before a migration was added there never ran it:
    migrating it is refused, clearly, and changes nothing."""
    migrate(pg_db, scratch)
    assert _recorded(pg_db, scratch) == [v for v, _, _ in migrations()]
    late, last = _two_more(monkeypatch)
    version = sql.Identifier(scratch, "schema_version")
    pg_db.execute(sql.SQL("UPDATE {} SET version = %s").format(version), [last])
    pg_db.execute(
        sql.SQL("INSERT INTO {} VALUES (%s)").format(sql.Identifier(scratch, "schema_migrations")),
        [last],
    )
    with pytest.raises(SchemaMismatch, match=re.escape(f"never ran {late:03d}_late.sql")):
        migrate(pg_db, scratch)
    assert "late" not in _tables(pg_db, scratch)
    assert late not in _recorded(pg_db, scratch)


def test_a_schema_that_recorded_only_its_version_counts_as_having_run_every_migration(
    pg_db: Any, scratch: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    migrate(pg_db, scratch)
    pg_db.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(scratch, "schema_migrations")))
    assert migrate(pg_db, scratch) == SCHEMA_VERSION  # accepted, and the record is made
    assert _recorded(pg_db, scratch) == [v for v, _, _ in migrations()]
    late, last = _two_more(monkeypatch)
    assert migrate(pg_db, scratch) == SCHEMA_VERSION
    assert _recorded(pg_db, scratch)[-2:] == [late, last]


def test_migration_010_makes_number_columns_exact(pg_url: str, pg_db: Any, scratch: str) -> None:
    """Number and quantity columns written before 010 (DOUBLE PRECISION) become NUMERIC with
    the same values (each double's shortest text, open Range ends as ±Infinity)."""
    risk = {
        "resourceType": "RiskAssessment", "id": "r1", "status": "final",
        "subject": {"reference": "Patient/p1"},
        "prediction": [{"probabilityRange": {"low": {"value": 0.2}}}],
    }  # fmt: skip
    with open_store(f"{pg_url}?schema={scratch}") as store:
        for i, value in enumerate([1.5, -3, 100, 0.1]):
            store.update(
                CTX,
                {
                    "resourceType": "Observation", "id": f"o{i}", "status": "final",
                    "code": {"text": "x"}, "valueQuantity": {"value": value, "unit": "1"},
                },
            )  # fmt: skip
        store.update(CTX, risk)
    columns = {
        "idx_number": ["value", "low", "high"],
        "idx_quantity": ["value", "low", "high", "canonical_value", "canonical_low",
                         "canonical_high"],
    }  # fmt: skip
    queries = {
        t: sql.SQL("SELECT id, param, {} FROM {} ORDER BY 1, 2, 3").format(
            sql.SQL(", ").join(map(sql.Identifier, cs)), sql.Identifier(scratch, t)
        )
        for t, cs in columns.items()
    }
    written = {t: pg_db.execute(q).fetchall() for t, q in queries.items()}
    for table, cs in columns.items():  # as written before 010 (doubles), then applied again
        pg_db.execute(
            sql.SQL("ALTER TABLE {} ").format(sql.Identifier(scratch, table))
            + sql.SQL(", ").join(
                sql.SQL("ALTER COLUMN {} TYPE DOUBLE PRECISION").format(sql.Identifier(c))
                for c in cs
            )
        )
    pg_db.execute(
        sql.SQL("UPDATE {} SET version = 9").format(sql.Identifier(scratch, "schema_version"))
    )
    assert isinstance(pg_db.execute(queries["idx_number"]).fetchone()[2], float)
    with open_store(f"{pg_url}?schema={scratch}") as store:
        found = store.search(CTX, "Observation?value-quantity=ge1.5&_sort=value-quantity")
        assert found.ids == ["Observation/o0", "Observation/o2"]
        assert store.search(CTX, "RiskAssessment?probability=gt0.1").ids == ["RiskAssessment/r1"]
    assert {t: pg_db.execute(q).fetchall() for t, q in queries.items()} == written
    kinds = pg_db.execute(
        "SELECT DISTINCT data_type FROM information_schema.columns WHERE table_schema = %s "
        "AND table_name IN ('idx_number', 'idx_quantity') AND column_name LIKE ANY "
        "(ARRAY['%%value', '%%low', '%%high'])",
        [scratch],
    ).fetchall()
    assert kinds == [("numeric",)]
