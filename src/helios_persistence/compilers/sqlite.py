"""The SQLite dialect: the shared SQL lowering plus FTS5 for full text."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, ClassVar

import sqlglot.expressions as exp

from helios_persistence import ir
from helios_persistence.compilers.sql import SQLCompiler, _Scope
from helios_persistence.compilers.sqlite_text import to_fts5
from helios_persistence.indexing.decimal_keys import number_key

__all__ = ["SQLiteCompiler", "compiler"]

_FTS_COLUMNS = {ir.TextKind.NARRATIVE: "narrative", ir.TextKind.CONTENT: "content"}


class SQLiteCompiler(SQLCompiler):
    dialect: ClassVar[str] = "sqlite"
    #: numbers bound as the exact text keys the index columns hold (``indexing.decimal_keys``)
    number = staticmethod(number_key)
    ASC_NULLS_FIRST: ClassVar[bool] = True
    DRIVEN_PAGE: ClassVar[bool] = True

    def driven_page(
        self,
        columns: Sequence[exp.Expr],
        own: list[exp.Expr],
        ids: exp.Select,
        order: list[exp.Ordered],
    ) -> exp.Select:
        # The page's ids are the outer loop (``d``; CROSS JOIN is SQLite's join-order hint)
        # and ``ORDER BY d.<id>`` is the page order (one type), which the planner sees ``d``
        # already delivers (a SQLite that does not sorts the page's rows). Written as
        # ``r.id IN (<ids>)``, the ids went into a second temporary B-tree (the IN list) after
        # the one that sorts them when the driver is read by value (a string prefix with few
        # matches): +10-30 µs a query for nothing.
        page = exp.Subquery(this=ids, alias=exp.TableAlias(this=exp.to_identifier("d")))
        page_id = self.col("d", ids.selects[0].alias_or_name)
        live = exp.and_(*own, self.col("r", "id").eq(page_id))
        select = exp.select(*columns).from_(page)
        select = select.join(self.table("resources", "r"), join_type="cross").where(live)
        nulls = self.ASC_NULLS_FIRST  # (the dialect's own: no NULLS clause written)
        return select.order_by(exp.Ordered(this=page_id.copy(), nulls_first=nulls))

    def ids_in(self, column: exp.Expr, ids: exp.Expr | None = None) -> exp.Expr:
        bound = self.placeholder("ids") if ids is None else ids
        each = exp.select(exp.column("value")).from_(exp.func("json_each", bound))
        return column.isin(query=each)

    @staticmethod
    def bind_ids(ids: list[str]) -> Any:
        return json.dumps(ids)

    def visit_Text(self, node: ir.Text, scope: _Scope) -> exp.Expr:
        alias = self.alias("t")
        if node.param is None:
            table, column = "resource_text", _FTS_COLUMNS[node.kind]
            match = self.value(node, "query", lambda q: f"{column} : ({to_fts5(q.tree)})")
            conditions = [self.col(alias, "tenant").eq(self.tenant())]
        else:
            table = "param_text"
            match = self.value(node, "query", lambda q: f"text : ({to_fts5(q.tree)})")
            conditions = [
                self.col(alias, "tenant").eq(self.tenant()),
                self.col(alias, "param").eq(self.const(node.param)),
            ]
        if scope.rtype is not None:
            conditions.append(self.col(alias, "type").eq(scope.rtype))
        conditions.append(self.col(alias, table).eq(match))
        select = [self.col(alias, "id")]
        if scope.rtype is None:
            select.insert(0, self.col(alias, "type"))
        rows = exp.select(*select).from_(self.table(table, alias)).where(exp.and_(*conditions))
        return self.member_of(scope, rows)


compiler = SQLiteCompiler()
