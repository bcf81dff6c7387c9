"""``repeat``: every node reachable by applying the paths again and again, as one JSON array.

A recursive CTE walks a small state machine: each repeat path is a chain of element names
(``answer.item`` is two hops), state 0 is "a node of the result", the other states are the
hops in between. One recursive term joins the current rows with the table of transitions
``(src, key, dst, branch)`` and the elements of ``value[key]`` (array or not), so DuckDB,
which allows a single recursive term, runs it too. The order key ``o`` concatenates
zero-padded element positions, so the array is in depth-first order. Repeat paths must be
plain element paths (no functions).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlglot import exp

from helios_persistence.errors import InvalidViewDefinition
from helios_persistence.views import fhirpath as fp
from helios_persistence.views.lists import to_list
from helios_persistence.views.lower import Coll
from helios_persistence.views.model import resolve

if TYPE_CHECKING:
    from helios_persistence.views.definition import Select
    from helios_persistence.views.lower import Lowerer

__all__ = ["repeat_source"]


def _names(node: fp.Node, where: str) -> list[str]:
    if isinstance(node, fp.This):
        return []
    if isinstance(node, fp.Member):
        return [*_names(node.base, where), node.name]
    raise InvalidViewDefinition(
        f"{where}: repeat paths must be element paths such as 'item' or 'answer.item'",
        expression=where,
        not_supported=True,
    )


def _transitions(s: Select) -> tuple[list[list[str]], list[tuple[int, str, int, int]]]:
    chains = chains_of(s)
    transitions: list[tuple[int, str, int, int]] = []
    state = 0
    for branch, chain in enumerate(chains):
        if not chain:
            raise InvalidViewDefinition(
                f"{s.where}.repeat[{branch}]: empty path", expression=f"{s.where}.repeat[{branch}]"
            )
        src = 0
        for hop, name in enumerate(chain):
            last = hop == len(chain) - 1
            dst = 0 if last else (state := state + 1)
            transitions.append((src, name, dst, branch))
            src = dst
    return chains, transitions


def recursion(
    lw: Lowerer,
    s: Select,
    rec: str,
    anchor_value: exp.Expr,
    anchor_from: exp.Select | None = None,
    row_id: exp.Expr | None = None,
    context_key: str | None = None,
    ordered: bool = True,
) -> exp.Expr:
    """The body of the recursive CTE ``rec(v, o, st[, rid])`` walking the repeat paths from
    ``anchor_value`` (selected ``anchor_from`` a table when given, one row per ``row_id``).

    ``ordered=False`` (nobody needs the depth-first order) replaces the order key ``o`` by a
    boolean ``n``: false for the anchor, true for the nodes reached."""
    d = lw.d
    _, transitions = _transitions(s)
    step, elem = lw.alias("s"), lw.alias("e")

    def key_path(name: str) -> str:
        return name if d.name == "postgres" else f"$.{name}"

    rows = [
        exp.select(
            exp.alias_(exp.Literal.number(src), "src"),
            exp.alias_(exp.Literal.string(key_path(name)), "k"),
            exp.alias_(exp.Literal.number(dst), "dst"),
            exp.alias_(exp.Literal.number(branch), "br"),
        )
        for src, name, dst, branch in transitions
    ]
    table = rows[0] if len(rows) == 1 else exp.union(*rows, distinct=False)
    text = exp.DataType.build("TEXT")
    anchor_columns = [
        exp.alias_(anchor_value.copy(), "v"),
        exp.alias_(exp.Cast(this=exp.Literal.string(""), to=text), "o")
        if ordered
        else exp.alias_(exp.false(), "n"),
        exp.alias_(exp.Literal.number(0), "st"),
    ]
    if row_id is not None:
        anchor_columns.append(exp.alias_(row_id, "rid"))
    anchor = anchor_from.select(*anchor_columns) if anchor_from else exp.select(*anchor_columns)
    repeats = _member_repeats(chains_of(s), context_key)
    child = _children(lw, repeats, exp.column("v", rec), exp.column("k", step))
    order = exp.DPipe(
        this=exp.DPipe(this=exp.column("o", rec), expression=exp.Literal.string(".")),
        expression=exp.DPipe(
            this=exp.Cast(this=exp.column("br", step), to=text),
            expression=d.op("ord_text", d.elem_key(elem)),
        ),
    )
    columns = [
        exp.alias_(d.elem_value(elem), "v"),
        exp.alias_(order, "o") if ordered else exp.alias_(exp.true(), "n"),
        exp.alias_(exp.column("dst", step), "st"),
    ]
    if row_id is not None:
        columns.append(exp.alias_(exp.column("rid", rec), "rid"))
    recursive = (
        exp.select(*columns)
        .from_(exp.Table(this=exp.to_identifier(rec)))
        .join(
            exp.Subquery(this=table, alias=exp.TableAlias(this=exp.to_identifier(step))),
            on=exp.EQ(this=exp.column("src", step), expression=exp.column("st", rec)),
        )
        .join(d.elements(child, elem), join_type="CROSS")
    )
    return exp.union(anchor, recursive, distinct=False)


def _cardinalities(chain: list[str], type_key: str | None) -> list[bool] | None:
    """Whether each element of ``chain`` repeats, walking from ``type_key`` (None: unknown)."""
    flags = []
    for name in chain:
        step = resolve(type_key, name)
        if len(step) != 1 or step[0].many is None:
            return None
        flags.append(step[0].many)
        type_key = step[0].type_key
    return flags


def list_recursion(
    s: Select,
    rec: str,
    item_key: str | None,
    context_key: str | None,
    anchor_value: exp.Expr,
    anchor_from: exp.Select,
    row_id: exp.Expr,
) -> exp.Expr | None:
    """DuckDB, when the model knows every element of the paths (from the repeated nodes'
    type): the body of ``rec(v, rid)``, each step one ``unnest`` of all a node's children,
    which are one wildcard path per repeat path (``v -> '$.answer[*].item[*]'``); no table of
    hops, no intermediate rows. None when an element's cardinality is unknown."""
    chains = chains_of(s)
    paths = []
    for chain in chains:
        flags = _cardinalities(chain, item_key)
        at_root = _cardinalities(chain, context_key)
        if flags is None or (at_root is not None and at_root != flags):
            return None
        steps: list[exp.Expr] = [exp.JSONPathRoot()]
        for name, many in zip(chain, flags, strict=True):
            steps.append(exp.JSONPathKey(this=name))
            if many:
                steps.append(exp.JSONPathSubscript(this=exp.JSONPathWildcard()))
        paths.append((exp.JSONPath(expressions=steps), any(flags)))

    def children(value: exp.Expr) -> exp.Expr:
        lists = []
        for path, wild in paths:
            found = exp.JSONExtract(
                this=value.copy(), expression=path.copy(), only_json_types=False
            )
            as_list = exp.Cast(this=found, to=exp.DataType.build("JSON[]"))
            lists.append(as_list if wild else to_list(found, False))
        out = lists[0]
        for more in lists[1:]:
            out = exp.Anonymous(this="list_concat", expressions=[out, more])
        return exp.Unnest(expressions=[out])

    anchor = anchor_from.select(exp.alias_(children(anchor_value), "v"), exp.alias_(row_id, "rid"))
    step = exp.select(
        exp.alias_(children(exp.column("v", rec)), "v"), exp.alias_(exp.column("rid", rec), "rid")
    ).from_(exp.Table(this=exp.to_identifier(rec)))
    return exp.union(anchor, step, distinct=False)


def _children(lw: Lowerer, repeats: dict[str, bool], value: exp.Expr, key: exp.Expr) -> exp.Expr:
    """The JSON array under ``value``'s member named by the transition's ``key`` column: one
    constant path per member name (an array as is when the model says it repeats)."""
    d = lw.d
    ifs = []
    for name, many in repeats.items():  # names met nowhere the model knows: not in the dict
        child = d.get(value, name)
        path = name if d.name == "postgres" else f"$.{name}"
        ifs.append(
            exp.If(
                this=exp.EQ(this=key.copy(), expression=exp.Literal.string(path)),
                true=child if many else d.op("array_wrap", child),
            )
        )
    return exp.Case(ifs=ifs)


def _member_repeats(chains: list[list[str]], type_key: str | None) -> dict[str, bool]:
    """For each member name of the paths: True when it repeats everywhere the walk from
    ``type_key`` (the context) meets it, per the model; False (checked at run time) when a
    type on the way is unknown."""
    found: dict[str, bool | None] = {name: None for chain in chains for name in chain}
    item_key = repeat_item(chains, Coll(exp.Null(), "json", None, type_key)).type_key
    for start in {type_key, item_key}:
        for chain in chains:
            current = start
            for name in chain:
                if current is None:  # an unknown type: check at run time
                    found[name] = False
                    break
                step = resolve(current, name)[0]
                if step.many is None:  # no such element in this type: the walk ends here
                    break
                found[name] = (found[name] is not False) and step.many
                current = step.type_key
    return {name: bool(many) for name, many in found.items()}


def repeat_source(lw: Lowerer, s: Select, ctx: Coll) -> tuple[exp.Expr, Coll]:
    """The nodes ``repeat`` reaches from ``ctx``, as one JSON array (a correlated subquery)."""
    d = lw.d
    chains, _ = _transitions(s)
    item = repeat_item(chains, ctx)
    item_type, item_key = item.type, item.type_key
    if lw.lists:
        query = tree_query(lw, chains, ctx.value)
        nodes = exp.Anonymous(
            this="list",
            expressions=[
                exp.Order(
                    this=exp.column("value", "t"),
                    expressions=[exp.Ordered(this=exp.column("id", "t"))],
                )
            ],
        )
        query = query.select(exp.Anonymous(this="to_json", expressions=[nodes]))
        return exp.Subquery(this=query), Coll(ctx.value, "json", item_type, item_key)
    rec = lw.alias("rec")
    cte_body = recursion(lw, s, rec, ctx.value, context_key=ctx.type_key)
    collect = (
        exp.select(d.op("agg_json", exp.column("v", rec), exp.column("o", rec)))
        .from_(exp.Table(this=exp.to_identifier(rec)))
        .where(
            exp.and_(
                exp.EQ(this=exp.column("st", rec), expression=exp.Literal.number(0)),
                exp.NEQ(this=exp.column("o", rec), expression=exp.Literal.string("")),
            )
        )
        .with_(rec, as_=cte_body, recursive=True)
    )
    return exp.Subquery(this=collect), Coll(ctx.value, "json", item_type, item_key)


def repeat_item(chains: list[list[str]], ctx: Coll) -> Coll:
    """The type of the repeated nodes: what the first path gives from the context."""
    if not chains or any(not chain for chain in chains):
        raise InvalidViewDefinition("repeat: every path must name an element")
    item_type, item_key = ctx.type, ctx.type_key
    for name in chains[0]:
        steps = resolve(item_key, name)
        item_type, item_key = steps[0].type, steps[0].type_key
    return Coll(ctx.value, "json", item_type, item_key)


def chains_of(s: Select) -> list[list[str]]:
    """The repeat paths of ``s`` as element-name chains."""
    return [
        _names(fp.parse(text, f"{s.where}.repeat[{i}]"), f"{s.where}.repeat[{i}]")
        for i, text in enumerate(s.repeat)
    ]


def tree_match(lw: Lowerer, chains: list[list[str]], tree: str) -> exp.Expr:
    """DuckDB: ``json_tree`` row ``tree`` is a node reached by repeating the paths (an object
    whose JSON path is a sequence of them)."""
    hops = ["".join(rf"\.{name}(\[[0-9]+\])?" for name in chain) for chain in chains]
    pattern = r"\$(" + "|".join(f"({h})" for h in hops) + ")+"
    matches = exp.Anonymous(
        this="regexp_full_match", expressions=[exp.column("fullkey", tree), lw.bind(pattern)]
    )
    # items with children are objects; the cheap test first
    is_object = exp.EQ(this=exp.column("type", tree), expression=exp.Literal.string("OBJECT"))
    return exp.and_(is_object, matches)


def tree_table(value: exp.Expr, tree: str) -> exp.Expr:
    return exp.Table(
        this=exp.Anonymous(this="json_tree", expressions=[value.copy()]),
        alias=exp.TableAlias(this=exp.to_identifier(tree)),
    )


def tree_query(lw: Lowerer, chains: list[list[str]], value: exp.Expr) -> exp.Select:
    """DuckDB: ``FROM json_tree(value) t WHERE <t is a repeated node>`` (no select list);
    ``json_tree``'s ``id`` is document order, which is depth-first."""
    return exp.Select().from_(tree_table(value, "t")).where(tree_match(lw, chains, "t"))
