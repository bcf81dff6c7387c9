"""The SQL lowering of :class:`ir.Terminology` (a mixin of the shared ``SQLCompiler``).

Token ``:below``/``:above`` (``_filter`` ``sb``/``ss``) read the ``term_closure`` table (every
stored CodeSystem's is-a pairs, each concept with itself); ``:in``/``:not-in`` (``_filter``
``in``/``ni``) read the cached expansion in ``term_expansion``, keyed by the literal reference
``ValueSet/<id>`` the store resolves the search value to before compiling
(:func:`helios_persistence.terminology.tables.prepare_query`). Both are plain sqlglot, so
every SQL dialect gets them.

Semantics (R4 search.html#token, with the spec's rules for a code without a system):

* ``:below=system|code`` — a coding of ``system`` whose code is ``code`` or a descendant of it
  in that CodeSystem (subsumption is inclusive; a code no stored CodeSystem knows matches only
  itself); ``:above`` the same with ancestors;
* ``:below=code`` (no system) — in any system: the code itself, or a descendant of it in the
  coding's own system; ``:below=|code`` — a coding with no system and exactly that code (no
  CodeSystem can relate codes without a system);
* ``:in=vs`` — some coding of the parameter is in the ValueSet's expansion (system and code);
  ``:not-in=vs`` — none is (so resources without a value match, as with ``:not``).
"""

from __future__ import annotations

from typing import Any

import sqlglot.expressions as exp

from helios_persistence import ir

__all__ = ["TerminologyLowering"]


class TerminologyLowering:
    """``visit_Terminology`` on top of the shared lowering's building blocks."""

    # provided by SQLCompiler
    alias: Any
    col: Any
    table: Any
    index_rows: Any
    member_of: Any
    value: Any
    tenant: Any

    def visit_Terminology(self, node: ir.Terminology, scope: Any) -> exp.Expr:
        alias = self.alias("i")
        rows = self.index_rows("idx_token", scope, node.param, alias)
        if node.op in (ir.TerminologyOp.IN, ir.TerminologyOp.NOT_IN):
            found: exp.Expr = self.member_of(scope, rows.where(self.in_expansion(node, alias)))
            return exp.not_(found) if node.op is ir.TerminologyOp.NOT_IN else found
        below: exp.Expr = self.member_of(scope, rows.where(self.subsumption(node, alias)))
        return below

    def in_expansion(self, node: ir.Terminology, alias: str) -> exp.Expr:
        """``(i.system, i.code) IN`` the cached expansion of the node's ValueSet."""
        e = self.alias("e")
        members = (
            exp.select(self.col(e, "system"), self.col(e, "code"))
            .from_(self.table("term_expansion", e))
            .where(
                exp.and_(
                    self.col(e, "tenant").eq(self.tenant()),
                    self.col(e, "valueset").eq(self.expansion_key(node)),
                )
            )
        )
        pair = exp.Tuple(expressions=[self.col(alias, "system"), self.col(alias, "code")])
        return pair.isin(query=members.subquery())

    def expansion_key(self, node: ir.Terminology) -> exp.Expr:
        """The ``term_expansion.valueset`` key of the node's ValueSet: the search value, which
        the store resolved to ``ValueSet/<id>`` before compiling (a dialect may resolve it
        inside the statement instead)."""
        key: exp.Expr = self.value(node, "code")
        return key

    def subsumption(self, node: ir.Terminology, alias: str) -> exp.Expr:
        """The index row's coding is the node's code or below (``:below``) / above it."""
        system, code = self.col(alias, "system"), self.col(alias, "code")
        wanted = self.value(node, "code")
        if node.system == "":
            return exp.and_(exp.Is(this=system, expression=exp.null()), code.eq(wanted))
        c = self.alias("c")
        given, related = ("ancestor", "descendant")
        if node.op is ir.TerminologyOp.ABOVE:
            given, related = related, given
        conditions = [self.col(c, "tenant").eq(self.tenant()), self.col(c, given).eq(wanted)]
        if node.system is not None:
            in_system = self.value(node, "system")
            conditions.append(self.col(c, "system").eq(in_system))
            closure = (
                exp.select(self.col(c, related))
                .from_(self.table("term_closure", c))
                .where(exp.and_(*conditions))
            )
            # the code itself too (a code no stored CodeSystem knows has no closure row):
            # one IN list, so the planner looks each code up in the token index
            itself = exp.select(exp.Cast(this=wanted.copy(), to=exp.DataType.build("text")))
            codes = exp.union(itself, closure, distinct=True)
            return exp.and_(system.eq(in_system.copy()), code.isin(query=codes))
        closure = (
            exp.select(self.col(c, "system"), self.col(c, related))
            .from_(self.table("term_closure", c))
            .where(exp.and_(*conditions))
        )
        pair = exp.Tuple(expressions=[system, code])
        return exp.paren(exp.or_(code.eq(wanted.copy()), pair.isin(query=closure.subquery())))
