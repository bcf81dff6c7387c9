"""The SearchParameter registry: every R4 search parameter, by resource type and code.

Loaded once from the official R4 definitions shipped in ``registry/data/``. Parameters whose
base is ``Resource`` or ``DomainResource`` apply to every resource type; a parameter defined
for the type itself wins over a common one with the same code. The Patient compartment
(``compartmentdefinition-patient.json``) says which parameters link a resource to a patient.

Custom parameters: :meth:`Registry.from_search_parameter` validates a SearchParameter resource
(``InvalidResource`` if it cannot be used) and registers it while it is ``active``; a stored
update replaces it, a delete is :meth:`Registry.unregister`. Everything derived from the
definitions (compiled extraction plans) is cached per registry and dropped on every change.
"""

from __future__ import annotations

import copy as _copy
import json
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from functools import cache
from importlib import resources
from typing import Any, TypeVar

from helios_persistence.registry.params import Component, ParamType, SearchParam, split_union

__all__ = ["Component", "ParamType", "Registry", "SearchParam", "default_registry"]

_ALL_TYPES = ("Resource", "DomainResource")
T = TypeVar("T")


def _restrict(expression: str | None, resource_type: str, bases: list[str]) -> str | None:
    """Keep the parts of a union expression that apply to ``resource_type``."""
    if expression is None:
        return None
    if any(b in _ALL_TYPES for b in bases):
        return re.sub(r"^(Resource|DomainResource)\.", f"{resource_type}.", expression)
    if len(bases) == 1:
        return expression
    parts = [p for p in split_union(expression) if re.match(rf"\(?{re.escape(resource_type)}\b", p)]
    return " | ".join(parts) if parts else None


class Registry:
    """Search parameters by ``(resource_type, code)``; copy-on-write friendly and cheap to query."""

    def __init__(
        self,
        definitions: Iterable[dict[str, Any]] = (),
        *,
        compartments: dict[str, dict[str, tuple[str, ...]]] | None = None,
    ) -> None:
        #: type-specific parameters, by type and code
        self._by_type: dict[str, dict[str, SearchParam]] = {}
        #: Resource/DomainResource definitions by code, and their per-type bindings
        self._common: dict[str, dict[str, Any]] = {}
        self._bound: dict[tuple[str, str], SearchParam] = {}
        self._by_url: dict[str, dict[str, Any]] = {}
        self._derived: dict[Any, Any] = {}
        self._lock = threading.RLock()
        self.resource_types: set[str] = set()
        #: compartment type → resource type → parameter codes linking to the compartment
        self.compartments: dict[str, dict[str, tuple[str, ...]]] = dict(compartments or {})
        for definition in definitions:
            self.register(definition)

    # -- building ---------------------------------------------------------------------------
    def register(self, definition: dict[str, Any]) -> None:
        """Add (or replace) a SearchParameter resource's definition."""
        with self._lock:
            bases = list(definition.get("base") or [])
            previous = self._by_url.get(definition["url"])
            if previous is not None and previous is not definition:
                self.unregister(definition["url"])
            self._by_url[definition["url"]] = definition
            for base in bases:
                if base in _ALL_TYPES:
                    self._common[definition["code"]] = definition
                    for key in [k for k in self._bound if k[1] == definition["code"]]:
                        del self._bound[key]
                else:
                    self.resource_types.add(base)
                    bound = self._bind(definition, base)
                    self._by_type.setdefault(base, {})[definition["code"]] = bound
            self._derived.clear()

    def unregister(self, url: str) -> None:
        """Remove the parameter defined at ``url`` (a deleted custom SearchParameter)."""
        with self._lock:
            definition = self._by_url.pop(url, None)
            if definition is None:
                return
            for base in definition.get("base") or []:
                if base in _ALL_TYPES:
                    current = self._common.get(definition["code"])
                    if current is not None and current["url"] == url:
                        del self._common[definition["code"]]
                    for key in [k for k in self._bound if k[1] == definition["code"]]:
                        del self._bound[key]
                else:
                    found = self._by_type.get(base, {}).get(definition["code"])
                    if found is not None and found.url == url:
                        del self._by_type[base][definition["code"]]
            self._derived.clear()

    def from_search_parameter(self, resource: dict[str, Any]) -> tuple[SearchParam, ...]:
        """Validate a SearchParameter resource and apply it to this registry.

        ``active`` → registered (replacing an earlier definition at the same url), returning
        the parameter bound to each base type; any other status → removed, returning ``()``.
        Raises :class:`~helios_persistence.errors.InvalidResource` when the resource is not a
        usable search parameter (see :func:`~helios_persistence.registry.validate.validate`).
        """
        from helios_persistence.registry.validate import validate

        definition = validate(resource, self)
        if definition.get("status") != "active":
            self.unregister(definition["url"])
            return ()
        self.register(definition)
        out = []
        for base in definition["base"]:
            if base in _ALL_TYPES:
                continue
            found = self.get(base, definition["code"])
            if found is not None:
                out.append(found)
        return tuple(out)

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
        key = (resource_type, code)
        bound = self._bound.get(key)
        if bound is not None:
            return bound
        common = self._common.get(code)
        if common is None:
            return None
        bound = self._bind(common, resource_type)
        self._bound[key] = bound
        return bound

    def params_for(self, resource_type: str) -> list[SearchParam]:
        """Every parameter that applies to ``resource_type`` (common ones included)."""
        codes = set(self._common) | set(self._by_type.get(resource_type, {}))
        found = (self.get(resource_type, code) for code in codes)
        return sorted((p for p in found if p is not None), key=lambda p: p.code)

    def by_url(self, url: str) -> dict[str, Any] | None:
        """The raw definition registered at ``url``."""
        return self._by_url.get(url)

    def component_param(self, resource_type: str, component: Component) -> SearchParam | None:
        """The parameter a composite component's ``definition`` points at (cached)."""

        def bind() -> SearchParam | None:
            definition = self._by_url.get(component.definition)
            return None if definition is None else self._bind(definition, resource_type)

        return self.derived(("component", resource_type, component.definition), bind)

    def compartment_params(
        self, resource_type: str, compartment: str = "Patient"
    ) -> tuple[str, ...]:
        """The parameters of ``resource_type`` that put it in a ``compartment`` (R4
        CompartmentDefinition); ``()`` when the type is never in that compartment."""
        return self.compartments.get(compartment, {}).get(resource_type, ())

    def derived(self, key: Any, factory: Callable[[], T]) -> T:
        """A value computed from the current definitions, cached until they change."""
        try:
            return self._derived[key]  # type: ignore[no-any-return]
        except KeyError:
            pass
        with self._lock:
            if key not in self._derived:
                self._derived[key] = factory()
            return self._derived[key]  # type: ignore[no-any-return]

    def __iter__(self) -> Iterator[SearchParam]:
        for resource_type in sorted(self.resource_types):
            yield from self.params_for(resource_type)

    def copy(self) -> Registry:
        """An independent registry with the same definitions (for custom parameters)."""
        return Registry(self._by_url.values(), compartments=self.compartments)


def _load(name: str) -> Any:
    text = resources.files("helios_persistence.registry").joinpath(f"data/{name}")
    return json.loads(text.read_text(encoding="utf-8"))


#: Known errors in the R4 (4.0.1) definitions, corrected at load time:
#: * DocumentReference-relationship: the two component expressions are swapped (``relatesto``,
#:   a reference, is given ``code``; ``relation``, a token, ``target``), fixed as in R5.
#: * Observation-code-value-date: ``value.ofType(DateTime)`` names the System type, which no
#:   FHIR element has; ``dateTime`` is meant.
_ERRATA: dict[str, Callable[[dict[str, Any]], None]] = {
    "http://hl7.org/fhir/SearchParameter/DocumentReference-relationship": lambda d: d.update(
        component=[
            {**d["component"][0], "expression": "target"},
            {**d["component"][1], "expression": "code"},
        ]
    ),
    "http://hl7.org/fhir/SearchParameter/Observation-code-value-date": lambda d: d.update(
        component=[
            d["component"][0],
            {**d["component"][1], "expression": "value.ofType(dateTime) | value.ofType(Period)"},
        ]
    ),
}


def _patient_compartment() -> dict[str, tuple[str, ...]]:
    definition = _load("compartmentdefinition-patient.json")
    return {
        entry["code"]: tuple(entry.get("param") or ())
        for entry in definition.get("resource", ())
        if entry.get("param")
    }


@cache
def default_registry() -> Registry:
    """The official R4 (4.0.1) search parameters: 1,377 definitions."""
    definitions = []
    for entry in _load("search-parameters.json")["entry"]:
        definition = entry["resource"]
        fix = _ERRATA.get(definition["url"])
        if fix is not None:
            definition = _copy.deepcopy(definition)
            fix(definition)
        definitions.append(definition)
    return Registry(definitions, compartments={"Patient": _patient_compartment()})
