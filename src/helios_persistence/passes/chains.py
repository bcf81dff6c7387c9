"""``merge_chains``: alternatives that follow the same link become one link with the
alternatives inside.

``Or(Chain(p, T, a), Chain(p, T, b))`` is ``Chain(p, T, Or(a, b))`` (``T``: the same target
types; some ``T`` reached by ``p`` satisfies ``a``, or some satisfies ``b``, is some satisfying
``a`` or ``b``), and the
same for ``_has``. ``_filter`` writes the former (``patient.name eq a or patient.name eq b``);
the latter is one join instead of two. (The same is *not* true of ``And``: two conditions on a
chain may be met by two different referenced resources.)
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from helios_persistence import ir
from helios_persistence.passes.rewrite import bottom_up

__all__ = ["merge_chains"]


def merge_chains(node: Any) -> Any:
    """Merge the alternatives of every ``Or`` that follow the same chain or ``_has`` link."""
    return bottom_up(node, _merge)


def _link(node: ir.Node) -> tuple[Any, ...] | None:
    if isinstance(node, ir.Chain):
        return ("chain", node.param, node.target_types)
    if isinstance(node, ir.Has):
        return ("has", node.source_type, node.param)
    return None


def _merge(node: ir.Node) -> ir.Node:
    if not isinstance(node, ir.Or):
        return node
    groups: dict[tuple[Any, ...], list[ir.Chain | ir.Has]] = {}
    for child in node.children:
        key = _link(child)
        if key is not None:
            groups.setdefault(key, []).append(child)  # type: ignore[arg-type]
    if all(len(members) == 1 for members in groups.values()):
        return node
    merged: list[ir.Predicate] = []
    done: set[tuple[Any, ...]] = set()
    for child in node.children:
        key = _link(child)
        if key is None or len(groups[key]) == 1:
            merged.append(child)
        elif key not in done:
            done.add(key)
            members = groups[key]
            merged.append(replace(members[0], where=ir.Or(tuple(m.where for m in members))))
    return merged[0] if len(merged) == 1 else ir.Or(tuple(merged))
