"""SQLite's backend-agnostic integration tests, run as they are against PostgreSQL.

Each name below is a test function of ``tests/integration/sqlite``; importing it here makes
pytest run it with this directory's fixtures (a PostgreSQL ``store``, ``any_store`` in the
shared schema and in a schema per tenant, ``tstore`` in all three tenancy strategies).
Tests that look inside SQLite itself (its files, WAL, rowids, FTS5 tables) have PostgreSQL
counterparts in the other ``test_pg_*`` modules instead.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from pg_helpers import drop_schemas
from test_sqlite_concurrency import (  # noqa: F401
    test_concurrent_updates_of_one_resource_serialise,
    test_failed_write_rolls_back_everything,
    test_if_match_race_has_one_winner,
    test_many_writer_threads,
    test_memory_store_is_shared_across_threads,
    test_nested_sessions_on_one_thread_are_refused,
)
from test_sqlite_conditional import (  # noqa: F401
    test_bad_conditional_reference_rolls_back,
    test_bundle_conditionals,
    test_conditional_create,
    test_conditional_delete_and_patch,
    test_conditional_update,
    test_search_and_permissions,
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
from test_sqlite_history import (  # noqa: F401
    test_instance_history,
    test_since_at_and_count,
    test_type_and_system_history,
)
from test_sqlite_permissions import (  # noqa: F401
    clinic,
    test_compartment_history,
    test_compartment_reads,
    test_compartment_writes,
    test_operations_are_enforced,
    test_resource_types_are_enforced,
    test_update_as_create_needs_create,
)
from test_sqlite_properties import test_history_matches_model  # noqa: F401
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
from test_sqlite_transaction import (  # noqa: F401
    test_absolute_full_url_references,
    test_batch,
    test_duplicate_resource_in_transaction,
    test_failed_get_fails_the_transaction,
    test_if_match_failure_in_a_transaction,
    test_put_delete_get_patch,
    test_transaction_is_atomic,
    test_transaction_with_urn_references,
)

from helios_persistence.stores import open_store


@pytest.fixture(scope="module")
def shared_store(pg_url: str, pg_db: Any) -> Iterator[Any]:
    """One store for a whole module (the property test gives each example its own tenant)."""
    schema = f"m{uuid.uuid4().hex[:10]}"
    with open_store(f"{pg_url}?schema={schema}") as store:
        yield store
    drop_schemas(pg_db, schema)
