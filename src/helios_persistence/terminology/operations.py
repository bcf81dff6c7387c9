"""``$expand``, ``$subsumes`` and ``$lookup`` (R4 valueset-operation-expand.html,
codesystem-operation-subsumes.html, codesystem-operation-lookup.html) as library functions.

Each answers in the operation's FHIR output shape: ``$subsumes`` and ``$lookup`` a
``Parameters`` resource; ``$expand``, whose single output parameter is ``return``, the
expanded ``ValueSet`` itself (as FHIR returns such a resource directly). The terminology comes
from any :class:`~.expand.Source`: resources in memory (:class:`~.expand.ResourceSource`) or
a store (``store.expand``/``store.subsumes``/``store.lookup``, which also cache expansions).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from helios_persistence.errors import TerminologyError
from helios_persistence.terminology.expand import Source, expand_valueset
from helios_persistence.terminology.model import CodeSystemModel

__all__ = ["expand", "expanded_valueset", "lookup", "subsumes"]


def expanded_valueset(
    vs: dict[str, Any], codes: Mapping[tuple[str, str], str | None]
) -> dict[str, Any]:
    """``vs`` with an ``expansion`` of ``codes`` (sorted by system and code)."""
    out = {k: v for k, v in vs.items() if k not in ("expansion", "text", "meta")}
    contains = []
    for (system, code), display in sorted(codes.items()):
        item = {"system": system, "code": code}
        if display:
            item["display"] = display
        contains.append(item)
    out["expansion"] = {
        "identifier": f"urn:uuid:{uuid.uuid4()}",
        "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "total": len(contains),
        "contains": contains,
    }
    return out


def expand(valueset: dict[str, Any], source: Source) -> dict[str, Any]:
    """``ValueSet/$expand``: the expanded ValueSet (raises TerminologyError naming what
    cannot be expanded)."""
    return expanded_valueset(valueset, expand_valueset(valueset, source).codes)


def _codesystem(system: str, source: Source, version: str | None = None) -> CodeSystemModel:
    cs = source.codesystem(system, version)
    if cs is None:
        raise TerminologyError(f"CodeSystem {system} is not stored", issue_code="not-found")
    return cs


def _known(cs: CodeSystemModel, code: str) -> None:
    if code not in cs.concepts:
        raise TerminologyError(f"{code!r} is not a code of {cs.url}", issue_code="not-found")


def subsumes(
    system: str, code_a: str, code_b: str, source: Source, *, version: str | None = None
) -> dict[str, Any]:
    """``CodeSystem/$subsumes``: ``outcome`` is ``equivalent``, ``subsumes`` (a subsumes b),
    ``subsumed-by`` or ``not-subsumed``."""
    cs = _codesystem(system, source, version)
    _known(cs, code_a)
    _known(cs, code_b)
    if code_a == code_b:
        outcome = "equivalent"
    elif cs.subsumes(code_a, code_b):
        outcome = "subsumes"
    elif cs.subsumes(code_b, code_a):
        outcome = "subsumed-by"
    else:
        outcome = "not-subsumed"
    return {"resourceType": "Parameters", "parameter": [{"name": "outcome", "valueCode": outcome}]}


def lookup(system: str, code: str, source: Source, *, version: str | None = None) -> dict[str, Any]:
    """``CodeSystem/$lookup``: name, version, display, designations and properties (the
    concept's own, plus ``parent``/``child`` from the hierarchy)."""
    cs = _codesystem(system, source, version)
    _known(cs, code)
    concept = cs.concepts[code]
    params: list[dict[str, Any]] = [{"name": "name", "valueString": cs.name or cs.url}]
    if cs.version:
        params.append({"name": "version", "valueString": cs.version})
    if concept.display:
        params.append({"name": "display", "valueString": concept.display})
    if concept.definition:
        params.append({"name": "definition", "valueString": concept.definition})
    for d in concept.designations:
        part = [{"name": "value", "valueString": str(d.get("value", ""))}]
        if d.get("language"):
            part.insert(0, {"name": "language", "valueCode": d["language"]})
        if isinstance(d.get("use"), dict):
            part.insert(0, {"name": "use", "valueCoding": d["use"]})
        params.append({"name": "designation", "part": part})
    props = [(p, v) for p, v in concept.properties if p not in ("parent", "child")]
    props += [("parent", p) for p in sorted(cs.parents.get(code, ()))]
    props += [("child", c) for c in sorted(cs.children.get(code, ()))]
    for prop, value in props:
        kind = "valueCode" if prop in ("parent", "child") else "valueString"
        part = [{"name": "code", "valueCode": prop}, {"name": "value", kind: value}]
        params.append({"name": "property", "part": part})
    return {"resourceType": "Parameters", "parameter": params}
