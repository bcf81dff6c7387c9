"""SQLite integration tests not yet in the backend-agnostic storage suite (``tests/storage``),
run as they are against PostgreSQL.

Each name below is a test function of ``tests/integration/sqlite``; importing it here makes
pytest run it with this directory's fixtures (a PostgreSQL ``store``, ``any_store`` in the
shared schema and in a schema per tenant). The tenancy strategies' tests run from
``tests/storage`` (its ``tstore``).
Tests that look inside SQLite itself (its files, WAL, rowids, FTS5 tables) have PostgreSQL
counterparts in the other ``test_pg_*`` modules instead.
"""

from __future__ import annotations

from test_sqlite_accent_folding import (  # noqa: F401
    test_any_name_is_found_by_its_folded_form,
    test_lukasiewicz_is_found_by_its_base_letters,
)
from test_sqlite_loader import (  # noqa: F401
    test_a_batch_reports_its_failing_entries,
    test_a_reference_that_never_resolves_is_reported_with_its_entry,
    test_bundles_after_the_ones_they_reference_are_streamed,
    test_collection_searchset_single_and_id_less_resources,
    test_conditional_references_into_a_later_file_wait_for_it,
    test_continue_on_error_reports_each_failure_and_loads_the_rest,
    test_odd_documents,
    test_permissions_are_those_of_the_transaction,
    test_progress_counts_resources_and_bytes,
    test_stdin_bundles_wait_too,
    test_streamed_bundles_equal_their_transactions,
    test_the_first_failure_stops_the_load_naming_file_and_entry,
)
from test_sqlite_results import (  # noqa: F401
    test_bundle_links_are_absolute_with_a_base_url,
    test_bundle_links_are_relative_without_a_base_url,
    test_pages_and_iteration_visit_every_match_once,
    test_to_arrow_and_to_pandas,
)
