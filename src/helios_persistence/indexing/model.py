"""What the indexer knows about the FHIR R4 type system.

The element types come from the R4 model that fhirpathpy ships (``fhirpathpy.models['r4']``:
``path2Type``, ``choiceTypePaths``, ``pathsDefinedElsewhere``, ``type2Parent``), so the fast
path and fhirpathpy agree on what ``Observation.value`` or ``Patient.name`` is.

A *type key* names where child elements are looked up: a data type (``HumanName``), a resource
type (``Observation``) or, for a backbone element, its full path (``Observation.component``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

__all__ = [
    "PRIMITIVES",
    "Child",
    "children",
    "element_path",
    "is_resource_type",
    "is_subtype",
    "model",
    "normalise_type_name",
    "resource_types",
]

#: FHIR primitive type names (the JSON value is a string, number or boolean)
PRIMITIVES = frozenset(
    {
        "base64Binary",
        "boolean",
        "canonical",
        "code",
        "date",
        "dateTime",
        "decimal",
        "id",
        "instant",
        "integer",
        "markdown",
        "oid",
        "positiveInt",
        "string",
        "time",
        "unsignedInt",
        "uri",
        "url",
        "uuid",
        "xhtml",
    }
)

_SYSTEM_TYPES = {
    "System.String": "string",
    "System.Boolean": "boolean",
    "System.Integer": "integer",
    "System.Decimal": "decimal",
    "System.Date": "date",
    "System.DateTime": "dateTime",
    "System.Time": "time",
}


@cache
def model() -> dict[str, Any]:
    """fhirpathpy's R4 model (also what fhirpathpy itself evaluates with)."""
    from fhirpathpy.models import models

    return models["r4"]


@cache
def _backbones() -> frozenset[str]:
    paths: set[str] = set()
    for path in model()["path2Type"]:
        parts = path.split(".")
        for i in range(2, len(parts)):
            paths.add(".".join(parts[:i]))
    return frozenset(paths)


@cache
def resource_types() -> frozenset[str]:
    """Every R4 resource type name."""
    parents = model()["type2Parent"]
    found = set()
    for name in parents:
        current = name
        while current in parents:
            current = parents[current]
            if current == "Resource" and name not in ("DomainResource",):
                found.add(name)
                break
    return frozenset(found)


def is_resource_type(name: str) -> bool:
    return name in resource_types()


def _ancestors(name: str) -> list[str]:
    parents = model()["type2Parent"]
    out = []
    while name in parents:
        name = parents[name]
        out.append(name)
    return out


def is_subtype(name: str, of: str) -> bool:
    """``name`` is ``of`` or derives from it (``Age`` is a ``Quantity``)."""
    return name == of or of in _ancestors(name)


def normalise_type_name(name: str) -> str:
    """A type specifier as written (``Quantity``, ``dateTime``, ``FHIR.string``, ``DateTime``).

    System types (``System.DateTime``, or a capitalised primitive such as ``DateTime`` that names
    no FHIR type) are read as the FHIR primitive they correspond to: R4's own
    ``Observation-code-value-date`` component says ``value.ofType(DateTime)``.
    """
    if name.startswith("FHIR."):
        name = name[5:]
    if name in _SYSTEM_TYPES:
        return _SYSTEM_TYPES[name]
    if name.startswith("System."):
        name = name[7:]
    if name in model()["type2Parent"] or name in PRIMITIVES:
        return name
    lowered = name[:1].lower() + name[1:]
    if lowered in PRIMITIVES:
        return lowered
    return name


@dataclass(frozen=True, slots=True)
class Child:
    """One way a child element can appear in JSON: its key, its type and its type key."""

    key: str
    type: str
    type_key: str | None


def _type_key(type_name: str, path: str) -> str | None:
    if type_name in PRIMITIVES:
        return None
    if type_name in ("BackboneElement", "Element"):
        return path
    return type_name


def _lookup(type_key: str, name: str) -> tuple[str, str | None] | None:
    """``(path, type)`` of ``type_key.name``; type None for choice elements."""
    m = model()
    candidates = [type_key]
    candidates += _ancestors(type_key.split(".")[0]) if "." not in type_key else []
    for base in [*candidates, "BackboneElement", "Element"]:
        path = f"{base}.{name}"
        path = m["pathsDefinedElsewhere"].get(path, path)
        if path in m["path2Type"]:
            return path, m["path2Type"][path]
        if path in m["choiceTypePaths"]:
            return path, None
        if path in _backbones():
            return path, "BackboneElement"
    return None


def element_path(type_key: str, name: str) -> str | None:
    """The model path that defines ``type_key.name`` (``HumanName.given``,
    ``DomainResource.extension``), or None when the model has no such element."""
    found = _lookup(type_key, name)
    return None if found is None else found[0]


@cache
def children(type_key: str, name: str) -> tuple[Child, ...] | None:
    """The JSON keys and types that ``name`` of ``type_key`` can appear as; None if unknown.

    A choice element (``value[x]``) gives one :class:`Child` per allowed type, in the order of
    the model.
    """
    found = _lookup(type_key, name)
    if found is None:
        return None
    path, type_name = found
    m = model()
    if type_name is None:
        out = []
        for suffix in m["choiceTypePaths"][path]:
            key = f"{name}{suffix}"
            concrete = m["path2Type"].get(f"{path}{suffix}") or normalise_type_name(suffix)
            concrete = _SYSTEM_TYPES.get(concrete, concrete)
            out.append(Child(key, concrete, _type_key(concrete, f"{path}{suffix}")))
        return tuple(out)
    type_name = _SYSTEM_TYPES.get(type_name, type_name)
    return (Child(name, type_name, _type_key(type_name, path)),)
