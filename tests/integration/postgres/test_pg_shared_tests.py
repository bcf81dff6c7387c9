"""SQLite integration tests not yet in the backend-agnostic storage suite (``tests/storage``),
run as they are against PostgreSQL.

Each name below is a test function of ``tests/integration/sqlite``; importing it here makes
pytest run it with this directory's fixtures (a PostgreSQL ``store``, ``any_store`` in the
shared schema and in a schema per tenant, ``tstore`` in all three tenancy strategies).
Tests that look inside SQLite itself (its files, WAL, rowids, FTS5 tables) have PostgreSQL
counterparts in the other ``test_pg_*`` modules instead.
"""

from __future__ import annotations

from test_sqlite_tenancy import (  # noqa: F401
    test_same_ids_stay_separate,
    test_writes_and_deletes_stay_separate,
)
