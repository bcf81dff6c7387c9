"""DuckDB: every path a view reads from the resource, extracted in one parse per resource.

DuckDB parses a JSON document again for every ``json -> '$.a.b'``; a view reading ten
elements of a resource parses it ten times. ``json_extract(json, ['$.a', '$.b', ...])`` reads
them all in one parse, so the view reads the resource through a derived table::

    FROM (SELECT *, json_extract(json, ['$.id', '$.subject.reference', ...]) AS _j
          FROM resources WHERE type = ...) AS r

and each ``r.json -> '$.subject.reference'`` becomes ``list_extract(r._j, 2)`` (a path with a
wildcard, ``$.name[*].given``, is its wildcard-free head from the list, then the rest:
``list_extract(r._j, 3) -> '$[*].given'``). The values are the same JSON values.
"""

from __future__ import annotations

from sqlglot import exp

__all__ = ["batch_paths", "batched_source"]

_COLUMN = "_j"


def _is_resource(e: exp.Expr) -> bool:
    return isinstance(e, exp.Column) and e.name == "json" and e.table == "r"


def batch_paths(exprs: list[exp.Expr]) -> tuple[list[exp.Expr], list[exp.Expr]]:
    """``exprs`` reading the resource's paths from ``r._j``, and those paths in order (no
    paths, and ``exprs`` unchanged, when fewer than two paths are read)."""
    heads: dict[str, exp.Expr] = {}

    def head(node: exp.Expr) -> tuple[exp.Expr, list[exp.Expr]] | None:
        if not isinstance(node, exp.JSONExtract | exp.JSONExtractScalar):
            return None
        if not _is_resource(node.this) or not isinstance(node.expression, exp.JSONPath):
            return None
        steps = node.expression.expressions
        cut = next(
            (
                i
                for i, s in enumerate(steps)
                if not isinstance(s, exp.JSONPathRoot | exp.JSONPathKey)
            ),
            len(steps),
        )
        if cut < 2:  # nothing but the root before a wildcard
            return None
        return exp.JSONPath(expressions=[s.copy() for s in steps[:cut]]), steps[cut:]

    for e in exprs:
        for node in e.find_all(exp.JSONExtract, exp.JSONExtractScalar):
            found = head(node)
            if found is not None:
                heads.setdefault(found[0].sql(dialect="duckdb"), found[0])
    if len(heads) < 2:
        return exprs, []
    position = {key: i + 1 for i, key in enumerate(heads)}

    def rewrite(node: exp.Expr) -> exp.Expr:
        found = head(node)
        if found is None:
            return node
        path, rest = found
        value = exp.Anonymous(
            this="list_extract",
            expressions=[
                exp.column(_COLUMN, "r"),
                exp.Literal.number(position[path.sql(dialect="duckdb")]),
            ],
        )
        if not rest and isinstance(node, exp.JSONExtract):
            return value
        suffix = exp.JSONPath(expressions=[exp.JSONPathRoot(), *(s.copy() for s in rest)])
        if isinstance(node, exp.JSONExtractScalar):
            return exp.JSONExtractScalar(
                this=value, expression=suffix, only_json_types=False, scalar_only=False
            )
        return exp.JSONExtract(this=value, expression=suffix, only_json_types=False)

    return [e.copy().transform(rewrite) for e in exprs], list(heads.values())


def batched_source(
    resources: exp.Expr, conds: list[exp.Expr], paths: list[exp.Expr], rowid: bool
) -> exp.Expr:
    """The resources table as ``r`` with the column ``_j`` of ``paths`` (rows filtered by
    ``conds``; with ``rowid`` when the plan joins back by it)."""
    extract = exp.Anonymous(
        this="json_extract",
        expressions=[exp.column("json", "r"), exp.Array(expressions=paths)],
    )
    columns: list[exp.Expr] = [exp.Star(), exp.alias_(extract, _COLUMN)]
    if rowid:
        columns.append(exp.alias_(exp.column("rowid", "r"), "rowid"))
    inner = exp.select(*columns).from_(resources).where(exp.and_(*conds))
    return exp.Subquery(this=inner, alias=exp.TableAlias(this=exp.to_identifier("r")))
