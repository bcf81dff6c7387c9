"""The DuckDB dialect: the shared SQL lowering, run over the views of an export directory.

The analytics store (:mod:`helios_persistence.analytics.lake`) names its views like the SQL
backends' tables (``resources``, ``idx_token``, ...), so the shared lowering runs unchanged.
Full text (``_text``, ``_content``, ``:text-advanced``) is matched over the exported text
rows (``resource_text``, ``param_text``) by the function ``helios_text_match(text, query)``,
which the analytics store registers on its connection: it applies the library's documented
tokenisation and query semantics (``conformance/fulltext.py``: folded, split, Porter-stemmed),
so DuckDB answers what SQLite's FTS5 and PostgreSQL's ``tsvector`` answer. DuckDB's own
``fts`` extension is not used: it would have to be downloaded (``INSTALL``), which the
library never does.
"""

from __future__ import annotations

from typing import Any, ClassVar

import sqlglot.expressions as exp

from helios_persistence import ir
from helios_persistence.compilers.sql import SQLCompiler, _Scope
from helios_persistence.indexing.decimal_keys import number_key
from helios_persistence.ir.text import TextQuery

__all__ = ["TEXT_MATCH_FUNCTION", "DuckDBCompiler", "compiler"]

#: the scalar function (text, query) → boolean the analytics store registers
TEXT_MATCH_FUNCTION = "helios_text_match"


def _source(query: TextQuery) -> str:
    """The query as written (validated when it was bound); the function parses it again."""
    return query.source


class DuckDBCompiler(SQLCompiler):
    dialect: ClassVar[str] = "duckdb"
    #: numbers bound as the exact text keys the index columns hold (``indexing.decimal_keys``)
    number = staticmethod(number_key)
    ASC_NULLS_FIRST: ClassVar[bool] = False

    def ids_in(self, column: exp.Expr, ids: exp.Expr | None = None) -> exp.Expr:
        return exp.func("list_contains", self.placeholder("ids") if ids is None else ids, column)

    @staticmethod
    def bind_ids(ids: list[str]) -> Any:
        return list(ids)

    def visit_Text(self, node: ir.Text, scope: _Scope) -> exp.Expr:
        def match(column: exp.Expr) -> exp.Expr:
            query = self.value(node, "query", _source)
            return exp.Anonymous(this=TEXT_MATCH_FUNCTION, expressions=[column, query])

        return self.text_rows(node, scope, match)


compiler = DuckDBCompiler()
