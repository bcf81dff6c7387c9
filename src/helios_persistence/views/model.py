"""What the lowering needs to know about FHIR R4 elements: their JSON keys, types, cardinality.

Types and choice elements come from the indexer's model
(:mod:`helios_persistence.indexing.model`, fhirpathpy's R4 model). Cardinality is not in that
model, so the package ships ``data/r4-repeating-elements.json``: every element path whose
``max`` is not 1 in the R4 StructureDefinitions (built by :func:`repeating_paths` from
``profiles-resources.json`` and ``profiles-types.json``; a test checks it is current). A step
into an element known to be single is a plain JSON access; a repeating or unknown one is
walked as a collection.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

from helios_persistence.indexing import model as m

__all__ = ["Step", "is_boolean_type", "repeating_paths", "resolve", "type_key_of"]

_NUMBERS = frozenset({"integer", "decimal", "positiveInt", "unsignedInt", "integer64"})


@dataclass(frozen=True, slots=True)
class Step:
    """One JSON key a FHIRPath member can be found under."""

    key: str
    type: str | None
    type_key: str | None
    #: True: the JSON value is an array; False: a single value; None: unknown (checked at run time)
    many: bool | None


@cache
def _repeating() -> frozenset[str]:
    text = (
        resources.files("helios_persistence.views")
        .joinpath("data/r4-repeating-elements.json")
        .read_text(encoding="utf-8")
    )
    return frozenset(json.loads(text))


def repeating_paths(profiles: list[Path]) -> list[str]:
    """Element paths with ``max`` other than 1 in these StructureDefinition Bundles."""
    found: set[str] = set()
    for path in profiles:
        bundle = json.loads(path.read_text(encoding="utf-8"))
        for entry in bundle.get("entry", ()):
            definition = entry.get("resource", {})
            if definition.get("resourceType") != "StructureDefinition":
                continue
            for element in definition.get("snapshot", {}).get("element", ()):
                element_path = element["path"].removesuffix("[x]")
                if "." in element_path and element.get("max") not in ("1", "0"):
                    found.add(element_path)
    return sorted(found)


def type_key_of(type_name: str, path: str | None = None) -> str | None:
    """Where the children of a value of ``type_name`` are looked up."""
    if type_name in m.PRIMITIVES:
        return None
    if type_name in ("BackboneElement", "Element") and path:
        return path
    return type_name


def resolve(type_key: str | None, name: str, choice: str | None = None) -> list[Step]:
    """The keys ``name`` can appear under in a value whose type key is ``type_key``.

    ``choice`` picks one type of a choice element (``value.ofType(Quantity)``). Unknown
    elements (no type key, or not in the model) are one key with unknown type and cardinality.
    """
    if type_key is None:
        key = name + _suffix(choice) if choice else name
        return [Step(key, m.normalise_type_name(choice) if choice else None, None, None)]
    found = m.element_path(type_key, name)
    children = m.children(type_key, name)
    if found is None or children is None:
        key = name + _suffix(choice) if choice else name
        return [Step(key, m.normalise_type_name(choice) if choice else None, None, None)]
    many = found in _repeating()
    steps = [Step(c.key, c.type, c.type_key, many) for c in children]
    if choice is not None:
        wanted = m.normalise_type_name(choice)
        steps = [s for s in steps if s.type == wanted or (s.type and m.is_subtype(s.type, wanted))]
        if not steps:  # not an allowed type of this choice: still read the key it would use
            return [Step(name + _suffix(choice), wanted, type_key_of(wanted), many)]
    return steps


def _suffix(type_name: str) -> str:
    name = m.normalise_type_name(type_name)
    return name[:1].upper() + name[1:]


def is_boolean_type(type_name: str | None) -> bool:
    return type_name == "boolean"


def is_number_type(type_name: str | None) -> bool:
    return type_name in _NUMBERS
