"""The query IR: nodes, shapes and the canonical renderer."""

from __future__ import annotations

from helios_persistence.ir.nodes import *  # noqa: F403
from helios_persistence.ir.nodes import __all__ as _nodes_all
from helios_persistence.ir.shape import ValueIndex, shape_key, values

__all__ = [*_nodes_all, "ValueIndex", "shape_key", "values"]
