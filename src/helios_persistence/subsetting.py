"""``_summary`` and ``_elements``: shrink returned resources (R4 search, "summary").

Without the StructureDefinitions' ``isSummary`` flags, ``_summary=true`` keeps the elements
every resource's summary has (``id``, ``meta``, ``implicitRules``) plus the element kinds R4
marks as summary almost everywhere (identifiers, status, codes, subject/patient, dates);
``text`` keeps id, meta and narrative; ``data`` removes the narrative. Shrunk resources are
tagged ``SUBSETTED`` as R4 requires.
"""

from __future__ import annotations

from typing import Any

from helios_persistence.ir import Summary

__all__ = ["apply"]

_ALWAYS = ("resourceType", "id", "meta", "implicitRules")
_SUMMARY_ELEMENTS = frozenset(
    {
        "identifier", "status", "code", "subject", "patient", "name", "gender", "birthDate",
        "active", "type", "category", "effectiveDateTime", "effectivePeriod", "issued",
        "date", "period", "class", "clinicalStatus", "verificationStatus", "onsetDateTime",
        "intent", "url", "version", "title", "valueQuantity", "valueCodeableConcept",
        "valueString", "encounter", "authoredOn", "medicationCodeableConcept",
        "medicationReference", "deceasedBoolean", "deceasedDateTime", "telecom", "address",
    }
)  # fmt: skip
_SUBSETTED = {
    "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
    "code": "SUBSETTED",
}


def _tag(resource: dict[str, Any]) -> dict[str, Any]:
    meta = dict(resource.get("meta") or {})
    meta["tag"] = [*meta.get("tag", []), _SUBSETTED]
    resource["meta"] = meta
    return resource


def apply(
    resource: dict[str, Any], summary: Summary | None, elements: tuple[str, ...]
) -> dict[str, Any]:
    """The resource as ``_summary``/``_elements`` ask (a new dict when it changes)."""
    if elements:
        keep = set(elements) | set(_ALWAYS)
        return _tag({k: v for k, v in resource.items() if k in keep})
    if summary in (None, Summary.FALSE):
        return resource
    if summary is Summary.TEXT:
        return _tag({k: v for k, v in resource.items() if k in (*_ALWAYS, "text")})
    if summary is Summary.DATA:
        return _tag({k: v for k, v in resource.items() if k != "text"})
    return _tag({k: v for k, v in resource.items() if k in _ALWAYS or k in _SUMMARY_ELEMENTS})
