"""The migration sets are numbered without gaps (but for declared unused numbers)."""

from __future__ import annotations

import re

import pytest
from helios_persistence.dialects import UNUSED, check_applied, check_numbers, migrations
from hypothesis import given
from hypothesis import strategies as st

from helios_persistence.errors import SchemaMismatch


@pytest.mark.parametrize("dialect", ["sqlite", "postgres"])
def test_the_shipped_sets_have_no_gaps(dialect: str) -> None:
    versions = [v for v, _, _ in migrations(dialect)]
    expected = set(range(1, versions[-1] + 1)) - set(UNUSED[dialect])
    assert versions == sorted(expected)


@given(st.sets(st.integers(min_value=2, max_value=40), min_size=1))
def test_a_missing_number_is_refused_and_named(removed: set[int]) -> None:
    versions = [v for v in range(1, 42) if v not in removed]
    with pytest.raises(SchemaMismatch, match="gaps") as raised:
        check_numbers("sqlite", versions, ())
    assert f"{min(removed):03d}" in str(raised.value)
    check_numbers("sqlite", versions, removed)  # declared unused: accepted


def test_a_duplicate_or_a_file_for_an_unused_number_is_refused() -> None:
    with pytest.raises(SchemaMismatch, match="duplicate"):
        check_numbers("postgres", [1, 2, 2, 3], ())
    with pytest.raises(SchemaMismatch, match="declared unused"):
        check_numbers("postgres", [1, 2, 3], {3})


def test_a_database_that_skipped_a_migration_below_its_version_is_refused() -> None:
    found = ((1, "schema.sql", ""), (2, "002_a.sql", ""), (3, "003_late.sql", ""))
    check_applied("sqlite", found, 2, {1, 2})  # 003 is above the version: it will apply
    check_applied("sqlite", found, 3, {1, 2, 3})
    with pytest.raises(SchemaMismatch, match=re.escape("003_late.sql")):
        check_applied("sqlite", found, 3, {1, 2})
