"""Declarative assets per engine (schema and migrations), found with ``importlib.resources``.

Each SQL dialect has ``<dialect>/schema.sql`` (schema version 1) and
``<dialect>/migrations/NNN_<name>.sql`` (NNN ≥ 2), applied in order, each once; the graph
dialect's are ``cypher/schema.cypher`` and ``cypher/migrations/NNN_<name>.cypher``.

The numbers run without gaps, but for those :data:`UNUSED` declares (a number handed out and
never landed): a missing number would otherwise be a migration that a later commit could add
*below* the version databases already reached, which no loader would ever apply to them.
The SQL loaders record every migration a database ran (``schema_migrations``) and refuse a
database that skipped one (:func:`check_applied`).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from functools import cache

from helios_persistence.assets import asset
from helios_persistence.errors import SchemaMismatch

__all__ = ["MIGRATIONS_TABLE", "UNUSED", "check_applied", "legacy_applied", "migrations"]

#: migration numbers that never had (and must not get) a file, per dialect, with why
UNUSED: dict[str, dict[int, str]] = {
    "sqlite": {6: "reserved for a change that landed without a SQLite migration"},
    "postgres": {11: "reserved for issue 11, which needed no PostgreSQL migration"},
}

#: the table of the migrations a database ran, one row each (kept by the loaders)
MIGRATIONS_TABLE = "schema_migrations"


@cache
def migrations(dialect: str, suffix: str = "sql") -> tuple[tuple[int, str, str], ...]:
    """``(version, name, text)`` for version 1 (``schema.<suffix>``) and every migration of
    ``dialect``, in order; a duplicate or missing number (not in :data:`UNUSED`) is a
    :class:`~helios_persistence.errors.SchemaMismatch`."""
    base = asset("dialects", dialect)
    schema = f"schema.{suffix}"
    found = [(1, schema, base.joinpath(schema).read_text(encoding="utf-8"))]
    name = re.compile(rf"(\d{{3}})_[A-Za-z0-9_]+\.{suffix}")
    folder = base.joinpath("migrations")
    if folder.is_dir():
        for item in folder.iterdir():
            match = name.fullmatch(item.name)
            if match and int(match.group(1)) >= 2:
                found.append((int(match.group(1)), item.name, item.read_text(encoding="utf-8")))
    found.sort()
    check_numbers(dialect, [v for v, _, _ in found], UNUSED.get(dialect, {}))
    return tuple(found)


def check_numbers(dialect: str, versions: list[int], unused: Collection[int]) -> None:
    """Refuse a duplicate number, a file for an unused one, or a gap below the last one."""
    if len(set(versions)) != len(versions):
        raise SchemaMismatch(f"duplicate {dialect} migration numbers: {versions}")
    taken = sorted(set(versions) & set(unused))
    if taken:
        raise SchemaMismatch(f"{dialect} migration numbers {taken} are declared unused")
    missing = sorted(set(range(1, max(versions) + 1)) - set(versions) - set(unused))
    if missing:
        raise SchemaMismatch(
            f"the {dialect} migrations have gaps: no file numbered "
            f"{', '.join(f'{v:03d}' for v in missing)} (number the next migration "
            f"{max(versions) + 1:03d} or declare the number unused in dialects/__init__.py)"
        )


def legacy_applied(found: tuple[tuple[int, str, str], ...], before: int) -> list[int]:
    """The migrations a database at version ``before`` ran, as far as a database that
    recorded only its version can tell: every one up to it."""
    return [v for v, _, _ in found if v <= before]


def check_applied(
    dialect: str, found: tuple[tuple[int, str, str], ...], before: int, applied: Collection[int]
) -> None:
    """Refuse a database at version ``before`` that never ran a migration numbered at or
    below it (one added to the library after the database passed its number): the loader
    applies only migrations above the version, so it would skip that one for ever."""
    skipped = [name for v, name, _ in found if v <= before and v not in applied]
    if skipped:
        raise SchemaMismatch(
            f"the {dialect} database is at schema version {before} but never ran "
            f"{', '.join(skipped)}, which this library has below that version (added after "
            "the database was migrated past its number); the loader will not apply a "
            "migration out of order: renumber it above the released versions"
        )
