"""Small builders and probes shared by the SQLite integration tests (the PostgreSQL tests
reuse them, and run SQLite's backend-agnostic tests against PostgreSQL by importing them)."""

from __future__ import annotations

from typing import Any

from helios_persistence.backends.sqlite.store import SQLiteStore
from helios_persistence.tenancy import TenantContext


def patient(id: str | None = None, family: str = "Smith", **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"resourceType": "Patient", "name": [{"family": family}], **extra}
    if id is not None:
        out["id"] = id
    return out


def observation(subject: str, id: str | None = None, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
        "subject": {"reference": subject},
        **extra,
    }
    if id is not None:
        out["id"] = id
    return out


def count_rows(store: SQLiteStore, ctx: TenantContext, table: str, **where: Any) -> int:
    """Rows of ``table`` (every tenant) matching ``where`` (SQLite or PostgreSQL)."""
    if getattr(store, "dialect", "sqlite") == "postgres":
        clauses = " AND ".join(f"{k} = %s" for k in where) or "TRUE"
        with store.read_session(ctx) as s:  # type: ignore[attr-defined]
            query = f"SELECT count(*) FROM {table} WHERE {clauses}"
            return int(s.conn.execute(query, tuple(where.values())).fetchone()[0])
    clauses = " AND ".join(f"{k} = ?" for k in where) or "1"
    with store._pool(ctx).read() as conn:
        return conn.execute(
            f"SELECT count(*) FROM {table} WHERE {clauses}", tuple(where.values())
        ).fetchone()[0]
