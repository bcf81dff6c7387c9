"""Derive the packaged element table from the R4 StructureDefinitions.

The table (``model/data/r4-elements.json``) holds, for every resource type, data type and
backbone element of FHIR R4, its child elements with the flags the library needs:
``s`` summary (``isSummary``), ``m`` mandatory (``min > 0``), ``!`` modifier, ``*`` repeating
(``max = "*"``), then ``:`` and the element's types (``,``-separated codes), ``.`` for a
backbone element defined inline (its children sit under ``<path>.<name>``) or ``#<path>``
for a ``contentReference``. Choice elements keep their ``[x]`` name.

Run ``scripts/derive-r4-elements`` after changing this module; a test checks that the
committed table is what this module derives from ``../shared/data/fhir-r4``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["derive", "write"]


def _types(element: dict[str, Any]) -> str:
    if "contentReference" in element:
        return str(element["contentReference"])
    codes = [t["code"] for t in element.get("type") or ()]
    if codes in (["BackboneElement"], ["Element"]):
        return "."
    return ",".join("string" if c.startswith("http://hl7.org/fhirpath/") else c for c in codes)


def _flags(element: dict[str, Any]) -> str:
    flags = "s" if element.get("isSummary") else ""
    flags += "m" if (element.get("min") or 0) > 0 else ""
    flags += "!" if element.get("isModifier") else ""
    flags += "*" if element.get("max") == "*" else ""
    return flags


def derive(*bundles: dict[str, Any]) -> dict[str, dict[str, str]]:
    """``{type or backbone path: {element name: "flags:types"}}`` from StructureDefinition
    Bundles (``profiles-resources.json``, ``profiles-types.json``). Only base definitions
    (``derivation`` is not ``constraint``) and official elements (they carry ``isSummary``)."""
    table: dict[str, dict[str, str]] = {}
    for bundle in bundles:
        for entry in bundle.get("entry") or ():
            sd = entry.get("resource") or {}
            if sd.get("resourceType") != "StructureDefinition":
                continue
            if sd.get("derivation") == "constraint" or sd.get("kind") == "logical":
                continue
            root = sd["type"]
            table.setdefault(root, {})
            for element in sd["snapshot"]["element"]:
                path: str = element["path"]
                if "." not in path or "isSummary" not in element:
                    continue
                parent, _, name = path.rpartition(".")
                table.setdefault(parent, {})[name] = f"{_flags(element)}:{_types(element)}"
    return dict(sorted(table.items()))


def write(resources: Path, types: Path, out: Path) -> None:
    """Derive from the two Bundles at ``resources`` and ``types``; write the table to ``out``."""
    bundles = [json.loads(p.read_text(encoding="utf-8")) for p in (resources, types)]
    text = json.dumps(derive(*bundles), separators=(",", ":"), sort_keys=False)
    out.write_text(text + "\n", encoding="utf-8")
