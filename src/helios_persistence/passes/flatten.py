"""``flatten``: nested ``And``/``Or`` of the same kind become one; repeated children and
one-child ``And``/``Or`` go.

``_filter`` and the combination of search parameters build nested conjunctions and
disjunctions (``(a and (b and c))``); flat ones let compilers group the matches of one
parameter into one index lookup and let the composite router split a query's top-level
conjunction into parts.
"""

from __future__ import annotations

from typing import Any

from helios_persistence import ir
from helios_persistence.passes.rewrite import bottom_up

__all__ = ["flatten"]


def flatten(node: Any) -> Any:
    """Flatten every ``And``/``Or`` of ``node`` (a query or predicate); same object if flat."""
    return bottom_up(node, _flatten)


def _flatten(node: ir.Node) -> ir.Node:
    if not isinstance(node, ir.And | ir.Or):
        return node
    kind = type(node)
    children: list[ir.Predicate] = []
    seen: set[ir.Predicate] = set()  # (a set: long id lists stay linear)
    for child in node.children:
        for part in child.children if isinstance(child, kind) else (child,):
            if part not in seen:
                seen.add(part)
                children.append(part)
    if len(children) == 1:
        return children[0]
    if tuple(children) == node.children:
        return node
    return kind(tuple(children))
