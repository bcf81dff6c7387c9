"""SQLite integration tests not yet in the backend-agnostic storage suite (``tests/storage``),
run as they are against PostgreSQL.

Each name below is a test function of ``tests/integration/sqlite``; importing it here makes
pytest run it with this directory's fixtures (a PostgreSQL ``store``, ``any_store`` in the
shared schema and in a schema per tenant, ``tstore`` in all three tenancy strategies).
Tests that look inside SQLite itself (its files, WAL, rowids, FTS5 tables) have PostgreSQL
counterparts in the other ``test_pg_*`` modules instead.
"""

from __future__ import annotations

from test_sqlite_concurrency import (  # noqa: F401
    test_concurrent_updates_of_one_resource_serialise,
    test_failed_write_rolls_back_everything,
    test_if_match_race_has_one_winner,
    test_many_writer_threads,
    test_memory_store_is_shared_across_threads,
    test_nested_sessions_on_one_thread_are_refused,
)
from test_sqlite_crud import (  # noqa: F401
    test_create_assigns_id_and_meta,
    test_delete_and_revive,
    test_delete_history_keeps_current,
    test_if_match_mismatch,
    test_index_rows_follow_the_current_version,
    test_invalid_input_changes_nothing,
    test_patch,
    test_protocols_and_capabilities,
    test_read_of_unknown_type,
    test_requires_a_context,
    test_update_creates_missing,
    test_update_versions,
)
from test_sqlite_reindex import (  # noqa: F401
    test_cancel_then_resume_covers_everything_once,
    test_custom_parameter_needs_reindex_for_old_resources,
    test_full_reindex_is_idempotent,
    test_reindex_needs_update_permission,
)
from test_sqlite_tenancy import (  # noqa: F401
    test_same_ids_stay_separate,
    test_writes_and_deletes_stay_separate,
)
