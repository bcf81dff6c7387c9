"""The SearchParameter registry: every R4 search parameter, by resource type and code.

Loaded once from the official R4 definitions shipped in ``registry/data/``. Parameters whose
base is ``Resource`` or ``DomainResource`` apply to every resource type.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from functools import cache
from importlib import resources
from typing import Any

from helios_persistence.registry.params import Component, ParamType, SearchParam, split_union

__all__ = ["Component", "ParamType", "Registry", "SearchParam", "default_registry"]

_ALL_TYPES = ("Resource", "DomainResource")


def _restrict(expression: str | None, resource_type: str, bases: list[str]) -> str | None:
    """Keep the parts of a union expression that apply to ``resource_type``."""
    if expression is None:
        return None
    if any(b in _ALL_TYPES for b in bases):
        return re.sub(r"^(Resource|DomainResource)\.", f"{resource_type}.", expression)
    if len(bases) == 1:
        return expression
    parts = [
        p
        for p in split_union(expression)
        if re.match(rf"\(?{re.escape(resource_type)}\b", p)
    ]
    return " | ".join(parts) if parts else None


class Registry:
    """Search parameters by ``(resource_type, code)``; copy-on-write friendly and cheap to query."""

    def __init__(self, definitions: Iterable[dict[str, Any]] = ()) -> None:
        self._by_type: dict[str, dict[str, SearchParam]] = {}
        self._common: dict[str, dict[str, Any]] = {}
        self._by_url: dict[str, dict[str, Any]] = {}
        self.resource_types: set[str] = set()
        for definition in definitions:
            self.register(definition)

    # -- building ---------------------------------------------------------------------------
    def register(self, definition: dict[str, Any]) -> None:
        """Add (or replace) a SearchParameter resource's definition."""
        bases = list(definition.get("base") or [])
        self._by_url[definition["url"]] = definition
        for base in bases:
            if base in _ALL_TYPES:
                self._common[definition["code"]] = definition
                for per_type in self._by_type.values():
                    per_type.pop(definition["code"], None)
            else:
                self.resource_types.add(base)
                self._by_type.setdefault(base, {})[definition["code"]] = self._bind(definition, base)

    def unregister(self, url: str) -> None:
        """Remove the parameter defined at ``url`` (a deleted custom SearchParameter)."""
        definition = self._by_url.pop(url, None)
        if definition is None:
            return
        for base in definition.get("base") or []:
            if base in _ALL_TYPES:
                self._common.pop(definition["code"], None)
                for per_type in self._by_type.values():
                    per_type.pop(definition["code"], None)
            else:
                current = self._by_type.get(base, {}).get(definition["code"])
                if current is not None and current.url == url:
                    del self._by_type[base][definition["code"]]

    @staticmethod
    def _bind(definition: dict[str, Any], resource_type: str) -> SearchParam:
        bases = list(definition.get("base") or [])
        return SearchParam(
            code=definition["code"],
            type=ParamType(definition["type"]),
            resource_type=resource_type,
            expression=_restrict(definition.get("expression"), resource_type, bases),
            url=definition["url"],
            targets=tuple(definition.get("target") or ()),
            components=tuple(
                Component(c["definition"], c["expression"]) for c in definition.get("component", ())
            ),
            description=definition.get("description", ""),
        )

    # -- querying ---------------------------------------------------------------------------
    def get(self, resource_type: str, code: str) -> SearchParam | None:
        """The parameter ``code`` of ``resource_type``, or None."""
        found = self._by_type.get(resource_type, {}).get(code)
        if found is not None:
            return found
        common = self._common.get(code)
        if common is None:
            return None
        bound = self._bind(common, resource_type)
        self._by_type.setdefault(resource_type, {})[code] = bound
        return bound

    def params_for(self, resource_type: str) -> list[SearchParam]:
        """Every parameter that applies to ``resource_type`` (common ones included)."""
        for code in self._common:
            self.get(resource_type, code)
        return sorted(self._by_type.get(resource_type, {}).values(), key=lambda p: p.code)

    def by_url(self, url: str) -> dict[str, Any] | None:
        """The raw definition registered at ``url``."""
        return self._by_url.get(url)

    def component_param(self, resource_type: str, component: Component) -> SearchParam | None:
        """The parameter a composite component's ``definition`` points at."""
        definition = self._by_url.get(component.definition)
        if definition is None:
            return None
        return self._bind(definition, resource_type)

    def __iter__(self) -> Iterator[SearchParam]:
        for resource_type in sorted(self.resource_types):
            yield from self.params_for(resource_type)

    def copy(self) -> Registry:
        """An independent registry with the same definitions (for custom parameters)."""
        return Registry(self._by_url.values())


@cache
def default_registry() -> Registry:
    """The official R4 (4.0.1) search parameters: 1,377 definitions."""
    text = resources.files("helios_persistence.registry").joinpath("data/search-parameters.json")
    bundle = json.loads(text.read_text(encoding="utf-8"))
    return Registry(entry["resource"] for entry in bundle["entry"])
