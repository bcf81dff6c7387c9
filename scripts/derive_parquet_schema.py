"""Derive the compact element schema the Parquet layout is built from.

Reads the R4 StructureDefinitions (``profiles-types.json``, ``profiles-resources.json``) and
writes ``src/helios_persistence/dialects/duckdb/elements.json``: per type (and per backbone
element, keyed by its path) the list of ``[name, [type codes], repeats]``; a backbone element
or ``contentReference`` points at its path instead of a type code. Run it again when the
definitions change::

    python scripts/derive_parquet_schema.py ../shared/data/fhir-r4
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

OUT = Path(__file__).parent.parent / "src/helios_persistence/dialects/duckdb/elements.json"
SYSTEM = "http://hl7.org/fhirpath/System."
#: R4's own Meta elements (the redistributed definitions add server-specific ones)
R4_META = {"id", "extension", "versionId", "lastUpdated", "source", "profile", "security", "tag"}


def _code(t: dict) -> str:
    code = t["code"]
    if code.startswith(SYSTEM):  # Element.id, Extension.url, Resource.id: plain strings
        return "string"
    return code


def derive(folder: Path) -> dict:
    primitives: list[str] = []
    types: dict[str, list] = {}
    resources: list[str] = []
    for name in ("profiles-types.json", "profiles-resources.json"):
        bundle = json.loads((folder / name).read_text())
        for entry in bundle["entry"]:
            sd = entry["resource"]
            if sd.get("resourceType") != "StructureDefinition":
                continue
            if sd.get("derivation") == "constraint":
                continue
            if sd["kind"] == "primitive-type":
                primitives.append(sd["type"])
                continue
            if sd["kind"] == "logical":
                continue
            if sd["kind"] == "resource" and not sd.get("abstract"):
                resources.append(sd["type"])
            elements = sd["snapshot"]["element"]
            children: dict[str, list] = {}
            for el in elements:
                path = el["path"]
                if "." not in path:
                    continue
                parent, name_ = path.rsplit(".", 1)
                if el.get("max") == "0" or (parent == "Meta" and name_ not in R4_META):
                    continue
                many = el.get("max") != "1"
                if "contentReference" in el:
                    entry_ = [name_, ["#" + el["contentReference"].split("#", 1)[1]], many]
                else:
                    codes = [_code(t) for t in el.get("type", [])]
                    if codes in (["BackboneElement"], ["Element"]) and any(
                        e["path"].startswith(path + ".") for e in elements
                    ):
                        codes = ["#" + path]
                    entry_ = [name_, codes, many]
                children.setdefault(parent, []).append(entry_)
            for path, members in children.items():
                types[path] = members
    return {
        "fhirVersion": "4.0.1",
        "primitives": sorted(primitives),
        "resources": sorted(resources),
        "types": dict(sorted(types.items())),
    }


if __name__ == "__main__":
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/fhir-r4")
    OUT.write_text(json.dumps(derive(folder), separators=(",", ":")) + "\n")
    print(f"wrote {OUT} ({OUT.stat().st_size:,} bytes)")
