"""One definition of the relational index model (``backends/sql/index_tables.py``) is what every
SQL backend's migrated schema has, what the writers fill and what the compilers search."""

from __future__ import annotations

from typing import Any

from helios_persistence.backends.sql.index_tables import COLUMNS, INDEX_TABLES, KEY, TABLE_OF_TYPE
from helios_persistence.compilers.sql import TABLES
from helios_persistence.tenancy import TenantContext


def _columns(store: Any, table: str) -> list[str]:
    ctx = TenantContext.for_tenant("schema-check")
    with store.read_session(ctx) as s:
        if store.compiler.dialect == "postgres":
            rows = s.conn.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND table_name = %s "
                "ORDER BY ordinal_position",
                [table],
            ).fetchall()
            return [r[0] for r in rows]
        return [r[1] for r in s.conn.execute(f"PRAGMA table_info({table})")]


def test_every_backend_schema_has_the_model(store: Any) -> None:
    for table in INDEX_TABLES:
        assert _columns(store, table) == [*KEY, *COLUMNS[table]], table


def test_the_compiler_searches_the_model() -> None:
    assert TABLES is TABLE_OF_TYPE
    assert set(TABLES.values()) == set(INDEX_TABLES)
