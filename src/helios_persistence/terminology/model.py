"""A CodeSystem as a graph of concepts: codes, displays, properties and the is-a hierarchy.

The hierarchy comes from nested ``concept`` trees and from the standard concept properties
``parent`` and ``subsumedBy`` (the value is a parent) and ``child`` (the value is a child), so
CodeSystems that list their concepts flat with properties and those that nest them give the
same graph. :meth:`CodeSystemModel.closure` is every (ancestor, descendant) pair, itself
included (subsumption is reflexive), with the shortest distance between them.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

__all__ = ["CodeSystemModel", "Concept", "property_value"]

#: concept properties naming a parent / a child of the concept that carries them
PARENT_PROPERTIES = frozenset({"parent", "subsumedBy"})
CHILD_PROPERTIES = frozenset({"child"})


def property_value(prop: dict[str, Any]) -> str | None:
    """A concept property's value as text (``valueCode``, ``valueCoding.code``, ...)."""
    for key, value in prop.items():
        if not key.startswith("value"):
            continue
        if isinstance(value, dict):
            code = value.get("code")
            return code if isinstance(code, str) else None
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)
    return None


@dataclass(frozen=True, slots=True)
class Concept:
    """One concept: its code, display, definition and ``(property code, value)`` pairs."""

    code: str
    display: str | None = None
    definition: str | None = None
    properties: tuple[tuple[str, str], ...] = ()
    designations: tuple[dict[str, Any], ...] = ()


@dataclass(slots=True)
class CodeSystemModel:
    """The concepts of one CodeSystem resource and their is-a graph."""

    url: str
    version: str | None
    content: str
    name: str | None = None
    concepts: dict[str, Concept] = field(default_factory=dict)
    parents: dict[str, set[str]] = field(default_factory=dict)
    children: dict[str, set[str]] = field(default_factory=dict)

    @classmethod
    def from_resource(cls, resource: dict[str, Any]) -> CodeSystemModel:
        """Read a CodeSystem resource (a missing ``url`` gives ``""``)."""
        model = cls(
            url=str(resource.get("url") or ""),
            version=resource.get("version"),
            content=str(resource.get("content") or "complete"),
            name=resource.get("name") or resource.get("title"),
        )
        links: list[tuple[str, str]] = []
        stack: list[tuple[dict[str, Any], str | None]] = [
            (c, None) for c in resource.get("concept") or () if isinstance(c, dict)
        ]
        while stack:
            raw, parent = stack.pop()
            code = raw.get("code")
            if not isinstance(code, str) or not code:
                continue
            props: list[tuple[str, str]] = []
            for prop in raw.get("property") or ():
                if not isinstance(prop, dict) or not isinstance(prop.get("code"), str):
                    continue
                value = property_value(prop)
                if value is None:
                    continue
                props.append((prop["code"], value))
                if prop["code"] in PARENT_PROPERTIES:
                    links.append((value, code))
                elif prop["code"] in CHILD_PROPERTIES:
                    links.append((code, value))
            if code not in model.concepts:
                model.concepts[code] = Concept(
                    code,
                    raw.get("display"),
                    raw.get("definition"),
                    tuple(props),
                    tuple(d for d in raw.get("designation") or () if isinstance(d, dict)),
                )
            if parent is not None:
                links.append((parent, code))
            stack.extend((c, code) for c in raw.get("concept") or () if isinstance(c, dict))
        for parent, child in links:
            if parent == child or parent not in model.concepts or child not in model.concepts:
                continue
            model.parents.setdefault(child, set()).add(parent)
            model.children.setdefault(parent, set()).add(child)
        return model

    # -- the hierarchy --------------------------------------------------------------------------
    def _walk(self, code: str, edges: dict[str, set[str]]) -> dict[str, int]:
        """``{code: shortest distance}`` reachable from ``code`` (itself at 0)."""
        found = {code: 0}
        queue = deque([code])
        while queue:
            here = queue.popleft()
            for nxt in edges.get(here, ()):
                if nxt not in found:
                    found[nxt] = found[here] + 1
                    queue.append(nxt)
        return found

    def descendants(self, code: str, *, inclusive: bool = True) -> set[str]:
        """Codes subsumed by ``code`` (``code`` itself when ``inclusive`` and it is known)."""
        if code not in self.concepts:
            return set()
        found = set(self._walk(code, self.children))
        if not inclusive:
            found.discard(code)
        return found

    def ancestors(self, code: str, *, inclusive: bool = True) -> set[str]:
        """Codes that subsume ``code``."""
        if code not in self.concepts:
            return set()
        found = set(self._walk(code, self.parents))
        if not inclusive:
            found.discard(code)
        return found

    def closure(self) -> Iterator[tuple[str, str, int]]:
        """Every ``(ancestor, descendant, distance)``, each concept with itself at 0."""
        for code in self.concepts:
            for ancestor, distance in self._walk(code, self.parents).items():
                yield ancestor, code, distance

    def subsumes(self, a: str, b: str) -> bool:
        """Whether ``a`` subsumes ``b`` (reflexive)."""
        return a in self.ancestors(b)
