"""``_summary`` and ``_elements``: shrink returned resources (R4 search, "summary").

Driven by the R4 StructureDefinitions (:mod:`helios_persistence.model`):

* ``_summary=true`` keeps, at the root and inside every kept backbone element, the elements
  marked ``isSummary`` plus the mandatory (``min > 0``) and modifier elements (the rules
  ``isSummary`` is defined by, so a summary stays a valid resource and never hides a
  modifier). A choice element keeps whichever ``value[x]`` form is present. Data types are
  kept whole except ``Attachment.data`` ("other than Attachment.data, all data type
  properties are included in the summary form").
* ``_summary=text`` keeps ``text``, ``id``, ``meta`` and the mandatory top-level elements;
  ``_summary=data`` removes ``text``.
* ``_elements`` keeps the named top-level elements (``value`` keeps ``valueQuantity``;
  ``Patient.name`` is read as ``name``), ``id``, ``meta`` and the mandatory elements.

A primitive's ``_name`` extension sibling follows its element. Shrunk resources are tagged
``SUBSETTED`` as R4 requires.
"""

from __future__ import annotations

from typing import Any

from helios_persistence import model
from helios_persistence.ir import Summary

__all__ = ["apply", "summary_of"]

_ALWAYS = frozenset({"resourceType", "id", "meta"})
_SUBSETTED = {
    "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
    "code": "SUBSETTED",
}


def _tag(resource: dict[str, Any]) -> dict[str, Any]:
    meta = dict(resource.get("meta") or {})
    meta["tag"] = [*meta.get("tag", []), _SUBSETTED]
    resource["meta"] = meta
    return resource


def _in_summary(e: model.Element) -> bool:
    return e.summary or e.mandatory or e.modifier


def _without_attachment_data(value: Any, type_path: str) -> Any:
    """``value`` (of complex type ``type_path``) without any ``Attachment.data`` inside."""
    if isinstance(value, list):
        return [_without_attachment_data(v, type_path) for v in value]
    if not isinstance(value, dict):
        return value
    if type_path == "Attachment":
        return {k: v for k, v in value.items() if k not in ("data", "_data")}
    out: dict[str, Any] = {}
    for key, item in value.items():
        e = model.element_for_key(type_path, key)
        child = e.type_path(key) if e is not None and not key.startswith("_") else None
        out[key] = _without_attachment_data(item, child) if child else item
    return out


def _summarize(value: Any, type_path: str, backbone: bool) -> Any:
    if isinstance(value, list):
        return [_summarize(v, type_path, backbone) for v in value]
    if not isinstance(value, dict):
        return value
    if not backbone:  # a data type (or a nested resource): whole, less Attachment.data
        return _without_attachment_data(value, type_path)
    out: dict[str, Any] = {}
    for key, item in value.items():
        if key == "resourceType":
            out[key] = item
            continue
        e = model.element_for_key(type_path, key)
        if e is None or not _in_summary(e):
            continue
        child = None if key.startswith("_") else e.type_path(key)
        out[key] = _summarize(item, child, e.backbone is not None) if child else item
    return out


def summary_of(resource: dict[str, Any]) -> dict[str, Any]:
    """The ``_summary=true`` form of ``resource`` (untagged)."""
    rtype = resource.get("resourceType")
    if not isinstance(rtype, str) or not model.elements(rtype):
        return {k: v for k, v in resource.items() if k in _ALWAYS}
    result: dict[str, Any] = _summarize(resource, rtype, True)
    return result


def _top_level(resource: dict[str, Any], wanted: set[str]) -> dict[str, Any]:
    """The root elements named in ``wanted`` (base names), the mandatory ones and
    :data:`_ALWAYS`."""
    rtype = str(resource.get("resourceType"))
    out: dict[str, Any] = {}
    for key, value in resource.items():
        e = model.element_for_key(rtype, key)
        base = e.name if e is not None else key.lstrip("_")
        if base in _ALWAYS or base in wanted or (e is not None and e.mandatory):
            out[key] = value
    return out


def apply(
    resource: dict[str, Any], summary: Summary | None, elements: tuple[str, ...]
) -> dict[str, Any]:
    """The resource as ``_summary``/``_elements`` ask (a new dict when it changes)."""
    if elements:
        rtype = str(resource.get("resourceType"))
        names = {e.removeprefix(f"{rtype}.").split(".")[0] for e in elements}
        return _tag(_top_level(resource, names))
    if summary in (None, Summary.FALSE):
        return resource
    if summary is Summary.TEXT:
        return _tag(_top_level(resource, {"text"}))
    if summary is Summary.DATA:
        return _tag({k: v for k, v in resource.items() if k != "text"})
    return _tag(summary_of(resource))
