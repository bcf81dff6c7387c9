"""The PostgreSQL dialect: the shared SQL lowering plus ``tsvector`` full text.

Differences from the shared lowering (:mod:`.sql`) are small:

* full text (``_text``, ``_content``, ``:text-advanced``) matches a ``tsvector`` column with a
  bound ``tsquery`` (``col @@ CAST(%(p)s AS tsquery)``, served by a GIN index). Both sides are
  tokenised by the library (:func:`helios_persistence.indexing.text_tokens.words_of`: SQLite
  FTS5's own tokenizer), so PostgreSQL's own parser, dictionaries and stop words never change what
  matches: the answers are the SQLite backend's and the reference evaluator's;
* ``NULLS FIRST`` is not PostgreSQL's ascending default, so no NULLS clause is written on the
  ``(type, id)`` tie-breakers (the primary key delivers that order without a sort);
* ``:in``/``:not-in`` resolve their ValueSet inside the statement (``expansion_key``);
* numbers are bound as ``Decimal`` (the index columns are ``NUMERIC``: exact, as SQLite's text
  keys are), never as floats.

Text columns are ``COLLATE "C"`` in the schema: string prefix ranges (``norm >= v AND norm <
v || U+10FFFF``), ``LIKE`` and sort order are by code point, whatever the database's locale.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

import sqlglot.expressions as exp

from helios_persistence import ir
from helios_persistence.compilers.postgres_text import to_tsquery
from helios_persistence.compilers.sql import SQLCompiler, _Scope

__all__ = ["PostgresCompiler", "compiler"]

_TSQUERY = exp.DataType(this=exp.DataType.Type.USERDEFINED, kind="tsquery")


class PostgresCompiler(SQLCompiler):
    dialect: ClassVar[str] = "postgres"
    ASC_NULLS_FIRST: ClassVar[bool] = False
    # PostgreSQL reads every row of a slice before it sorts them for the page (at 1,000,000
    # resources a 50-row date range took 86 ms so, 16 ms as separate subqueries, which it
    # walks in id order with a merge semi join: bench_scale)
    DATE_SLICES: ClassVar[bool] = False
    # one statement (one round trip) for a page and its includes, not three (bench_scale)
    INLINE_INCLUDES: ClassVar[bool] = True

    @staticmethod
    def number(value: Decimal) -> Any:
        return value

    def ids_in(self, column: exp.Expr, ids: exp.Expr | None = None) -> exp.Expr:
        bound = self.placeholder("ids") if ids is None else ids
        array = exp.Cast(this=bound, to=exp.DataType.build("TEXT[]"))
        return column.eq(exp.Any(this=exp.paren(array)))

    @staticmethod
    def bind_ids(ids: list[str]) -> Any:
        return list(ids)

    def tsquery(self, node: ir.Text) -> exp.Expr:
        """The bound query, converted to ``tsquery`` text at bind time."""
        placeholder = self.value(node, "query", lambda q: to_tsquery(q.tree))
        return exp.Cast(this=placeholder, to=_TSQUERY.copy())

    def expansion_key(self, node: ir.Terminology) -> exp.Expr:
        """Resolved in the statement (``helios_valueset_key``, migration 012): a read-only
        search needs no round trips to find the ValueSet and check its expansion is cached."""
        value = exp.Cast(this=self.value(node, "code"), to=exp.DataType.build("TEXT"))
        return exp.Anonymous(this="helios_valueset_key", expressions=[self.tenant(), value])

    def visit_Text(self, node: ir.Text, scope: _Scope) -> exp.Expr:
        return self.text_rows(  # (the query is bound after the parameter, as it is matched)
            node,
            scope,
            lambda column: exp.MatchAgainst(this=self.tsquery(node), expressions=[column]),
        )


compiler = PostgresCompiler()
