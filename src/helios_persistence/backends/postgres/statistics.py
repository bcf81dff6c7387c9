"""Planner statistics after large writes: ``ANALYZE`` before a query is planned blind.

The planner estimates row counts from the statistics ``ANALYZE`` gathers (autovacuum runs it
in the background, up to a minute after the changes, or ``store.optimize``). Right after a
bulk load they can be missing or describe different data, and the estimates are then off by
orders of magnitude: a table never analysed gets default selectivities (2,300 Observations
loaded into a new schema: ``Observation?subject.family=Smith&_total=accurate`` was planned as
nested loops over "one row" per level and ran for minutes; milliseconds after ``ANALYZE``).
So the store analyses the tables itself, synchronously, after the write transaction whose
rows make them stale, before it returns:

* writes are counted per tenant (rows per table, resources per type) across transactions;
  once at least :data:`MIN_ROWS` rows have accumulated, the tables written to are checked
  (one catalogue query) and, if stale, analysed (``ANALYZE (SKIP_LOCKED)``: a table that
  autovacuum is analysing is left to it);
* a table is stale when it was never analysed, or when the rows changed since its last
  analysis (``pg_stat_get_mod_since_analyze``, or this batch's rows if more) exceed
  :data:`GROWTH` times the rows it had then (it has grown fivefold). The planner scales a
  table's estimates with its current size, so growth with the same mix of data leaves them
  right; this rule catches a mix that changed along with a large growth (input sorted by
  code, say) at the cost of a few analyses per bulk load (logarithmic in its size: 1.5% of
  the time of bench_postgres's 85,000-resource load). Finer drift is autovacuum's;
* a change of mix: when the planner expects fewer than ``1/`` :data:`MISESTIMATE` of the
  resources of a type this tenant just wrote (a new tenant in a shared table, a type loaded
  after the others), every table written to is analysed, once per (tenant, type) until the
  growth rule next applies. The planner is asked (``EXPLAIN``) with row-level security off;
  a role bound by the policies skips this check (the policies' own filter lowers every
  estimate alike).

``ANALYZE`` needs the table's owner (or a superuser); for another role it is a warning and a
no-op, and autovacuum keeps the statistics. The writes are committed by then: a failure here
is logged, not raised.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

__all__ = ["GROWTH", "MIN_ROWS", "MISESTIMATE", "Statistics"]

log = logging.getLogger(__name__)

#: rows a tenant's writes accumulate before its tables' statistics are checked
MIN_ROWS = 1000
#: a table is analysed when the rows changed since its last analysis exceed this multiple of
#: the rows it had then
GROWTH = 4.0
#: a (tenant, type) is misestimated when the planner expects fewer than 1/MISESTIMATE of the
#: resources just written...
MISESTIMATE = 4
#: ...and this many at least were written
MIN_TYPE_ROWS = 100

_STATE = (
    "SELECT c.relname, c.reltuples, pg_stat_get_mod_since_analyze(c.oid) FROM pg_class c "
    "JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE n.nspname = %s AND c.relname = ANY(%s::text[]) AND c.relkind = 'r'"
)


@dataclass
class _Pending:
    rows: int = 0
    tables: dict[str, int] = field(default_factory=dict)
    types: dict[str, int] = field(default_factory=dict)


class Statistics:
    """Write counts per tenant and the analyses they call for (see the module docstring).
    ``connect(tenant)`` gives an autocommit connection of the tenant's database and the
    tenant's schema name."""

    def __init__(
        self, connect: Callable[[str], AbstractContextManager[tuple[psycopg.Connection, str]]]
    ) -> None:
        self._connect = connect
        self._lock = threading.Lock()
        self._pending: dict[str, _Pending] = {}
        #: (tenant, type) analysed for a misestimate (until the growth rule applies again)
        self._shifted: set[tuple[str, str]] = set()

    def written(self, tenant: str, tables: dict[str, int], types: dict[str, int]) -> None:
        """Count a committed transaction's writes; analyse what they made stale."""
        if not tables:
            return
        with self._lock:
            pending = self._pending.setdefault(tenant, _Pending())
            for table, n in tables.items():
                pending.tables[table] = pending.tables.get(table, 0) + n
                pending.rows += n
            for rtype, n in types.items():
                pending.types[rtype] = pending.types.get(rtype, 0) + n
            if pending.rows < MIN_ROWS:
                return
            del self._pending[tenant]
        try:
            with self._connect(tenant) as (conn, schema):
                for table in self._stale(conn, schema, tenant, pending):
                    name = sql.Identifier(schema, table)
                    conn.execute(sql.SQL("ANALYZE (SKIP_LOCKED) {}").format(name))
        except Exception as exc:  # committed already: the caller's writes succeeded
            log.warning("planner statistics not refreshed for tenant %r: %s", tenant, exc)

    def _stale(
        self, conn: psycopg.Connection, schema: str, tenant: str, pending: _Pending
    ) -> list[str]:
        """The tables of ``pending`` to analyse, in name order."""
        tables = sorted(pending.tables)
        stale: set[str] = set()
        for name, reltuples, changed in conn.execute(_STATE, [schema, tables]):
            if reltuples < 0 or max(changed, pending.tables[name]) > GROWTH * reltuples:
                stale.add(name)
        if "resources" in stale:
            with self._lock:
                self._shifted -= {k for k in self._shifted if k[0] == tenant}
        elif self._misestimated(conn, schema, tenant, pending.types):
            stale.update(tables)
        return [t for t in tables if t in stale]

    def _misestimated(
        self, conn: psycopg.Connection, schema: str, tenant: str, types: dict[str, int]
    ) -> bool:
        for rtype, written in sorted(types.items()):
            if written < MIN_TYPE_ROWS or (tenant, rtype) in self._shifted:
                continue
            estimate = _estimate(conn, schema, tenant, rtype)
            if estimate is None:
                return False  # bound by row-level security
            if estimate * MISESTIMATE < written:
                with self._lock:
                    self._shifted.add((tenant, rtype))
                return True
        return False


def _estimate(conn: psycopg.Connection, schema: str, tenant: str, rtype: str) -> float | None:
    """The planner's row estimate for a (tenant, type) of ``resources`` (None if the role is
    bound by row-level security)."""
    query = sql.SQL(
        "EXPLAIN (FORMAT JSON) SELECT 1 FROM {} WHERE tenant = {} AND type = {}"
    ).format(sql.Identifier(schema, "resources"), sql.Literal(tenant), sql.Literal(rtype))
    try:
        with conn.transaction():
            conn.execute("SET LOCAL row_security = off")
            row = conn.execute(query).fetchone()
    except psycopg.errors.InsufficientPrivilege:
        return None
    assert row is not None
    plan: Any = row[0]
    return float(plan[0]["Plan"]["Plan Rows"])
