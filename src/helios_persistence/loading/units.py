"""From JSON documents to load units, and a transaction Bundle as a stream of resources.

A unit is what the loader writes or fails as one piece:

* ``resources``: resources on their own (an NDJSON line, a single resource, the entries of a
  ``collection`` or ``searchset`` Bundle): each is an update (create when its id is new, a
  new id when it has none), and one failing does not stop the others;
* ``group``: a transaction Bundle whose entries only create (POST without ``ifNoneExist``) or
  update a named resource (PUT ``Type/id`` without ``ifMatch``): its ids are decided as
  :func:`~helios_persistence.storage.bundles.process_bundle` decides them (a new id for every
  POST, the URL's for a PUT) and its references rewritten the same way (``fullUrl`` references
  point at the new ids, narrative links too; conditional references ``Type?criteria`` resolve
  to the one resource the database holds), so the resources can go through
  ``store.bulk_load`` as one group — written in one transaction, whole or not at all, as the
  Bundle would be: in the transaction's order (POSTs, then PUTs), each POST as a
  :class:`~helios_persistence.storage.types.Create` (history ``POST``, as the transaction
  records it);
* ``creates``: a batch Bundle whose entries only create (POST ``Type``, each with or without
  ``ifNoneExist``) resources that reference nothing in the Bundle nor conditionally, as
  Synthea's hospital and practitioner information Bundles are: each entry is its own piece
  (a batch entry fails alone), written as a create (history ``POST``) unless the loader knows
  that its ``ifNoneExist`` criteria (``if_none_exist``, as ``Type?criteria``) match a
  resource already — then it writes nothing, as the batch would answer ``200 OK``;
* ``bundle``: any other transaction or batch Bundle, for ``store.transaction``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from helios_persistence.errors import HeliosError, InvalidInput
from helios_persistence.loading.sources import Document
from helios_persistence.storage.bundles import (
    _CONDITIONAL_REF,
    _ORDER,
    _check_full_urls,
    _parse_entries,
    _Processor,
    rewrite_references,
)
from helios_persistence.storage.types import Create

__all__ = ["Unit", "conditional_references", "if_none_exist_criteria", "units_of"]


@dataclass
class Unit:
    """One piece of a load (see the module's documentation); ``labels`` say where each
    resource came from within the document (``Bundle.entry[3]``), for messages."""

    document: Document
    kind: str  # "resources" | "group" | "bundle"
    resources: list[dict[str, Any]] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    bundle: dict[str, Any] | None = None
    #: conditional references (``Type?criteria``) a group or a Bundle needs resolved
    conditional: frozenset[str] = frozenset()
    #: a group's reference resolver (``fullUrl`` → ``Type/id`` of the decided ids)
    processor: _Processor | None = None
    #: which of ``resources`` a group creates (a POST entry) rather than updates (a PUT)
    creates: list[bool] = field(default_factory=list)
    #: a ``creates`` unit's ``ifNoneExist`` per resource, as ``Type?criteria`` (or None)
    if_none_exist: list[str | None] = field(default_factory=list)
    #: the document's position in the load (failures are reported in this order)
    order: int = 0

    @property
    def size(self) -> int:
        """Resources this unit writes (a Bundle's entries)."""
        if self.kind == "bundle" and self.bundle is not None:
            return len(self.bundle.get("entry") or [])
        return len(self.resources)

    @property
    def where(self) -> str:
        return self.document.where

    def written_types(self) -> set[str]:
        """Resource types this unit may write (every type for a Bundle processed whole)."""
        return {str(r.get("resourceType")) for r in self.resources}


def units_of(document: Document) -> list[Unit]:
    """The units of one document; :class:`InvalidInput` when it is not a FHIR resource."""
    value = document.value
    if not isinstance(value, dict) or not isinstance(value.get("resourceType"), str):
        raise InvalidInput(f"{document.where}: not a FHIR resource (no resourceType)")
    if value["resourceType"] != "Bundle":
        return [Unit(document, "resources", [_with_id(value)], [""])]
    kind = value.get("type")
    if kind in ("collection", "searchset"):
        resources, labels = [], []
        for i, entry in enumerate(value.get("entry") or []):
            resource = entry.get("resource") if isinstance(entry, dict) else None
            mode = (entry.get("search") or {}).get("mode") if isinstance(entry, dict) else None
            if isinstance(resource, dict) and mode != "outcome":
                resources.append(_with_id(resource))
                labels.append(f"Bundle.entry[{i}]")
        return [Unit(document, "resources", resources, labels)] if resources else []
    if kind not in ("transaction", "batch"):  # document, message, history...: a resource
        return [Unit(document, "resources", [_with_id(value)], [""])]
    refs = conditional_references(value)
    if kind == "transaction":
        group = _as_group(document, value, refs)
        if group is not None:
            return [group]
    elif not refs:
        creates = _as_creates(document, value)
        if creates is not None:
            return [creates]
    return [Unit(document, "bundle", bundle=value, conditional=refs)]


def _with_id(resource: dict[str, Any]) -> dict[str, Any]:
    """The resource with its id, or with a new one (a create)."""
    if resource.get("id"):
        return resource
    return {**resource, "id": str(uuid.uuid4())}


def conditional_references(value: Any) -> frozenset[str]:
    """Every ``Type?criteria`` reference in ``value`` (a walk that copies nothing)."""
    found: set[str] = set()
    _collect(value, found)
    return frozenset(found)


def _collect(value: Any, found: set[str]) -> None:
    if type(value) is dict:
        for key, item in value.items():
            if key == "reference":
                if type(item) is str and "?" in item and _CONDITIONAL_REF.fullmatch(item):
                    found.add(item)
            elif type(item) is dict or type(item) is list:
                _collect(item, found)
    elif type(value) is list:
        for item in value:
            if type(item) is dict or type(item) is list:
                _collect(item, found)


def _as_group(document: Document, bundle: dict[str, Any], refs: frozenset[str]) -> Unit | None:
    """A transaction Bundle as a group of resources with decided ids, or None when it needs
    :func:`process_bundle` (anything but plain creates and updates, or an invalid entry,
    whose error the transaction reports)."""
    try:
        entries = sorted(_parse_entries(bundle), key=lambda e: (_ORDER[e.method], e.index))
        _check_full_urls(entries)
    except HeliosError:
        return None
    processor = _Processor(None, None, batch=False)  # type: ignore[arg-type]
    targets: set[tuple[str | None, str]] = set()
    for e in entries:
        if e.method == "POST" and not e.if_none_exist:
            e.target_id = str(uuid.uuid4())
        elif e.method == "PUT" and e.url.id and e.url.query is None and not e.if_match:
            if e.resource.get("id") not in (None, e.url.id):
                return None
            e.target_id = e.url.id
        else:
            return None
        if (e.url.resource_type, e.target_id) in targets:
            return None
        targets.add((e.url.resource_type, e.target_id))
        assert e.url.resource_type is not None
        processor.map_full_url(e, e.url.resource_type, e.target_id)
    resources = [{**e.resource, "id": e.target_id} for e in entries]
    labels = [f"Bundle.entry[{e.index}]" for e in entries]
    creates = [e.method == "POST" for e in entries]
    return Unit(document, "group", resources, labels, bundle, refs, processor, creates)


def _as_creates(document: Document, bundle: dict[str, Any]) -> Unit | None:
    """A batch Bundle of plain creates as a ``creates`` unit, or None when it needs
    :func:`process_bundle` (another method, a reference to a Bundle entry, an invalid entry)."""
    try:
        entries = _parse_entries(bundle)
    except HeliosError:
        return None
    resources, labels, criteria = [], [], []
    for e in entries:
        if e.method != "POST" or _local_references(e.resource):
            return None
        try:
            condition = if_none_exist_criteria(str(e.url.resource_type), e.if_none_exist)
        except InvalidInput:
            return None  # (another type's criteria: the batch says what is wrong)
        resources.append(e.resource)
        labels.append(f"Bundle.entry[{e.index}]")
        criteria.append(condition)
    return Unit(
        document, "creates", resources, labels, bundle,
        creates=[True] * len(resources), if_none_exist=criteria,
    )  # fmt: skip


def if_none_exist_criteria(rtype: str, condition: str | None) -> str | None:
    """A create's ``ifNoneExist`` (``criteria``, or the ``Type?criteria`` form) as
    ``Type?criteria``; None when there are none; :class:`InvalidInput` for another type's."""
    condition = (condition or "").lstrip("?")
    head, sep, rest = condition.partition("?")
    if sep and head == rtype:
        condition = rest
    elif sep:
        raise InvalidInput(f"ifNoneExist {condition!r} is not {rtype} criteria")
    return f"{rtype}?{condition}" if condition else None


def _local_references(value: Any) -> bool:
    """Whether ``value`` holds a reference a batch would fail on (``urn:uuid:``, ``urn:oid:``:
    a batch does not resolve Bundle entries)."""
    if type(value) is dict:
        for key, item in value.items():
            if key == "reference" and type(item) is str and item.startswith("urn:"):
                return True
            if (type(item) is dict or type(item) is list) and _local_references(item):
                return True
    elif type(value) is list:
        return any(_local_references(item) for item in value)
    return False


def resolve_group(unit: Unit, resolved: dict[str, str]) -> list[dict[str, Any] | Create]:
    """A group's resources with every reference and narrative link rewritten (``resolved``:
    each conditional reference → ``Type/id``), its creates as :class:`Create`;
    :class:`HeliosError` as the transaction would raise it."""
    processor = unit.processor
    assert processor is not None
    processor.conditional_refs.update(resolved)
    resolve: Callable[[str], str] = processor.resolver(None)
    out: list[dict[str, Any] | Create] = []
    for resource, create in zip(unit.resources, unit.creates, strict=True):
        written = rewrite_references(resource, resolve, processor.id_map)
        out.append(Create(written) if create else written)
    return out
