"""Creating and migrating the SQLite schema.

``dialects/sqlite/schema.sql`` is version 1. Later changes live in
``dialects/sqlite/migrations/NNN_<name>.sql`` (NNN ≥ 2) and are applied in order, each once,
inside one ``BEGIN IMMEDIATE`` transaction; ``schema_version`` holds the single row with the
version reached, ``schema_migrations`` one row per migration the database ran. Every script is
written to be idempotent (``IF NOT EXISTS``), so re-running one after a crash is harmless. A
database newer than this library is refused, and so is one that never ran a migration below
its version (see :func:`helios_persistence.dialects.check_applied`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import apsw

from helios_persistence.dialects import (
    MIGRATIONS_TABLE,
    check_applied,
    legacy_applied,
)
from helios_persistence.dialects import migrations as dialect_migrations
from helios_persistence.errors import SchemaMismatch
from helios_persistence.indexing.decimal_keys import number_key

__all__ = ["SCHEMA_VERSION", "defer_indexes", "migrate", "migrations", "restore_indexes"]


def migrations() -> tuple[tuple[int, str, str], ...]:
    """``(version, name, sql)`` of the sqlite schema, in order (see ``dialects``)."""
    found: tuple[tuple[int, str, str], ...] = dialect_migrations("sqlite")
    return found


SCHEMA_VERSION = migrations()[-1][0]


def _current_version(conn: apsw.Connection) -> int:
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
    ).fetchall()
    if not exists:
        return 0
    row = conn.execute("SELECT max(version) FROM schema_version").fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def _applied(conn: apsw.Connection, before: int) -> set[int]:
    """The migrations the database ran (recorded; for a database that recorded only its
    version, every one up to it — recorded now)."""
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (MIGRATIONS_TABLE,)
    ).fetchall()
    if not exists:
        conn.execute(f"CREATE TABLE {MIGRATIONS_TABLE} (version INTEGER PRIMARY KEY)")
        _record(conn, legacy_applied(migrations(), before))
    return {int(v) for (v,) in conn.execute(f"SELECT version FROM {MIGRATIONS_TABLE}")}


def _record(conn: apsw.Connection, versions: list[int]) -> None:
    conn.executemany(
        f"INSERT OR IGNORE INTO {MIGRATIONS_TABLE} (version) VALUES (?)", [(v,) for v in versions]
    )


def _number_key(*args: Any) -> Any:
    """``helios_number_key(x)`` for migration 008: a REAL as the text key of its shortest
    repr; a key (or NULL) as it is."""
    (value,) = args
    if isinstance(value, int | float):
        return number_key(Decimal(repr(float(value))))
    return value


def migrate(conn: apsw.Connection) -> int:
    """Bring the database to :data:`SCHEMA_VERSION`; returns the version it was at."""
    conn.create_scalar_function("helios_number_key", _number_key, 1, deterministic=True)
    conn.execute("BEGIN IMMEDIATE")
    try:
        before = _current_version(conn)
        if before > SCHEMA_VERSION:
            raise SchemaMismatch(
                f"the database schema is version {before}, newer than this library "
                f"({SCHEMA_VERSION})"
            )
        check_applied("sqlite", migrations(), before, _applied(conn, before))
        for version, _name, sql in migrations():
            if version > before:
                conn.execute(sql)
                _record(conn, [version])
        if before < SCHEMA_VERSION:
            conn.execute("DELETE FROM schema_version")
            conn.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,))
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return before


_INDEX_TABLE_INDEXES = (
    "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
    "AND tbl_name LIKE 'idx\\_%' ESCAPE '\\' ORDER BY name"
)


def defer_indexes(conn: apsw.Connection) -> int:
    """Drop every index of the ``idx_*`` tables, recording each in ``deferred_indexes``
    (in the caller's transaction); returns how many were dropped."""
    found = conn.execute(_INDEX_TABLE_INDEXES).fetchall()
    for name, sql in found:
        conn.execute("INSERT OR IGNORE INTO deferred_indexes VALUES (?, ?)", (name, sql))
        conn.execute(f'DROP INDEX "{name}"')
    return len(found)


def restore_indexes(conn: apsw.Connection) -> int:
    """Build every index ``deferred_indexes`` records (in the caller's transaction);
    returns how many were built."""
    built = 0
    for name, sql in conn.execute("SELECT name, sql FROM deferred_indexes").fetchall():
        exists = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?", (name,)
        ).fetchall()
        if not exists:
            conn.execute(str(sql))
            built += 1
    conn.execute("DELETE FROM deferred_indexes")
    return built
