"""Small builders and probes for the backend-agnostic storage tests."""

from __future__ import annotations

from typing import Any

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


def count_rows(store: Any, ctx: TenantContext, table: str, **where: Any) -> int:
    """Rows of ``table`` (the tenant's database) matching ``where``, on any SQL backend."""
    placeholder = "%s" if store.compiler.dialect == "postgres" else "?"
    clauses = " AND ".join(f"{k} = {placeholder}" for k in where) or "1 = 1"
    with store.read_session(ctx) as s:
        row = s.conn.execute(f"SELECT count(*) FROM {table} WHERE {clauses}", tuple(where.values()))
        return int(row.fetchone()[0])
