"""``relativize_references``: absolute references to this server become ``Type/id``.

A search value ``http://server/fhir/Patient/1`` names the same resource as ``Patient/1`` when
``http://server/fhir`` is the store's base URL (R4 search, "reference"); the index stores
local references as type and id, so the rewrite lets them match.
"""

from __future__ import annotations

from dataclasses import fields, replace
from typing import Any

from helios_persistence import ir

__all__ = ["relativize_references"]


def relativize_references(node: Any, base_url: str | None) -> Any:
    """Rewrite ``ReferenceMatch(url=<base>/Type/id)`` to type/id; same object if unchanged."""
    if not base_url:
        return node
    base = base_url.rstrip("/") + "/"
    return _rewrite(node, base)


def _rewrite(node: Any, base: str) -> Any:
    if isinstance(node, ir.ReferenceMatch):
        if node.op is ir.ReferenceOp.EQ and node.url and node.url.startswith(base):
            parts = node.url[len(base) :].split("/")
            version = node.version
            if len(parts) == 4 and parts[2] == "_history":
                parts, version = parts[:2], parts[3]
            if len(parts) == 2 and all(parts):
                return replace(node, target_type=parts[0], id=parts[1], url=None, version=version)
        return node
    if isinstance(node, ir.Node):
        changes = {}
        for f in fields(node):
            value = getattr(node, f.name)
            new = _rewrite(value, base)
            if new is not value:
                changes[f.name] = new
        return replace(node, **changes) if changes else node
    if isinstance(node, tuple):
        items = tuple(_rewrite(v, base) for v in node)
        return node if all(a is b for a, b in zip(items, node, strict=True)) else items
    return node
