"""Value-insensitive query shapes (for compiled-query caching) and the canonical value order.

Two queries that differ only in their values have the same :func:`shape_key`; compilers refer
to values by their position in :func:`values` so a cached compilation can be re-bound to a new
query of the same shape without compiling again.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import fields
from typing import Any, cast

from helios_persistence.ir.nodes import Node, Query

__all__ = ["QUERY_VALUE_FIELDS", "ValueIndex", "shape_key", "values"]

#: the Query fields that are values (bound as parameters) rather than shape
QUERY_VALUE_FIELDS = ("count", "offset", "cursor")


#: each node class's field names (``dataclasses.fields`` is slow on hot walks)
_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in fields(cls))
    return names


def _value_fields(node: Node) -> tuple[str, ...]:
    return QUERY_VALUE_FIELDS if isinstance(node, Query) else node.VALUE_FIELDS


def _is_blank(value: Any) -> bool:
    return value is None or value == ""


def shape_key(node: Any) -> Hashable:
    """A hashable key equal for nodes that differ only in value fields.

    Whether a value is absent (None), empty or present is part of the shape, because
    compilers emit different SQL for "any system", "no system" and "this system"."""
    if isinstance(node, Node):
        value_fields = _value_fields(node)
        parts: list[Hashable] = [type(node).__name__]
        for name in _field_names(type(node)):
            value = getattr(node, name)
            if name in value_fields:
                parts.append(repr(value) if _is_blank(value) else "?")
            else:
                parts.append(shape_key(value))
        return tuple(parts)
    if isinstance(node, tuple):
        return tuple(shape_key(v) for v in node)
    return cast(Hashable, node)  # enums, strings and flags that are part of the shape


def values(node: Any) -> list[Any]:
    """Every present value of ``node``, in canonical (depth-first, field) order."""
    out: list[Any] = []
    _collect(node, out)
    return out


def _collect(node: Any, out: list[Any]) -> None:
    if isinstance(node, Node):
        value_fields = _value_fields(node)
        for name in _field_names(type(node)):
            value = getattr(node, name)
            if name in value_fields:
                if not _is_blank(value):
                    out.append(value)
            else:
                _collect(value, out)
    elif isinstance(node, tuple):
        for v in node:
            _collect(v, out)


class ValueIndex:
    """Finds the canonical index of a node's value field during compilation."""

    def __init__(self, root: Any) -> None:
        self._index: dict[tuple[int, str], int] = {}
        self.values: list[Any] = []
        #: False when one node object occurs twice: positions are then ambiguous
        self.cacheable = True
        self._walk(root)

    def _walk(self, node: Any) -> None:
        if isinstance(node, Node):
            value_fields = _value_fields(node)
            for name in _field_names(type(node)):
                value = getattr(node, name)
                if name in value_fields:
                    if not _is_blank(value):
                        if (id(node), name) in self._index:
                            self.cacheable = False
                        self._index[(id(node), name)] = len(self.values)
                        self.values.append(value)
                else:
                    self._walk(value)
        elif isinstance(node, tuple):
            for v in node:
                self._walk(v)

    def index(self, node: Node, field: str) -> int:
        """The canonical position of ``node.<field>``; KeyError when the value is blank."""
        return self._index[(id(node), field)]
