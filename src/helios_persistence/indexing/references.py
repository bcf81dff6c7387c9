"""References: what a reference points at, decided from the reference itself (no database).

Forms (R4 "References", "Canonical URLs") and what they index as:

* ``Patient/123``: target_type ``Patient``, target_id ``123``;
  ``Patient/123/_history/2`` also version ``2``.
* ``http://other/fhir/Patient/5``: url as written, target_type ``Patient`` and version from
  the tail, but **no target_id**: a reference to another server never equals this server's
  ``Patient/5`` (so searches, chains and includes don't follow it). A store turns references
  to its own base URL back into local ones with :func:`localize`.
* ``#p1`` (contained): target_type is the contained resource's ``resourceType``, target_id
  ``#p1``, kept with its ``#``: a contained resource is not addressable on its own, so the
  row never equals one for ``Patient/p1``.
* ``urn:uuid:…``, ``urn:oid:…``: url; target_type from ``Reference.type`` if given.
* ``Patient?identifier=x`` (a conditional reference not yet resolved): url as written,
  target_type ``Patient``.
* ``Reference.identifier`` (logical): identifier_system/identifier_value, with or without a
  reference in the same row.
* canonical ``http://x/ValueSet/y|1.0``: url ``http://x/ValueSet/y``, version ``1.0``.
* a resource (``Bundle.entry[0].resource``): its resourceType and id.

When the reference string gives no type, ``Reference.type`` does (``resolve() is Patient`` on a
logical reference with ``type: Patient`` is true).
"""

from __future__ import annotations

import re
from dataclasses import replace
from functools import lru_cache
from typing import Any, NamedTuple

from helios_persistence.indexing.model import is_resource_type
from helios_persistence.indexing.rows import ReferenceRow, ResourceIndex

__all__ = ["ParsedReference", "localize", "parse_reference", "reference_rows", "reference_type"]

_ID = r"[A-Za-z0-9\-.]{1,64}"
_TAIL_RE = re.compile(
    rf"(?:^|/)(?P<type>[A-Z][A-Za-z]+)/(?P<id>{_ID})(?:/_history/(?P<version>{_ID}))?$"
)
_ABSOLUTE_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")


class ParsedReference(NamedTuple):
    target_type: str | None
    target_id: str | None
    version: str | None
    url: str | None


@lru_cache(maxsize=65536)
def parse_reference(text: str) -> ParsedReference:
    """Parse a ``Reference.reference`` string (contained ``#`` references excepted)."""
    if "?" in text:
        head = text.split("?", 1)[0].rsplit("/", 1)[-1]
        return ParsedReference(head if is_resource_type(head) else None, None, None, text)
    match = _TAIL_RE.search(text)
    absolute = bool(_ABSOLUTE_RE.match(text))
    if match and is_resource_type(match["type"]) and (absolute or match.start() == 0):
        if absolute:  # another server's resource: typed, but not one of ours
            return ParsedReference(match["type"], None, match["version"], text)
        return ParsedReference(match["type"], match["id"], match["version"], None)
    return ParsedReference(None, None, None, text)


def _type_element(value: dict[str, Any]) -> str | None:
    declared = value.get("type")
    if not isinstance(declared, str):
        return None
    declared = declared.rsplit("/", 1)[-1]
    return declared if is_resource_type(declared) else None


def _contained_type(ref: str, root: dict[str, Any] | None) -> str | None:
    if not root:
        return None
    for item in root.get("contained") or ():
        if isinstance(item, dict) and f"#{item.get('id')}" == ref:
            found = item.get("resourceType")
            return found if isinstance(found, str) else None
    return None


def reference_type(value: Any, root: dict[str, Any] | None = None) -> str | None:
    """The resource type a Reference (or canonical, or resource) points at, or None."""
    if isinstance(value, str):
        return parse_reference(value).target_type
    if not isinstance(value, dict):
        return None
    if "resourceType" in value:
        found = value["resourceType"]
        return found if isinstance(found, str) else None
    ref = value.get("reference")
    if isinstance(ref, str):
        found = _contained_type(ref, root) if ref.startswith("#") else parse_reference(ref)[0]
        if found:
            return found
    return _type_element(value)


def localize(index: ResourceIndex, base_url: str | None) -> ResourceIndex:
    """``index`` with absolute references to ``base_url`` (this server) made local:
    ``<base>/Patient/5`` indexes exactly as ``Patient/5`` does. Same object when nothing
    changes."""
    if not base_url:
        return index
    base = base_url.rstrip("/") + "/"
    changed = False
    rows: list[Any] = []
    for row in index.rows:
        if isinstance(row, ReferenceRow) and row.url and row.url.startswith(base):
            local = parse_reference(row.url[len(base) :])
            if local.target_id is not None:
                row = replace(
                    row, target_type=local.target_type, target_id=local.target_id,
                    version=local.version, url=None,
                )  # fmt: skip
                changed = True
        rows.append(row)
    return replace(index, rows=tuple(rows)) if changed else index


class BadReference(ValueError):
    """A reference the index cannot read (wrong JSON types)."""


def reference_rows(
    param: str, value: Any, fhir_type: str | None, root: dict[str, Any] | None
) -> list[ReferenceRow]:
    """The rows of one reference-typed value (Reference, canonical/uri string, or a resource)."""
    if isinstance(value, str):
        if fhir_type == "canonical" or (fhir_type is None and "|" in value):
            url, _, version = value.partition("|")
            return [ReferenceRow(param, None, None, version or None, url)]
        if fhir_type in ("uri", "url", "uuid", "oid"):
            return [ReferenceRow(param, None, None, None, value)]
        parsed = parse_reference(value)
        return [
            ReferenceRow(param, parsed.target_type, parsed.target_id, parsed.version, parsed.url)
        ]
    if not isinstance(value, dict):
        raise BadReference(f"expected a Reference object, got {type(value).__name__}")
    if "resourceType" in value:
        rid = value.get("id")
        return [ReferenceRow(param, value["resourceType"], rid if isinstance(rid, str) else None)]
    ref = value.get("reference")
    identifier = value.get("identifier")
    id_system = id_value = None
    if identifier is not None:
        if not isinstance(identifier, dict):
            raise BadReference("Reference.identifier must be an object")
        id_system, id_value = identifier.get("system"), identifier.get("value")
        for part in (id_system, id_value):
            if part is not None and not isinstance(part, str):
                raise BadReference("Reference.identifier system and value must be strings")
    if ref is None:
        if id_system is None and id_value is None:
            return []
        return [ReferenceRow(param, _type_element(value), None, None, None, id_system, id_value)]
    if not isinstance(ref, str):
        raise BadReference(f"Reference.reference must be a string, got {type(ref).__name__}")
    if ref.startswith("#"):
        target = _contained_type(ref, root) or _type_element(value)
        return [ReferenceRow(param, target, ref, None, None, id_system, id_value)]
    parsed = parse_reference(ref)
    return [
        ReferenceRow(
            param,
            parsed.target_type or _type_element(value),
            parsed.target_id,
            parsed.version,
            parsed.url,
            id_system,
            id_value,
        )
    ]
