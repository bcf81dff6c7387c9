"""``bottom_up``: apply a node rewrite to every node of an IR tree, children first.

Identity is kept: a subtree the rewrite does not change is the same object afterwards, and so
is the whole tree when nothing changed (passes return their input when they have nothing to
do, so callers can tell with ``is``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields, replace
from typing import Any

from helios_persistence import ir

__all__ = ["bottom_up"]


#: each node class's field names (``dataclasses.fields`` is slow on hot walks)
_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in fields(cls))
    return names


def bottom_up(node: Any, rewrite: Callable[[ir.Node], ir.Node]) -> Any:
    """``node`` with ``rewrite`` applied to each of its nodes, children first."""
    if isinstance(node, tuple):
        items = tuple(bottom_up(v, rewrite) for v in node)
        return node if all(a is b for a, b in zip(items, node, strict=True)) else items
    if not isinstance(node, ir.Node):
        return node
    changes = {}
    for name in _field_names(type(node)):
        value = getattr(node, name)
        if isinstance(value, ir.Node | tuple):
            new = bottom_up(value, rewrite)
            if new is not value:
                changes[name] = new
    rebuilt = replace(node, **changes) if changes else node
    return rewrite(rebuilt)
