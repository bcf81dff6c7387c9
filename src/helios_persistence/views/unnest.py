"""DuckDB: ``forEach`` as ``unnest`` in a derived table instead of a lateral ``json_each`` join.

DuckDB runs ``FROM resources r CROSS JOIN json_each(r.json -> '$.component') f`` as a lateral
join, about twice as slow as expanding the array in a projection::

    SELECT <columns over r1> FROM (
        SELECT r.json AS json, unnest(CAST(r.json -> '$.component' AS JSON[])) AS f2_value
        FROM resources r WHERE <the view's conditions>) AS r1

(a nested ``forEach`` is one more level over the previous one). The rewrite takes the plan's
leading plain ``forEach`` joins (``CROSS JOIN json_each(...)``: no ``forEachOrNull``, no union
branch, no ``repeat``), and renames their references: ``r.x`` becomes ``rN.x`` and ``f.value``
/ ``f.key`` become ``rN.f_value`` / ``rN.f_key``; the other joins follow unchanged. The rows
are the same: ``unnest`` of an empty or NULL list gives no row, as the join gives none.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlglot import exp

__all__ = ["unnest_query"]


def plain_json_each(join: exp.Expr) -> tuple[str, exp.Expr] | None:
    """``(alias, source)`` of a plain ``CROSS JOIN json_each(source) AS alias``."""
    table = join.this
    if join.args.get("kind") != "CROSS" or join.args.get("on") is not None:
        return None
    if not isinstance(table, exp.Table) or not isinstance(table.this, exp.Anonymous):
        return None
    if table.this.name.lower() != "json_each" or len(table.this.expressions) != 1:
        return None
    return table.alias, table.this.expressions[0]


def unnest_query(
    columns: Sequence[tuple[str, exp.Expr, object]],
    joins: list[exp.Expr],
    requirements: list[exp.Expr],
    resources: exp.Expr,
    conds: list[exp.Expr],
) -> exp.Select | None:
    """The plan as nested ``unnest`` levels (see the module docstring); None when its first
    join is not a plain ``forEach``."""
    levels: list[tuple[str, exp.Expr]] = []
    for join in joins:
        found = plain_json_each(join)
        if found is None:
            break
        levels.append(found)
    if not levels:
        return None
    rest = joins[len(levels) :]
    aliases = {alias for alias, _ in levels}
    read = [ref for e in [e for _, e, _ in columns] + rest + requirements + [s for _, s in levels]
            for ref in _refs(e)]  # fmt: skip
    wanted = {name for table, name in read if table == "r"}
    used_keys = {table for table, name in read if table in aliases and name == "key"}
    names = sorted(wanted | {"json"})  # the columns each level passes on
    carried = [exp.alias_(exp.column(name, "r"), name) for name in names]
    query: exp.Select | None = None
    previous = "r"
    for depth, (alias, source) in enumerate(levels):
        items = exp.Cast(this=_renamed(source, previous, aliases), to=exp.DataType.build("JSON[]"))
        expanded = [exp.alias_(exp.Unnest(expressions=[items]), f"{alias}_value")]
        if alias in used_keys:
            positions = exp.Anonymous(this="range", expressions=[exp.Length(this=items.copy())])
            expanded.append(exp.alias_(exp.Unnest(expressions=[positions]), f"{alias}_key"))
        if query is None:
            query = exp.select(*carried, *expanded).from_(resources)
            if conds:
                query = query.where(exp.and_(*conds))
        else:
            passed = [exp.column(n, previous) for n in names]
            query = exp.select(*passed, *expanded).from_(
                exp.Subquery(this=query, alias=exp.TableAlias(this=exp.to_identifier(previous)))
            )
        names += [e.alias for e in expanded]
        previous = f"r{depth + 1}"
    assert query is not None
    select = exp.select(
        *(exp.alias_(_renamed(e, previous, aliases), name, quoted=True) for name, e, _ in columns)
    ).from_(exp.Subquery(this=query, alias=exp.TableAlias(this=exp.to_identifier(previous))))
    for join in rest:
        select = select.join(_renamed(join, previous, aliases))
    if requirements:
        select = select.where(exp.and_(*(_renamed(r, previous, aliases) for r in requirements)))
    return select


def _ref(node: exp.Expr) -> tuple[str, str] | None:
    """``(table, column)`` of a column reference (DuckDB's ``f.value`` parses as a dot)."""
    if isinstance(node, exp.Column) and node.table:
        return node.table, node.name
    if isinstance(node, exp.Dot) and isinstance(node.this, exp.Identifier):
        return node.this.name, node.expression.name
    return None


def _refs(e: exp.Expr) -> list[tuple[str, str]]:
    return [ref for node in e.walk() if (ref := _ref(node)) is not None]


def _renamed(e: exp.Expr, level: str, aliases: set[str]) -> exp.Expr:
    """``e`` reading the derived table ``level``: ``r.x`` → ``level.x``, ``f.value`` →
    ``level.f_value``."""

    def rename(node: exp.Expr) -> exp.Expr:
        ref = _ref(node)
        if ref is not None and ref[0] == "r":
            return exp.column(ref[1], level)
        if ref is not None and ref[0] in aliases:
            return exp.column(f"{ref[0]}_{ref[1]}", level)
        return node

    return e.copy().transform(rename)
