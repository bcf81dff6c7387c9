"""Helpers of the PostgreSQL integration tests (a module with a unique name, so test modules
can import it whatever other ``conftest`` modules a full run has loaded)."""

from __future__ import annotations

from typing import Any

from psycopg import sql

__all__ = ["drop_databases", "drop_schemas"]


def drop_databases(admin: Any, name: str) -> None:
    pattern = name.replace("_", r"\_") + r"\_t\_%"
    found = admin.execute(
        "SELECT datname FROM pg_database WHERE datname = %s OR datname LIKE %s", [name, pattern]
    ).fetchall()
    for (db,) in found:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db)))


def drop_schemas(conn: Any, schema: str) -> None:
    pattern = schema.replace("_", r"\_") + r"\_t\_%"
    found = conn.execute(
        "SELECT nspname FROM pg_namespace WHERE nspname = %s OR nspname LIKE %s", [schema, pattern]
    ).fetchall()
    for (name,) in found:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))
