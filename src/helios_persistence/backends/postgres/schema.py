"""Creating and migrating the PostgreSQL schema (one database schema at a time).

``dialects/postgres/schema.sql`` is version 1; ``dialects/postgres/migrations/NNN_<name>.sql``
(NNN ≥ 2) follow in order. :func:`migrate` applies the missing ones to one schema in **one
transaction** (PostgreSQL DDL is transactional: a failed upgrade leaves the old version
intact) under an advisory lock on the schema's name, so processes opening the same database at
once migrate it exactly once. ``schema_version`` holds the version reached; every script is
idempotent (``IF NOT EXISTS``, ``DROP ... IF EXISTS`` + ``CREATE``); ``schema_migrations``
records every migration the schema ran. A schema newer than this library is refused, and so is
one that never ran a migration below its version (see
:func:`helios_persistence.dialects.check_applied`).

The ``pg_trgm`` extension (trigram indexes for ``:contains``) is created when the role may
(it is a trusted extension from PostgreSQL 13: the database's ``CREATE`` privilege is
enough); without it the migration skips the trigram indexes and ``:contains`` scans the
parameter's btree range instead.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from helios_persistence.dialects import (
    MIGRATIONS_TABLE,
    check_applied,
    legacy_applied,
)
from helios_persistence.dialects import migrations as dialect_migrations
from helios_persistence.errors import SchemaMismatch

from .locks import lock_key

__all__ = ["SCHEMA_VERSION", "current_version", "migrate", "migrations"]

EXTENSIONS = ("pg_trgm",)


def migrations() -> tuple[tuple[int, str, str], ...]:
    """``(version, name, sql)`` of the postgres schema, in order (see ``dialects``)."""
    found: tuple[tuple[int, str, str], ...] = dialect_migrations("postgres")
    return found


SCHEMA_VERSION = migrations()[-1][0]


def current_version(conn: psycopg.Connection, schema: str) -> int:
    """The version of ``schema`` (0: not created yet)."""
    row = conn.execute(
        "SELECT to_regclass(format('%%I.schema_version', %s::text)) IS NOT NULL", [schema]
    ).fetchone()
    if not row or not row[0]:
        return 0
    query = sql.SQL("SELECT max(version) FROM {}.schema_version").format(sql.Identifier(schema))
    found = conn.execute(query).fetchone()
    return int(found[0]) if found and found[0] is not None else 0


def _create_extensions(conn: psycopg.Connection) -> None:
    """Create the optional extensions where the role may (each in a savepoint)."""
    for name in EXTENSIONS:
        row = conn.execute("SELECT 1 FROM pg_extension WHERE extname = %s", [name]).fetchone()
        if row:
            continue
        try:
            with conn.transaction():
                conn.execute(
                    sql.SQL("CREATE EXTENSION IF NOT EXISTS {}").format(sql.Identifier(name))
                )
        except (psycopg.errors.InsufficientPrivilege, psycopg.errors.FeatureNotSupported):
            pass  # optional: the migration skips what needs it
        except psycopg.errors.UndefinedFile:  # pragma: no cover - contrib not installed
            pass


def migrate(conn: psycopg.Connection, schema: str, *, upto: int | None = None) -> int:
    """Bring ``schema`` (created if missing) to :data:`SCHEMA_VERSION` (or ``upto``); returns
    the version it was at. ``conn`` must not be inside a transaction."""
    target = SCHEMA_VERSION if upto is None else upto
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", [lock_key("migrate", schema)])
        before = current_version(conn, schema)
        if before > SCHEMA_VERSION:
            raise SchemaMismatch(
                f"the database schema {schema!r} is version {before}, newer than this library "
                f"({SCHEMA_VERSION})"
            )
        if before > 0:
            check_applied("postgres", migrations(), before, _applied(conn, schema, before))
        if before >= target:
            return before
        _create_extensions(conn)
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
        conn.execute("SELECT set_config('search_path', %s, true)", [sql_path(schema)])
        if before == 0:
            _applied(conn, schema, before)  # (creates the table)
        for version, _name, text in migrations():
            if before < version <= target:
                conn.execute(text.encode("utf-8"))  # no parameters: the simple protocol
                _record(conn, schema, [version])
        conn.execute("DELETE FROM schema_version")
        conn.execute("INSERT INTO schema_version (version) VALUES (%s)", [target])
    return before


def _applied(conn: psycopg.Connection, schema: str, before: int) -> set[int]:
    """The migrations ``schema`` ran (recorded; for a schema that recorded only its version,
    every one up to it — recorded now)."""
    table = sql.Identifier(schema, MIGRATIONS_TABLE)
    row = conn.execute("SELECT to_regclass(%s)", [f"{sql_path(schema)}.{MIGRATIONS_TABLE}"])
    found = row.fetchone()
    if not found or found[0] is None:
        conn.execute(sql.SQL("CREATE TABLE {} (version integer PRIMARY KEY)").format(table))
        _record(conn, schema, legacy_applied(migrations(), before))
    return {int(v) for (v,) in conn.execute(sql.SQL("SELECT version FROM {}").format(table))}


def _record(conn: psycopg.Connection, schema: str, versions: list[int]) -> None:
    if versions:
        statement = sql.SQL("INSERT INTO {} (version) VALUES (%s) ON CONFLICT DO NOTHING")
        with conn.cursor() as cur:
            cur.executemany(
                statement.format(sql.Identifier(schema, MIGRATIONS_TABLE)),
                [(v,) for v in versions],
            )


def sql_path(schema: str) -> str:
    """A ``search_path`` value naming only ``schema`` (quoted as an identifier)."""
    return '"' + schema.replace('"', '""') + '"'
