"""The terminology methods of a SQL store (mixed into ``StoreAPI``).

``store.expand(ctx, "http://…/ValueSet/x")`` (also ``url|version``, ``ValueSet/<id>`` or a
ValueSet resource), ``store.subsumes(ctx, system, a, b)`` and ``store.lookup(ctx, system,
code)`` answer from the tenant's stored CodeSystems and ValueSets. Expansions of stored
ValueSets are cached in the store (and dropped when anything they used changes), so a second
``expand`` or ``:in`` search reads the cached codes.
"""

from __future__ import annotations

import json
from contextlib import AbstractContextManager
from typing import Any

from helios_persistence.storage.operations import Session
from helios_persistence.tenancy import Operation, TenantContext
from helios_persistence.terminology import operations
from helios_persistence.terminology.tables import (
    StoreSource,
    cached_expansion,
    ensure_expansion,
    load_valueset,
    rebuild_closure,
    resolve_valueset,
)

__all__ = ["TerminologyAPI"]


class TerminologyAPI:
    """``expand``, ``subsumes``, ``lookup``; the store provides sessions and ``_terminology``."""

    _terminology: Any

    def write_session(self, ctx: TenantContext) -> AbstractContextManager[Session]:
        raise NotImplementedError  # pragma: no cover

    def read_session(self, ctx: TenantContext) -> AbstractContextManager[Session]:
        raise NotImplementedError  # pragma: no cover

    def _term(self, s: Session) -> Any:
        if self._terminology is None:
            from helios_persistence.errors import UnsupportedInDialect

            raise UnsupportedInDialect("terminology", type(self).__name__)
        return self._terminology(s.conn)

    def expand(self, ctx: TenantContext, valueset: str | dict[str, Any]) -> dict[str, Any]:
        """The expanded ValueSet (``$expand``) of a stored ValueSet (by url, ``url|version``
        or ``ValueSet/<id>``: cached) or of a ValueSet resource given whole (not cached)."""
        ctx.check(Operation.READ, "ValueSet")
        with self.read_session(ctx) as s:
            db = self._term(s)
            source = StoreSource(db, s.tenant)
            if isinstance(valueset, dict):
                return operations.expand(valueset, source)
            key = resolve_valueset(source, valueset)
            codes = cached_expansion(db, s.tenant, key)
            vs = load_valueset(source, key) if codes is not None else None
        if codes is None or vs is None:
            with self.write_session(ctx) as s:
                db = self._term(s)
                ensure_expansion(db, s.tenant, key)
                codes = cached_expansion(db, s.tenant, key)
                vs = load_valueset(StoreSource(db, s.tenant), key)
            assert codes is not None
        return operations.expanded_valueset(vs, codes)

    def cache_expansions(self, ctx: TenantContext, references: list[str]) -> None:
        """Expand and cache the ValueSets ``references`` (``ValueSet/<id>``) not cached yet."""
        with self.write_session(ctx) as s:
            db = self._term(s)
            source = StoreSource(db, s.tenant)
            for reference in references:
                ensure_expansion(db, s.tenant, resolve_valueset(source, reference))

    def subsumes(self, ctx: TenantContext, system: str, code_a: str, code_b: str) -> dict[str, Any]:
        """``$subsumes`` over the stored CodeSystem ``system`` (a ``Parameters`` resource)."""
        ctx.check(Operation.READ, "CodeSystem")
        with self.read_session(ctx) as s:
            return operations.subsumes(system, code_a, code_b, StoreSource(self._term(s), s.tenant))

    def lookup(self, ctx: TenantContext, system: str, code: str) -> dict[str, Any]:
        """``$lookup`` of ``code`` in the stored CodeSystem ``system`` (``Parameters``)."""
        ctx.check(Operation.READ, "CodeSystem")
        with self.read_session(ctx) as s:
            return operations.lookup(system, code, StoreSource(self._term(s), s.tenant))

    def rebuild_terminology(self, ctx: TenantContext) -> int:
        """Rebuild the closure of every stored CodeSystem and drop every cached expansion
        (for data stored before the terminology tables existed); returns closure rows."""
        total = 0
        with self.write_session(ctx) as s:
            db = self._term(s)
            db.lock(s.tenant)
            for table in ("term_expansion", "term_expansion_state", "term_expansion_dep"):
                db.run(f"DELETE FROM {table} WHERE tenant = ?", (s.tenant,))
            rows = db.rows(
                "SELECT id, json FROM resources WHERE tenant = ? AND type = 'CodeSystem' "
                "AND deleted = 0",
                (s.tenant,),
            )
            for id, text in rows:
                resource = text if isinstance(text, dict) else json.loads(text)
                total += rebuild_closure(db, s.tenant, str(id), resource)
        return total
