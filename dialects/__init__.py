"""Declarative assets per engine (schema and migrations), found with ``importlib.resources``.

Each SQL dialect has ``<dialect>/schema.sql`` (schema version 1) and
``<dialect>/migrations/NNN_<name>.sql`` (NNN ≥ 2), applied in order, each once; the graph
dialect's are ``cypher/schema.cypher`` and ``cypher/migrations/NNN_<name>.cypher``.
"""

from __future__ import annotations

import re
from functools import cache

from helios_persistence.assets import asset

__all__ = ["migrations"]


@cache
def migrations(dialect: str, suffix: str = "sql") -> tuple[tuple[int, str, str], ...]:
    """``(version, name, text)`` for version 1 (``schema.<suffix>``) and every migration of
    ``dialect``, in order; a duplicate number is an error."""
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
    versions = [v for v, _, _ in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"duplicate {dialect} migration numbers: {versions}")
    return tuple(found)
