"""The graph model's constraints and indexes: ``dialects/cypher/schema.cypher`` (version 1)
and ``dialects/cypher/migrations/NNN_<name>.cypher``, applied in order on open, each once
(every statement is idempotent too, so stores opening at the same time do no harm). The
applied version is kept on the ``(:HeliosSchema {dialect: 'cypher'})`` node."""

from __future__ import annotations

from typing import Any

from helios_persistence.dialects import migrations

__all__ = ["SCHEMA_VERSION", "migrate", "statements"]

SCHEMA_VERSION = migrations("cypher", "cypher")[-1][0]


def statements(text: str) -> list[str]:
    """The statements of a ``.cypher`` file (``;``-terminated, ``//`` comment lines)."""
    lines = [line for line in text.splitlines() if not line.strip().startswith("//")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def migrate(session: Any) -> int:
    """Bring the database's graph schema to :data:`SCHEMA_VERSION`; the version it had."""
    record = session.run(
        "MATCH (m:HeliosSchema {dialect: 'cypher'}) RETURN m.version AS version"
    ).single()
    current = record["version"] if record is not None else 0
    for version, _name, text in migrations("cypher", "cypher"):
        if version <= current:
            continue
        for statement in statements(text):
            session.run(statement).consume()
        session.run(
            "MERGE (m:HeliosSchema {dialect: 'cypher'}) SET m.version = $version",
            version=version,
        ).consume()
    return int(current)
