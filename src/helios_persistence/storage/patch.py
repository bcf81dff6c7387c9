"""Patching resources: JSON Patch (RFC 6902) and FHIRPath Patch (FHIR ``Parameters``).

:func:`apply_patch` accepts

* a list of JSON Patch operations (applied with the ``jsonpatch`` library),
* a ``Binary`` whose ``contentType`` is ``application/json-patch+json`` (the JSON Patch in
  ``data``, base64) as FHIR transaction entries carry it,
* a ``Parameters`` resource: FHIRPath Patch (http://hl7.org/fhir/R4/fhirpatch.html) with the
  operations ``add``, ``insert``, ``delete``, ``replace`` and ``move``.

FHIRPath Patch locates its targets with ``fhirpathpy`` (R4 model, so choice elements such as
``Observation.value`` resolve): every node ``fhirpathpy`` returns carries the concrete location
it came from (``Patient.name[1].given[0]``), which is walked back into the JSON to change it.
Limits, documented rather than guessed around:

* A path must select elements of the resource; a computed value (``name.given.lower()``)
  has no location and is rejected.
* ``add`` of a property that does not exist yet creates an array when the element repeats
  (``max = "*"``) in the R4 definition of its container (:mod:`helios_persistence.model`,
  derived from the StructureDefinitions) and a single value otherwise; complex values given as
  nested ``part``s are shaped by the same definitions, down their types. ``insert`` at index 0
  always creates an array.
* ``delete`` of a path that selects nothing is a no-op; a path selecting several elements is an
  error for every operation.

Patching never changes ``resourceType`` or ``id`` (InvalidResource).
"""

from __future__ import annotations

import base64
import copy
import json
import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import jsonpatch
from fhirpathpy import compile as fp_compile
from fhirpathpy.models import models as fp_models

from helios_persistence import model
from helios_persistence.errors import InvalidResource
from helios_persistence.storage.validation import check_json

__all__ = ["apply_fhirpath_patch", "apply_json_patch", "apply_patch", "is_patch"]

JSON_PATCH_MIME = "application/json-patch+json"


def is_patch(value: Any) -> bool:
    """True for anything :func:`apply_patch` accepts."""
    if isinstance(value, list):
        return True
    return isinstance(value, dict) and value.get("resourceType") in ("Parameters", "Binary")


def apply_patch(resource: dict[str, Any], patch: Any) -> dict[str, Any]:
    """A patched copy of ``resource`` (the input is left unchanged)."""
    check_json(patch, "the patch")
    if isinstance(patch, list | tuple):
        result = apply_json_patch(resource, list(patch))
    elif isinstance(patch, dict) and patch.get("resourceType") == "Parameters":
        result = apply_fhirpath_patch(resource, patch)
    elif isinstance(patch, dict) and patch.get("resourceType") == "Binary":
        if (patch.get("contentType") or "").split(";")[0].strip() != JSON_PATCH_MIME:
            raise InvalidResource(f"a Binary patch must have contentType {JSON_PATCH_MIME}")
        try:
            operations = json.loads(base64.b64decode(patch.get("data") or "", validate=True))
        except (ValueError, TypeError, RecursionError) as exc:
            raise InvalidResource(f"the Binary patch is not base64 JSON: {exc}") from None
        check_json(operations, "the patch")
        if not isinstance(operations, list):
            raise InvalidResource("a JSON Patch document must be an array")
        result = apply_json_patch(resource, operations)
    else:
        raise InvalidResource(
            "a patch must be a JSON Patch array, a Binary JSON Patch or a FHIRPath Patch "
            "Parameters resource"
        )
    for key in ("resourceType", "id"):
        if result.get(key) != resource.get(key):
            raise InvalidResource(f"a patch may not change {key}", expression=key)
    if not isinstance(result, dict):
        raise InvalidResource("the patch did not produce a resource")
    return result


# -- JSON Patch -----------------------------------------------------------------------------


def apply_json_patch(resource: dict[str, Any], operations: Sequence[Any]) -> dict[str, Any]:
    if not all(isinstance(op, dict) for op in operations):
        raise InvalidResource("every JSON Patch operation must be an object")
    try:
        result = jsonpatch.apply_patch(resource, list(operations), in_place=False)
    except jsonpatch.JsonPatchTestFailed as exc:
        raise InvalidResource(f"JSON Patch test failed: {exc}") from None
    except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as exc:
        raise InvalidResource(f"invalid JSON Patch: {exc}") from None
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise InvalidResource(f"invalid JSON Patch: {exc!r}") from None
    if not isinstance(result, dict):
        raise InvalidResource("the JSON Patch did not produce a JSON object")
    return result


# -- FHIRPath Patch -------------------------------------------------------------------------

_STEP_RE = re.compile(r"([^.\[\]]+)(?:\[(\d+)\])?")
Step = tuple[str, int | None]


def _operation_parts(parameter: dict[str, Any]) -> dict[str, dict[str, Any]]:
    parts: dict[str, dict[str, Any]] = {}
    for part in parameter.get("part") or ():
        if not isinstance(part, dict) or not isinstance(part.get("name"), str):
            raise InvalidResource("every FHIRPath Patch operation part needs a name")
        if part["name"] in parts:
            raise InvalidResource(f"FHIRPath Patch operation repeats part {part['name']!r}")
        parts[part["name"]] = part
    return parts


def _primitive(parts: dict[str, dict[str, Any]], name: str, *, required: bool = True) -> Any:
    part = parts.get(name)
    if part is None:
        if required:
            raise InvalidResource(f"FHIRPath Patch operation lacks {name!r}")
        return None
    for key, value in part.items():
        if key.startswith("value") and key != "value":
            return value
    raise InvalidResource(f"FHIRPath Patch part {name!r} has no value")


def _part_value(part: dict[str, Any], type_path: str | None = None) -> Any:
    """The value a ``value`` part carries: ``value[x]``, ``resource`` or nested ``part``s
    (shaped by the definition of ``type_path``, the value's type or backbone path)."""
    for key, value in part.items():
        if key.startswith("value") and key != "value":
            return copy.deepcopy(value)
    if "resource" in part:
        return copy.deepcopy(part["resource"])
    if "part" in part:
        out: dict[str, Any] = {}
        for sub in part["part"] or ():
            name = sub.get("name")
            if not isinstance(name, str):
                raise InvalidResource("every part of a complex FHIRPath Patch value needs a name")
            definition = model.element_for_key(type_path, name) if type_path else None
            value = _part_value(sub, definition.type_path(name) if definition else None)
            if name in out:
                if not isinstance(out[name], list):
                    out[name] = [out[name]]
                out[name].append(value)
            elif model.is_repeating(type_path, name):
                out[name] = [value]
            else:
                out[name] = value
        return out
    raise InvalidResource("FHIRPath Patch operation has an empty value")


@lru_cache(maxsize=512)
def _compiled(path: str) -> Any:
    return fp_compile(path, model=fp_models["r4"], options={"returnRawData": True})


def _evaluate(resource: dict[str, Any], path: str) -> list[Any]:
    if not isinstance(path, str) or not path.strip():
        raise InvalidResource("FHIRPath Patch path must be a non-empty string")
    try:
        return list(_compiled(path)(resource, {}))
    except Exception as exc:  # fhirpathpy raises bare Exceptions for syntax errors
        raise InvalidResource(f"invalid FHIRPath {path!r}: {exc}") from None


def _resolve_key(container: dict[str, Any], name: str) -> str:
    """The JSON key holding element ``name`` (``deceased`` → ``deceasedBoolean``)."""
    if name in container:
        return name
    for key in container:
        if key.startswith(name) and len(key) > len(name) and key[len(name)].isupper():
            return key
    return name


def _location(resource: dict[str, Any], node: Any) -> list[Step]:
    """The steps from the root to the element ``node`` came from."""
    prop = getattr(node, "propName", None)
    if prop is None:
        if getattr(node, "data", None) is resource:
            return []
        raise InvalidResource("the FHIRPath Patch path does not select an element of the resource")
    steps: list[Step] = []
    current: Any = resource
    for i, segment in enumerate(prop.split(".")):
        match = _STEP_RE.fullmatch(segment)
        if match is None:
            raise InvalidResource(f"cannot locate {prop!r}")
        if i == 0:
            continue  # the root resource type
        if not isinstance(current, dict):
            raise InvalidResource(f"cannot locate {prop!r}")
        key = _resolve_key(current, match.group(1))
        index = int(match.group(2)) if match.group(2) is not None else None
        steps.append((key, index))
        current = current.get(key)
        if index is not None:
            if not isinstance(current, list) or index >= len(current):
                raise InvalidResource(f"cannot locate {prop!r}")
            current = current[index]
    return steps


def _walk(resource: dict[str, Any], steps: Sequence[Step]) -> Any:
    current: Any = resource
    for key, index in steps:
        current = current[key]
        if index is not None:
            current = current[index]
    return current


def _single(resource: dict[str, Any], path: str, *, allow_none: bool = False) -> Any:
    nodes = _evaluate(resource, path)
    if len(nodes) > 1:
        raise InvalidResource(f"FHIRPath Patch path {path!r} selects {len(nodes)} elements")
    if not nodes:
        if allow_none:
            return None
        raise InvalidResource(f"FHIRPath Patch path {path!r} selects nothing")
    return nodes[0]


def _list_target(resource: dict[str, Any], path: str) -> tuple[list[Any] | None, Any, str]:
    """The array ``path`` selects the items of: (array or None, parent dict, key)."""
    nodes = _evaluate(resource, path)
    if not nodes:
        head, dot, last = path.rpartition(".")
        if not dot or not re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", last):
            raise InvalidResource(f"FHIRPath Patch path {path!r} selects nothing")
        parent_node = _single(resource, head)
        parent = _walk(resource, _location(resource, parent_node))
        if not isinstance(parent, dict):
            raise InvalidResource(f"FHIRPath Patch path {head!r} does not select an object")
        key = _resolve_key(parent, last)
        existing = parent.get(key)
        if existing is not None and not isinstance(existing, list):
            raise InvalidResource(f"FHIRPath Patch path {path!r} is not a list")
        return existing, parent, key
    locations = [_location(resource, n) for n in nodes]
    prefixes = {(*loc[:-1], loc[-1][0]) for loc in locations if loc}
    if len(prefixes) != 1 or any(not loc or loc[-1][1] is None for loc in locations):
        raise InvalidResource(f"FHIRPath Patch path {path!r} does not select one list")
    loc = locations[0]
    parent = _walk(resource, loc[:-1])
    key = loc[-1][0]
    return parent[key], parent, key


def _container_type(node: Any) -> str | None:
    path = getattr(node, "path", None)
    return path if isinstance(path, str) else None


def _op_add(resource: dict[str, Any], parts: dict[str, dict[str, Any]]) -> None:
    path = _primitive(parts, "path")
    name = _primitive(parts, "name")
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise InvalidResource(f"invalid FHIRPath Patch element name {name!r}")
    node = _single(resource, path)
    container = _container_type(node)
    definition = model.element_for_key(container, name) if container else None
    value_type = definition.type_path(name) if definition else None
    value = _part_value(parts["value"], value_type) if "value" in parts else None
    if value is None:
        raise InvalidResource("FHIRPath Patch add needs a value")
    target = _walk(resource, _location(resource, node))
    if not isinstance(target, dict):
        raise InvalidResource(f"FHIRPath Patch add: {path!r} does not select an object")
    existing = target.get(name)
    if isinstance(existing, list):
        existing.append(value)
    elif existing is not None:
        raise InvalidResource(f"FHIRPath Patch add: {path}.{name} already has a value")
    else:
        target[name] = [value] if model.is_repeating(container, name) else value


def _op_insert(resource: dict[str, Any], parts: dict[str, dict[str, Any]]) -> None:
    path = _primitive(parts, "path")
    index = _primitive(parts, "index")
    selected = _evaluate(resource, path)
    value_type = _container_type(selected[0]) if selected else None
    value = _part_value(parts["value"], value_type) if "value" in parts else None
    if value is None or not isinstance(index, int) or isinstance(index, bool):
        raise InvalidResource("FHIRPath Patch insert needs a value and an integer index")
    items, parent, key = _list_target(resource, path)
    if items is None:
        if index != 0:
            raise InvalidResource(f"FHIRPath Patch insert: index {index} out of range")
        parent[key] = [value]
        return
    if not 0 <= index <= len(items):
        raise InvalidResource(f"FHIRPath Patch insert: index {index} out of range")
    items.insert(index, value)


def _op_delete(resource: dict[str, Any], parts: dict[str, dict[str, Any]]) -> None:
    path = _primitive(parts, "path")
    node = _single(resource, path, allow_none=True)
    if node is None:
        return
    location = _location(resource, node)
    if not location:
        raise InvalidResource("FHIRPath Patch cannot delete the resource itself")
    parent = _walk(resource, location[:-1])
    key, index = location[-1]
    if index is None:
        parent.pop(key, None)
        parent.pop(f"_{key}", None)
    else:
        parent[key].pop(index)
        if not parent[key]:
            del parent[key]


def _op_replace(resource: dict[str, Any], parts: dict[str, dict[str, Any]]) -> None:
    path = _primitive(parts, "path")
    node = _single(resource, path)
    value = _part_value(parts["value"], _container_type(node)) if "value" in parts else None
    if value is None:
        raise InvalidResource("FHIRPath Patch replace needs a value")
    location = _location(resource, node)
    if not location:
        raise InvalidResource("FHIRPath Patch cannot replace the resource itself")
    parent = _walk(resource, location[:-1])
    key, index = location[-1]
    if index is None:
        parent[key] = value
    else:
        parent[key][index] = value


def _op_move(resource: dict[str, Any], parts: dict[str, dict[str, Any]]) -> None:
    path = _primitive(parts, "path")
    source = _primitive(parts, "source")
    destination = _primitive(parts, "destination")
    items, _, _ = _list_target(resource, path)
    if items is None:
        raise InvalidResource(f"FHIRPath Patch move: {path!r} selects nothing")
    for label, index in (("source", source), ("destination", destination)):
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(items):
            raise InvalidResource(f"FHIRPath Patch move: {label} {index!r} out of range")
    items.insert(destination, items.pop(source))


_OPERATIONS = {
    "add": _op_add,
    "insert": _op_insert,
    "delete": _op_delete,
    "replace": _op_replace,
    "move": _op_move,
}


def apply_fhirpath_patch(resource: dict[str, Any], parameters: dict[str, Any]) -> dict[str, Any]:
    """Apply a FHIRPath Patch ``Parameters`` resource to a copy of ``resource``."""
    if parameters.get("resourceType") != "Parameters":
        raise InvalidResource("a FHIRPath Patch must be a Parameters resource")
    result = copy.deepcopy(resource)
    for parameter in parameters.get("parameter") or ():
        if not isinstance(parameter, dict) or parameter.get("name") != "operation":
            raise InvalidResource("every FHIRPath Patch parameter must be named 'operation'")
        parts = _operation_parts(parameter)
        kind = _primitive(parts, "type")
        operation = _OPERATIONS.get(kind)
        if operation is None:
            raise InvalidResource(f"unknown FHIRPath Patch operation type {kind!r}")
        operation(result, parts)
    return result
