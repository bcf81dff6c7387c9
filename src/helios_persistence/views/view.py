"""A ViewDefinition lowered to one SELECT, the same shape in every dialect.

The view becomes a flat join over the resource table: each ``forEach`` / ``forEachOrNull`` /
``repeat`` is a LEFT JOIN of an array-elements table (lateral in all three dialects), each
``unionAll`` a join with a small table of branch numbers ``b``. A join that only applies in
some rows (a branch of a union, the inside of a ``forEachOrNull`` that found nothing) gets
its source only where it is *active*; a row is kept when every active ``forEach`` found an
element (the *requirements*). Columns of union branches are ``CASE b WHEN i THEN ...``.
Because nothing needs a LATERAL subquery, SQLite (which has none) runs the same plan as
DuckDB and PostgreSQL.

The input is a table ``resources(type, json)`` (plus ``tenant``, ``deleted`` for a store);
:mod:`helios_persistence.views.sources` provides it for each kind of source.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlglot import exp

from helios_persistence.errors import InvalidViewDefinition
from helios_persistence.views import fhirpath as fp
from helios_persistence.views.definition import Column, Select, View, parse_view
from helios_persistence.views.dialects import Dialect, dialect
from helios_persistence.views.lower import Coll, Lowerer
from helios_persistence.views.paths import batch_paths, batched_source
from helios_persistence.views.prefilter import text_prefilters
from helios_persistence.views.unnest import unnest_query

__all__ = ["CompiledView", "ViewColumn", "compile_view"]

_BOOLEAN_FUNCTIONS = frozenset(
    {
        "exists",
        "empty",
        "not",
        "is",
        "hasValue",
        "startsWith",
        "contains",
        "all",
        "allTrue",
        "anyTrue",
    }
)


@dataclass(frozen=True, slots=True)
class ViewColumn:
    """One output column: its name, FHIR type (None: not known) and whether it is a list."""

    name: str
    type: str | None
    collection: bool


@dataclass(frozen=True, slots=True)
class CompiledView:
    """A compiled view: SQL ``text`` with named ``params`` over the ``resources`` table."""

    dialect: str
    text: str
    params: dict[str, Any]
    columns: tuple[ViewColumn, ...]
    resource: str
    expression: exp.Expr = field(repr=False, compare=False)


_CACHE: dict[tuple[bytes, str, str, bool], CompiledView] = {}
_CACHE_SIZE = 256


def compile_view(
    view: Any, dialect_name: str = "duckdb", *, table: str = "resources", tenant: bool = False
) -> CompiledView:
    """Compile ``view`` (JSON text, dict or parsed :class:`View`) for ``dialect_name``.

    ``tenant=True`` adds ``tenant = :tenant AND deleted = 0`` (a store's ``resources`` table;
    bind ``tenant`` at execution). Compilations of JSON views are cached (by their canonical
    JSON, dialect, table and tenant flag).
    """
    if isinstance(view, View):
        return _compile(view, dialect_name, table, tenant)
    try:
        key = (orjson.dumps(view, option=orjson.OPT_SORT_KEYS), dialect_name, table, tenant)
    except TypeError:  # not JSON data: let validation say what is wrong
        return _compile(view, dialect_name, table, tenant)
    found = _CACHE.get(key)
    if found is None:
        found = _compile(view, dialect_name, table, tenant)
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = found
    return found


#: at most this many UNION ALL plans; a view with more union branches uses branch tables only
MAX_PLANS = 32


def _compile(view: Any, dialect_name: str, table: str, tenant: bool) -> CompiledView:
    parsed = view if isinstance(view, View) else parse_view(view)
    d = dialect(dialect_name)
    params: dict[str, Any] = {}
    aliases = itertools.count(1)
    plans: list[tuple[_Builder, list[tuple[str, exp.Expr, ViewColumn]]]] = []
    seen: set[frozenset[tuple[int, int]]] = set()
    work: list[dict[int, int]] = [{}]
    while work:
        choices = work.pop(0)
        builder = _Builder(d, parsed, params, aliases, choices, table)
        columns = builder.build()
        key = frozenset(builder.chosen.items())
        if key in seen:
            continue
        seen.add(key)
        plans.append((builder, columns))
        for union, branches in builder.opened:
            work += [{**choices, union: i} for i in range(1, branches)]
        if len(plans) + len(work) > MAX_PLANS:  # too many: one plan with branch tables
            params.clear()
            builder = _Builder(d, parsed, params, itertools.count(1), None, table)
            plans = [(builder, builder.build())]
            break
    selects = [_plan_query(b, cols, table, tenant) for b, cols in plans]
    query: exp.Query = selects[0] if len(selects) == 1 else exp.union(*selects, distinct=False)
    for b, _ in plans:
        for name, body in b.ctes:
            query = query.with_(name, as_=body, recursive=True)
    metas = []
    for j, (name, _, meta) in enumerate(plans[0][1]):
        types = {cols[j][2].type for _, cols in plans}
        metas.append(ViewColumn(name, meta.type if len(types) == 1 else None, meta.collection))
    # a value bound while lowering but not used by the query (a Quantity literal only
    # compared) is not passed: DuckDB rejects parameters the text does not name
    used = {p.name for p in query.find_all(exp.Placeholder)}
    bound = {name: value for name, value in params.items() if name in used}
    return CompiledView(
        d.name, query.sql(dialect=d.name), bound, tuple(metas), parsed.resource, query
    )


def _plan_query(
    builder: _Builder,
    columns: list[tuple[str, exp.Expr, ViewColumn]],
    table: str,
    tenant: bool,
) -> exp.Select:
    resources: exp.Expr = exp.Table(
        this=exp.to_identifier(table), alias=exp.TableAlias(this=exp.to_identifier("r"))
    )
    conds: list[exp.Expr] = [
        exp.EQ(this=exp.column("type", "r"), expression=builder.lw.bind(builder.view.resource))
    ]
    if tenant:
        conds.append(
            exp.EQ(this=exp.column("tenant", "r"), expression=exp.Placeholder(this="tenant"))
        )
        conds.append(exp.EQ(this=exp.column("deleted", "r"), expression=exp.Literal.number(0)))
    joins, requirements, filters = builder.joins, builder.requirements, builder.filters
    if builder.d.name == "duckdb":  # resources that cannot give a row are not parsed
        conds += text_prefilters(joins, builder.lw.bind)
    if builder.d.name == "duckdb":  # one parse of each resource for all the paths it reads
        parts = [e for _, e, _ in columns] + joins + requirements + filters
        rewritten, paths = batch_paths(parts)
        if paths:
            resources = batched_source(resources, conds, paths, rowid=bool(builder.ctes))
            conds = []
            n, m = len(columns), len(joins)
            columns = [(c[0], e, c[2]) for c, e in zip(columns, rewritten[:n], strict=True)]
            joins = rewritten[n : n + m]
            requirements = rewritten[n + m : n + m + len(requirements)]
            filters = rewritten[n + m + len(requirements) :]
    conds += filters
    if builder.ctes:  # DuckDB's repeat: several rows per resource, joined by rowid
        return _hoisted_query(columns, joins, requirements, resources, conds)
    if builder.d.name == "duckdb":
        unnested = unnest_query(columns, joins, requirements, resources, conds)
        if unnested is not None:
            return unnested
    query = exp.select(*(exp.alias_(e, name, quoted=True) for name, e, _ in columns))
    query = query.from_(resources)
    for join in joins:
        query = query.join(join)
    where = [*conds, *requirements]
    return query.where(exp.and_(*where)) if where else query


def _hoisted_query(
    columns: list[tuple[str, exp.Expr, ViewColumn]],
    joins: list[exp.Expr],
    requirements: list[exp.Expr],
    resources: exp.Expr,
    conds: list[exp.Expr],
) -> exp.Select:
    """DuckDB's ``repeat`` (many rows per resource): the resource's own columns (those
    reading nothing but ``r``) and its conditions are computed once per resource, in a
    derived table ``r`` the joins then repeat; DuckDB would re-parse the resource's JSON
    for every output row otherwise. (Not for ``forEach``: there most resources usually
    give no row, and computing their columns first costs more than it saves.)"""
    inner: list[exp.Expr] = [
        exp.alias_(exp.column("json", "r"), "json"),
        exp.alias_(exp.column("rowid", "r"), "rowid"),
    ]
    outer: list[exp.Expr] = []
    for i, (name, e, _) in enumerate(columns):
        if _reads_only_root(e):
            inner.append(exp.alias_(e, f"_c{i}"))
            outer.append(exp.alias_(exp.column(f"_c{i}", "r"), name, quoted=True))
        else:
            outer.append(exp.alias_(e, name, quoted=True))
    base = exp.select(*inner).from_(resources)
    if conds:
        base = base.where(exp.and_(*conds))
    query = exp.select(*outer).from_(
        exp.Subquery(this=base, alias=exp.TableAlias(this=exp.to_identifier("r")))
    )
    for join in joins:
        query = query.join(join)
    return query.where(exp.and_(*requirements)) if requirements else query


def _reads_only_root(e: exp.Expr) -> bool:
    """``e`` reads the resource ``r`` and no other table (lambda variables have none)."""
    tables = {c.table for c in e.find_all(exp.Column) if c.table}
    return tables == {"r"}


class _Builder:
    def __init__(
        self,
        d: Dialect,
        view: View,
        params: dict[str, Any],
        aliases: itertools.count[int],
        choices: dict[int, int] | None,
        table: str = "resources",
    ) -> None:
        self.d = d
        self.view = view
        self.params = params
        self.aliases = aliases
        #: which branch of each top-level union this plan takes (None: no plans, branch tables)
        self.choices = choices
        self.chosen: dict[int, int] = {}
        self.opened: list[tuple[int, int]] = []
        self.table = table
        #: recursive CTEs (name, body) the query needs (DuckDB's repeat from the resource)
        self.ctes: list[tuple[str, exp.Expr]] = []
        self.root = Coll(exp.column("json", "r"), "json", view.resource, view.resource)
        self.lw = Lowerer(d, self.root, view.constants, self.params, self.aliases)
        self.joins: list[exp.Expr] = []
        self.requirements: list[exp.Expr] = []
        self.filters: list[exp.Expr] = []

    def build(self) -> list[tuple[str, exp.Expr, ViewColumn]]:
        for node, where in self.view.where:
            self.lw.where = where
            value = self.lw.lower(node, self.root)
            if not _is_boolean(node, value):
                raise InvalidViewDefinition(
                    f"{where}: a where path must evaluate to a boolean "
                    f"(this one gives {value.type or 'a non-boolean value'})",
                    expression=where,
                )
            self.filters.append(self.lw.boolean(value))
        zero = exp.Literal.number(0)
        out = []
        for select in self.view.selects:
            out += self.select(select, self.root, None, zero)
        return out

    # -- structure -----------------------------------------------------------------------------
    def select(
        self, s: Select, ctx: Coll, active: exp.Expr | None, row_index: exp.Expr
    ) -> list[tuple[str, exp.Expr, ViewColumn]]:
        if s.repeat and self.lw.lists and not _uses_row_index(s):
            if ctx is self.root and active is None:
                ctx = self.repeat_cte(s)
            else:
                ctx, active = self.tree_join(s, ctx, active)
        elif s.for_each is not None or s.repeat:
            self.lw.where = s.where
            source, item = self.iteration(s, ctx)
            alias = self.lw.alias("f")
            guarded = source if active is None else exp.Case(ifs=[exp.If(this=active, true=source)])
            value = self.d.elem_value(alias)
            present = exp.Not(this=exp.Is(this=value.copy(), expression=exp.Null()))
            if active is None and not s.or_null:
                self.joins.append(exp.Join(this=self.d.elements(guarded, alias), kind="CROSS"))
            else:
                self.joins.append(
                    exp.Join(this=self.d.elements(guarded, alias), side="LEFT", on=exp.true())
                )
                if not s.or_null:
                    self.requirements.append(
                        exp.or_(exp.not_(exp.paren(active)), present)  # type: ignore[arg-type]
                    )
            if s.or_null:
                active = present if active is None else exp.and_(active, present)
            ctx = Coll(value, "json", item.type, item.type_key)
            row_index = self.d.elem_key(alias)
        out: list[tuple[str, exp.Expr, ViewColumn]] = []
        for column in s.columns:
            out.append(self.column(column, ctx, row_index))
        for child in s.selects:
            out += self.select(child, ctx, active, row_index)
        if s.union and active is None and self.choices is not None:
            # a union every row goes through: this plan takes one branch (UNION ALL of plans)
            choice = self.choices.get(id(s))
            if choice is None:
                choice = 0
                self.opened.append((id(s), len(s.union)))
            self.chosen[id(s)] = choice
            out += self.select(s.union[choice], ctx, None, row_index)
        elif s.union:
            out += self.union(s, ctx, active, row_index)
        return out

    def repeat_cte(self, s: Select) -> Coll:
        """DuckDB ``repeat`` from the resource itself: one recursive CTE over every resource
        of the view's type (no per-row recursion), joined back by ``rowid``."""
        from helios_persistence.views.repeat import (
            chains_of,
            list_recursion,
            recursion,
            repeat_item,
        )

        self.lw.where = s.where
        item = repeat_item(chains_of(s), self.root)
        rec, base, alias = self.lw.alias("rep"), self.lw.alias("b"), self.lw.alias("t")
        anchor_from = (
            exp.select()
            .from_(
                exp.Table(
                    this=exp.to_identifier(self.table),
                    alias=exp.TableAlias(this=exp.to_identifier(base)),
                )
            )
            .where(
                exp.EQ(this=exp.column("type", base), expression=self.lw.bind(self.view.resource))
            )
        )
        on: exp.Expr = exp.EQ(this=exp.column("rid", alias), expression=exp.column("rowid", "r"))
        body = list_recursion(
            s,
            rec,
            item.type_key,
            self.root.type_key,
            exp.column("json", base),
            anchor_from,
            exp.column("rowid", base),
        )
        if body is None:  # a path the model does not know: the table of hops
            body = recursion(
                self.lw,
                s,
                rec,
                exp.column("json", base),
                anchor_from,
                row_id=exp.column("rowid", base),
                context_key=self.root.type_key,
                ordered=False,
            )
            on = exp.and_(
                on,
                exp.EQ(this=exp.column("st", alias), expression=exp.Literal.number(0)),
                exp.column("n", alias),
            )
        self.ctes.append((rec, body))
        self.joins.append(
            exp.Join(
                this=exp.Table(
                    this=exp.to_identifier(rec), alias=exp.TableAlias(this=exp.to_identifier(alias))
                ),
                on=on,
            )
        )
        return Coll(exp.column("v", alias), "json", item.type, item.type_key)

    def tree_join(
        self, s: Select, ctx: Coll, active: exp.Expr | None
    ) -> tuple[Coll, exp.Expr | None]:
        """DuckDB ``repeat``: join the matching nodes of ``json_tree`` directly."""
        from helios_persistence.views.repeat import chains_of, repeat_item, tree_match, tree_table

        self.lw.where = s.where
        chains = chains_of(s)
        item = repeat_item(chains, ctx)
        alias = self.lw.alias("t")
        source = (
            ctx.value if active is None else exp.Case(ifs=[exp.If(this=active, true=ctx.value)])
        )
        match = tree_match(self.lw, chains, alias)
        value = exp.column("value", alias)
        if active is None:
            self.joins.append(exp.Join(this=tree_table(source, alias), on=match))
        else:
            self.joins.append(exp.Join(this=tree_table(source, alias), side="LEFT", on=match))
            present = exp.Not(this=exp.Is(this=value.copy(), expression=exp.Null()))
            self.requirements.append(exp.or_(exp.not_(exp.paren(active.copy())), present))
        return Coll(value, "json", item.type, item.type_key), active

    def union(
        self, s: Select, ctx: Coll, active: exp.Expr | None, row_index: exp.Expr
    ) -> list[tuple[str, exp.Expr, ViewColumn]]:
        alias = self.lw.alias("u")
        branches = (
            exp.union(
                *(exp.select(exp.alias_(exp.Literal.number(i), "b")) for i in range(len(s.union))),
                distinct=False,
            )
            if len(s.union) > 1
            else exp.select(exp.alias_(exp.Literal.number(0), "b"))
        )
        self.joins.append(
            exp.Join(
                this=exp.Subquery(
                    this=branches, alias=exp.TableAlias(this=exp.to_identifier(alias))
                ),
                kind="CROSS",
            )
        )
        b = exp.column("b", alias)
        if active is not None:  # an inactive context keeps one row (branch 0), all NULL
            self.requirements.append(
                exp.or_(
                    exp.paren(active.copy()),
                    exp.EQ(this=b.copy(), expression=exp.Literal.number(0)),
                )
            )
        per_branch = []
        for i, branch in enumerate(s.union):
            mine = exp.EQ(this=b.copy(), expression=exp.Literal.number(i))
            branch_active = mine if active is None else exp.and_(active.copy(), mine)
            per_branch.append(self.select(branch, ctx, branch_active, row_index))
        out: list[tuple[str, exp.Expr, ViewColumn]] = []
        for j, (name, _, meta) in enumerate(per_branch[0]):
            ifs = [
                exp.If(
                    this=exp.EQ(this=b.copy(), expression=exp.Literal.number(i)), true=cols[j][1]
                )
                for i, cols in enumerate(per_branch)
            ]
            types = {cols[j][2].type for cols in per_branch}
            merged = ViewColumn(name, meta.type if len(types) == 1 else None, meta.collection)
            out.append((name, exp.Case(ifs=ifs), merged))
        return out

    def iteration(self, s: Select, ctx: Coll) -> tuple[exp.Expr, Coll]:
        """The JSON array a forEach / repeat walks, and the type of its items."""
        if s.repeat:
            from helios_persistence.views.repeat import repeat_source

            return repeat_source(self.lw, s, ctx)
        assert s.for_each is not None
        coll = self.lw.lower(s.for_each, ctx)
        if coll.kind != "json":
            raise InvalidViewDefinition(
                f"{s.where}: forEach needs FHIR elements, not a computed value",
                expression=s.where,
            )
        return _array_source(self.lw, coll), coll

    def column(
        self, column: Column, ctx: Coll, row_index: exp.Expr
    ) -> tuple[str, exp.Expr, ViewColumn]:
        lw = self.lw
        lw.where = column.where
        lw.row_index = row_index
        value = lw.lower(column.path, ctx)
        fhir_type = column.type or value.type
        if column.collection:
            array = exp.Coalesce(
                this=lw.json_array(value), expressions=[self.d.op("empty_json_array")]
            )
            return column.name, array, ViewColumn(column.name, fhir_type, True)
        if value.many and column.collection is False:
            raise InvalidViewDefinition(
                f"{column.where}: {column.text!r} can return several values but the column "
                "has collection: false (set collection: true, or use first())",
                expression=column.where,
            )
        family = _column_family(fhir_type)
        return column.name, lw.typed(value, family), ViewColumn(column.name, fhir_type, False)


def _array_source(lw: Lowerer, coll: Coll) -> exp.Expr:
    """``coll`` as one JSON array expression (its elements are then joined)."""
    if not coll.many:
        return lw.d.op("array_wrap", coll.value)
    if coll.source is not None:
        return coll.source
    return lw.json_array(coll)


def _column_family(fhir_type: str | None) -> str:
    if fhir_type == "boolean":
        return "boolean"
    if fhir_type in ("integer", "positiveInt", "unsignedInt", "integer64"):
        return "integer"
    if fhir_type == "decimal":
        return "decimal"
    return "text"


def _uses_row_index(s: Select) -> bool:
    if any("rowIndex" in c.text for c in s.columns):
        return True
    return any(_uses_row_index(child) for child in (*s.selects, *s.union))


def _is_boolean(node: fp.Node, value: Coll) -> bool:
    if value.type == "boolean":
        return True
    if value.type is None and value.kind == "json":
        return True  # an element the model does not know: checked at run time
    return bool(isinstance(node, fp.Call) and node.name in _BOOLEAN_FUNCTIONS)
