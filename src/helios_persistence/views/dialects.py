"""What differs between DuckDB, SQLite and PostgreSQL when a view is lowered: small tables.

A *JSON value* is the dialect's JSON type (DuckDB ``JSON``, PostgreSQL ``jsonb``, SQLite JSON
text, where a string is quoted). A collection is walked with the dialect's array-elements
table function (``json_each`` / ``jsonb_array_elements``), which is implicitly lateral in all
three. Each operation is one SQL template per dialect, parsed once by sqlglot (``:_0``, ``:_1``
are its operands), so the lowering in :mod:`helios_persistence.views.lower` only ever
composes sqlglot expressions.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import sqlglot
from sqlglot import exp

from helios_persistence.errors import InvalidViewDefinition

__all__ = ["DIALECTS", "Dialect", "dialect"]

_COMMON = {
    "numeric_type": "DOUBLE",
    "to_bool": "CAST(:_0 AS BOOLEAN)",
    "array_wrap": "CASE WHEN :_0 IS NULL THEN NULL WHEN json_type(:_0) = 'ARRAY' THEN :_0 "
    "ELSE json_array(:_0) END",
    "is_array": "json_type(:_0) = 'ARRAY'",
    "json_of_text": "to_json(CAST(:_0 AS TEXT))",
    "json_of_sql": "to_json(:_0)",
}

#: one template per operation and dialect
TEMPLATES: dict[str, dict[str, str]] = {
    "duckdb": {
        **_COMMON,
        "text": ":_0 ->> '$'",
        "elements": "json_each(:_0)",
        "elem_value": ":_0.value",
        "elem_key": "CAST(:_0.key AS INTEGER)",
        "agg_json": "to_json(list(:_0 ORDER BY :_1))",
        "agg_text": "string_agg(:_0, :_1 ORDER BY :_2)",
        "to_number": "CAST(:_0 ->> '$' AS DOUBLE)",
        "to_int": "CAST(:_0 ->> '$' AS BIGINT)",
        "to_bool": "CAST(:_0 ->> '$' AS BOOLEAN)",
        "ord_text": "lpad(CAST(:_0 AS TEXT), 6, '0')",
        "empty_json_array": "CAST('[]' AS JSON)",
        "get_dynamic": "json_extract(:_0, :_1)",
        "json_of_sql": "to_json(:_0)",
        "last_segment": "split_part(:_0, '/', -1)",
        "before_last_segment": "split_part(:_0, '/', -2)",
        "contains_text": "contains(:_0, :_1)",
        "month_end": "strftime(last_day(CAST(:_0 || '-01' AS DATE)), '%Y-%m-%d')",
        "strpos": "strpos(:_0, :_1)",
        "json_quantity": "json_object('value', :_0, 'code', :_1)",
    },
    "sqlite": {
        **_COMMON,
        "numeric_type": "REAL",
        "text": ":_0 ->> '$'",
        "elements": "json_each(:_0)",
        "elem_value": "CASE :_0.type WHEN 'text' THEN json_quote(:_0.value) "
        "WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' ELSE :_0.value END",
        "elem_key": ":_0.key",
        "agg_json": "json_group_array(json(:_0) ORDER BY :_1)",
        "agg_text": "group_concat(:_0, :_1 ORDER BY :_2)",
        "to_number": "CAST(:_0 ->> '$' AS REAL)",
        "to_int": "CAST(:_0 ->> '$' AS INTEGER)",
        "to_bool": ":_0 ->> '$'",
        "array_wrap": "CASE WHEN :_0 IS NULL THEN NULL WHEN json_type(:_0) = 'array' THEN :_0 "
        "ELSE json_array(json(:_0)) END",
        "is_array": "json_type(:_0) = 'array'",
        "ord_text": "printf('%06d', :_0)",
        "empty_json_array": "json_array()",
        "get_dynamic": ":_0 -> :_1",
        "json_of_text": "json_quote(CAST(:_0 AS TEXT))",
        "json_of_sql": "json_quote(:_0)",
        # the text after the last '/': rtrim strips the trailing non-'/' characters
        "last_segment": "substr(:_0, length(rtrim(:_0, replace(:_0, '/', ''))) + 1)",
        "before_last_segment": "substr(rtrim(rtrim(:_0, replace(:_0, '/', '')), '/'), "
        "length(rtrim(rtrim(rtrim(:_0, replace(:_0, '/', '')), '/'), "
        "replace(rtrim(rtrim(:_0, replace(:_0, '/', '')), '/'), '/', ''))) + 1)",
        "contains_text": "instr(:_0, :_1) > 0",
        "month_end": "date(:_0 || '-01', '+1 month', '-1 day')",
        "strpos": "instr(:_0, :_1)",
        "json_quantity": "json_object('value', :_0, 'code', :_1)",
    },
    "postgres": {
        **_COMMON,
        "numeric_type": "NUMERIC",
        "text": ":_0 #>> '{}'",
        "elements": "jsonb_array_elements(:_0)",
        "elem_value": ":_0.value",
        "elem_key": ":_0.key - 1",
        "agg_json": "jsonb_agg(:_0 ORDER BY :_1)",
        "agg_text": "string_agg(:_0, :_1 ORDER BY :_2)",
        "to_number": "CAST(:_0 #>> '{}' AS NUMERIC)",
        "to_int": "CAST(:_0 #>> '{}' AS BIGINT)",
        "to_bool": "CAST(:_0 #>> '{}' AS BOOLEAN)",
        "array_wrap": "CASE WHEN :_0 IS NULL THEN NULL WHEN jsonb_typeof(:_0) = 'array' THEN :_0 "
        "ELSE jsonb_build_array(:_0) END",
        "is_array": "jsonb_typeof(:_0) = 'array'",
        "ord_text": "lpad(CAST(:_0 AS TEXT), 6, '0')",
        "empty_json_array": "CAST('[]' AS JSONB)",
        "get_dynamic": ":_0 -> :_1",
        "json_of_text": "to_jsonb(CAST(:_0 AS TEXT))",
        "json_of_sql": "to_jsonb(:_0)",
        "last_segment": "split_part(:_0, '/', -1)",
        "before_last_segment": "split_part(:_0, '/', -2)",
        "contains_text": "strpos(:_0, :_1) > 0",
        "month_end": "to_char(CAST(:_0 || '-01' AS DATE) + INTERVAL '1 month' - INTERVAL '1 day', "
        "'YYYY-MM-DD')",
        "strpos": "strpos(:_0, :_1)",
        "json_quantity": "jsonb_build_object('value', CAST(:_0 AS NUMERIC), 'code', "
        "CAST(:_1 AS TEXT))",
    },
}

#: the SQL type of each FHIR primitive's column, per dialect
_COLUMN_TYPES = {
    "duckdb": {"boolean": "BOOLEAN", "integer": "BIGINT", "decimal": "DOUBLE"},
    "sqlite": {"boolean": "INTEGER", "integer": "INTEGER", "decimal": "REAL"},
    "postgres": {"boolean": "BOOLEAN", "integer": "BIGINT", "decimal": "NUMERIC"},
}


@cache
def _template(dialect: str, name: str) -> exp.Expr:
    return sqlglot.parse_one(TEMPLATES[dialect][name], read=dialect)


@dataclass(frozen=True, slots=True)
class Dialect:
    """One SQL dialect's way to say each JSON operation (as sqlglot expressions)."""

    name: str

    def op(self, name: str, *args: exp.Expr) -> exp.Expr:
        """The template ``name`` with its operands ``:_0``, ``:_1``, ... filled in."""
        tree = _template(self.name, name).copy()
        operands = {f"_{i}": a for i, a in enumerate(args)}

        def fill(node: exp.Expr) -> exp.Expr:
            if isinstance(node, exp.Placeholder) and node.name in operands:
                return operands[node.name].copy()
            # ':_0.value' parses as a column whose table is the placeholder
            if isinstance(node, exp.Column) and isinstance(node.args.get("table"), exp.Expr):
                table = node.args["table"]
                if isinstance(table, exp.Placeholder) and table.name in operands:
                    return exp.column(node.name, table=operands[table.name].name)
            return node

        return tree.transform(fill).transform(_one_path)

    def get(self, value: exp.Expr, key: str) -> exp.Expr:
        """``value.key`` as a JSON value (NULL when absent).

        DuckDB and SQLite parse JSON text at each access, so ``a.b.c`` is one path
        (``json -> '$.a.b'``), not a chain of accesses."""
        if self.name == "postgres":
            return exp.JSONExtract(this=value, expression=exp.Literal.string(key))
        steps: list[exp.Expr] = [exp.JSONPathRoot()]
        if (
            isinstance(value, exp.JSONExtract)
            and isinstance(value.expression, exp.JSONPath)
            and not any(isinstance(s, exp.JSONPathSubscript) for s in value.expression.expressions)
        ):
            steps = [s.copy() for s in value.expression.expressions]
            value = value.this
        path = exp.JSONPath(expressions=[*steps, exp.JSONPathKey(this=key)])
        return exp.JSONExtract(this=value, expression=path, only_json_types=False)

    def elements(self, source: exp.Expr, alias: str) -> exp.Expr:
        """``source``'s array elements as a FROM item named ``alias`` (value, key)."""
        call = self.op("elements", source)
        if self.name == "postgres":
            table = exp.TableAlias(
                this=exp.to_identifier(alias),
                columns=[exp.to_identifier("value"), exp.to_identifier("key")],
            )
            return exp.Table(this=call, alias=table, ordinality=True)
        return exp.Table(this=call, alias=exp.TableAlias(this=exp.to_identifier(alias)))

    def elem_value(self, alias: str) -> exp.Expr:
        return self.op("elem_value", exp.to_identifier(alias))

    def elem_key(self, alias: str) -> exp.Expr:
        return self.op("elem_key", exp.to_identifier(alias))

    def numeric_type(self) -> str:
        """The SQL type numbers are computed in."""
        return TEMPLATES[self.name]["numeric_type"]

    def column_type(self, fhir_type: str | None) -> str | None:
        """The SQL type of a column of ``fhir_type`` (None: text)."""
        return _COLUMN_TYPES[self.name].get(_NUMERIC_FAMILY.get(fhir_type or "", fhir_type or ""))


_NUMERIC_FAMILY = {
    "positiveInt": "integer",
    "unsignedInt": "integer",
    "integer64": "integer",
    "integer": "integer",
    "decimal": "decimal",
    "boolean": "boolean",
}

DIALECTS = tuple(TEMPLATES)


def _one_path(node: exp.Expr) -> exp.Expr:
    """``(x -> '$.a.b') ->> '$'`` is ``x ->> '$.a.b'`` (one parse of ``x``)."""
    if (
        isinstance(node, exp.JSONExtractScalar)
        and isinstance(node.expression, exp.JSONPath)
        and len(node.expression.expressions) == 1
        and isinstance(node.this, exp.JSONExtract)
        and isinstance(node.this.expression, exp.JSONPath)
    ):
        inner = node.this
        return exp.JSONExtractScalar(
            this=inner.this, expression=inner.expression, only_json_types=False, scalar_only=False
        )
    return node


def dialect(name: str) -> Dialect:
    """The :class:`Dialect` called ``name`` (``duckdb``, ``sqlite``, ``postgres``)."""
    aliases = {"postgresql": "postgres", "pg": "postgres"}
    name = aliases.get(name, name)
    if name not in TEMPLATES:
        raise InvalidViewDefinition(
            f"unknown dialect {name!r}; expected one of {', '.join(DIALECTS)}", not_supported=True
        )
    return Dialect(name)
