"""The R4 element model the library needs at run time: summary, mandatory and repeating
elements of every resource type, data type and backbone element.

It reads ``data/r4-elements.json``, derived from the R4 StructureDefinitions by
:mod:`helios_persistence.model.derive` (``scripts/derive-r4-elements``). A *type path* is a
type name (``Patient``, ``HumanName``) or a backbone element's path (``Patient.contact``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources

__all__ = ["Element", "element", "element_for_key", "elements", "is_complex", "is_repeating"]


@dataclass(frozen=True, slots=True)
class Element:
    """One element definition (``name`` without ``[x]``)."""

    name: str
    summary: bool
    mandatory: bool
    modifier: bool
    repeating: bool
    choice: bool
    #: type codes; empty for a backbone element or a content reference
    types: tuple[str, ...]
    #: the type path of the element's children when it is a backbone element (or refers to one)
    backbone: str | None

    def type_path(self, key: str) -> str | None:
        """Where the children of the value under JSON ``key`` are defined, if complex."""
        if self.backbone is not None:
            return self.backbone
        if self.choice:
            suffix = key[len(self.name) :]
            code = next((t for t in self.types if t[:1].upper() + t[1:] == suffix), None)
        else:
            code = self.types[0] if len(self.types) == 1 else None
        return code if code is not None and is_complex(code) else None


def _parse(parent: str, name: str, spec: str) -> Element:
    flags, _, types = spec.partition(":")
    choice = name.endswith("[x]")
    backbone = None
    if types == ".":
        backbone = f"{parent}.{name}"
    elif types.startswith("#"):
        backbone = types[1:]
    return Element(
        name=name[:-3] if choice else name,
        summary="s" in flags,
        mandatory="m" in flags,
        modifier="!" in flags,
        repeating="*" in flags,
        choice=choice,
        types=() if backbone else tuple(types.split(",")),
        backbone=backbone,
    )


@cache
def _table() -> dict[str, dict[str, Element]]:
    raw = json.loads(
        resources.files("helios_persistence.model").joinpath("data/r4-elements.json").read_text()
    )
    return {
        path: {e.name: e for e in (_parse(path, n, s) for n, s in children.items())}
        for path, children in raw.items()
    }


def elements(type_path: str) -> dict[str, Element]:
    """The child elements of ``type_path`` by name (empty for unknown or primitive types)."""
    return _table().get(type_path, {})


def element(type_path: str, name: str) -> Element | None:
    """The element ``name`` (no ``[x]``) of ``type_path``."""
    return _table().get(type_path, {}).get(name)


@cache
def _choice_keys(type_path: str) -> dict[str, Element]:
    out: dict[str, Element] = {}
    for e in elements(type_path).values():
        if e.choice:
            for code in e.types:
                out[e.name + code[:1].upper() + code[1:]] = e
    return out


def element_for_key(type_path: str, key: str) -> Element | None:
    """The element a JSON property holds (``valueQuantity`` → ``value[x]``; a primitive's
    ``_birthDate`` → ``birthDate``); None for a key the type does not define."""
    key = key[1:] if key.startswith("_") else key
    found = elements(type_path).get(key)
    if found is not None and not found.choice:
        return found
    return _choice_keys(type_path).get(key)


def is_repeating(type_path: str | None, name: str) -> bool:
    """Whether element ``name`` of ``type_path`` may repeat (``max = "*"``)."""
    found = element_for_key(type_path, name) if type_path else None
    return found is not None and found.repeating


def is_complex(code: str) -> bool:
    """Whether type ``code`` is a complex data type or a resource type (it has elements)."""
    return code[:1].isupper() and code in _table()
