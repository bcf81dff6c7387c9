"""Declarative assets per engine (schema and migrations), found with ``importlib.resources``.

Each SQL dialect has ``<dialect>/schema.sql`` (schema version 1) and
``<dialect>/migrations/NNN_<name>.sql`` (NNN ≥ 2), applied in order, each once.
"""

from __future__ import annotations

import re
from functools import cache

from helios_persistence.assets import asset

__all__ = ["migrations"]

_NAME = re.compile(r"(\d{3})_[A-Za-z0-9_]+\.sql")


@cache
def migrations(dialect: str) -> tuple[tuple[int, str, str], ...]:
    """``(version, name, sql)`` for version 1 (schema.sql) and every migration of ``dialect``,
    in order; a duplicate number is an error."""
    base = asset("dialects", dialect)
    found = [(1, "schema.sql", base.joinpath("schema.sql").read_text(encoding="utf-8"))]
    folder = base.joinpath("migrations")
    if folder.is_dir():
        for item in folder.iterdir():
            match = _NAME.fullmatch(item.name)
            if match and int(match.group(1)) >= 2:
                found.append((int(match.group(1)), item.name, item.read_text(encoding="utf-8")))
    found.sort()
    versions = [v for v, _, _ in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"duplicate {dialect} migration numbers: {versions}")
    return tuple(found)
