"""Checks every resource passes before any backend writes it.

Deliberately structural (this is not a profile validator): the resource is a JSON object, its
``resourceType`` is an R4 resource type (or one the registry knows), its ``id`` has the FHIR
id syntax, ``meta`` is an object, the document is JSON-serialisable (no NaN/Infinity, string
keys only) and its serialised size is within the limit.
"""

from __future__ import annotations

import json
import re
import uuid
from decimal import Decimal
from functools import cache
from typing import Any

import orjson

from helios_persistence.errors import InvalidResource
from helios_persistence.registry import Registry
from helios_persistence.storage.exact_json import decimal_text
from helios_persistence.tenancy import _patient_compartment

__all__ = [
    "DEFAULT_MAX_BYTES",
    "ID_RE",
    "MAX_DEPTH",
    "brief",
    "check_id",
    "check_json",
    "check_resource_type",
    "known_resource_types",
    "resource_keys",
    "serialize",
    "validate_resource",
]

ID_RE = re.compile(r"[A-Za-z0-9\-\.]{1,64}")
#: default limit on one resource's serialised JSON (UTF-8 bytes)
DEFAULT_MAX_BYTES = 16 * 1024 * 1024


@cache
def _r4_types() -> frozenset[str]:
    # The Patient CompartmentDefinition lists every R4 resource type but Parameters.
    return frozenset(_patient_compartment()) | {"Parameters"}


def known_resource_types(registry: Registry | None = None) -> frozenset[str]:
    """R4's resource types plus any type the registry has parameters for."""
    types = _r4_types()
    return types | frozenset(registry.resource_types) if registry is not None else types


def check_resource_type(resource_type: Any, registry: Registry | None = None) -> str:
    if not isinstance(resource_type, str) or not resource_type:
        raise InvalidResource("resourceType must be a non-empty string", expression="resourceType")
    if resource_type not in _r4_types() and (
        registry is None or resource_type not in registry.resource_types
    ):
        raise InvalidResource(
            f"unknown resource type {brief(resource_type)}", expression="resourceType"
        )
    return resource_type


def brief(value: Any) -> str:
    """A short, safe rendering of any input for an error message (no recursion into it)."""
    if isinstance(value, str):
        return repr(value[:64] + ("..." if len(value) > 64 else ""))
    if value is None or isinstance(value, bool | int | float):
        return repr(value) if len(repr(value)) <= 64 else f"a {len(str(value))}-digit number"
    return f"a {type(value).__name__}"


def check_id(value: Any, *, expression: str = "id") -> str:
    if not isinstance(value, str) or not ID_RE.fullmatch(value):
        raise InvalidResource(
            f"invalid id {brief(value)}: 1-64 characters of A-Z, a-z, 0-9, '-' and '.'",
            expression=expression,
        )
    return value


def _decimal(value: Any) -> Any:
    """orjson's hook for what it does not write itself: a ``Decimal`` as its own digits."""
    if isinstance(value, Decimal) and value.is_finite():
        return orjson.Fragment(decimal_text(value))
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


#: how deeply JSON arrays and objects may nest in a resource, patch or Bundle (FHIR resources
#: stay far below; orjson itself stops at 255, and deeper documents exhaust Python's stack)
MAX_DEPTH = 200


def check_json(value: Any, what: str = "resource") -> None:
    """InvalidResource unless ``value`` is JSON data this library can store unchanged: nested
    at most :data:`MAX_DEPTH` deep, with string keys only (``{1: "x"}`` would silently
    become ``{"1": "x"}``). Iterative, so any depth is refused without a RecursionError."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
            for key in item:
                if not isinstance(key, str):
                    raise InvalidResource(f"{what} has a non-string key {key!r}")
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        if depth >= MAX_DEPTH:
            raise InvalidResource(f"{what} is nested more than {MAX_DEPTH} levels deep")
        stack.extend((child, depth + 1) for child in children)


_TYPE_RE = re.compile(r"[A-Z][A-Za-z]{0,63}")


def resource_keys(resources: Any) -> list[tuple[str, str]]:
    """``(type, id)`` of the well-formed resources of a list (a bulk write's prefetch: the
    others are refused when their turn comes, with a clear error)."""
    return [
        (r["resourceType"], r["id"])
        for r in resources
        if isinstance(r, dict)
        and isinstance(r.get("resourceType"), str)
        and _TYPE_RE.fullmatch(r["resourceType"])
        and isinstance(r.get("id"), str)
        and ID_RE.fullmatch(r["id"])
    ]


def serialize(resource: dict[str, Any]) -> str:
    """Compact JSON text of ``resource`` (InvalidResource if it is not valid JSON data);
    ``Decimal`` values are written with their digits as they are (``1.50``)."""
    try:
        out = orjson.dumps(resource, default=_decimal)
    except TypeError:  # a non-string key, nesting over 255 or an integer over 64 bits: the
        check_json(resource)  # first two are refused here, the last the standard library
        return _serialize_stdlib(resource)  # writes exactly
    if b"null" in out:  # orjson writes NaN and Infinity as null, the standard library rejects
        return _serialize_stdlib(resource)  # them (FHIR JSON has no nulls outside arrays)
    return out.decode()


def _serialize_stdlib(resource: dict[str, Any]) -> str:
    """The standard library's JSON (it has no raw-number hook, so each ``Decimal`` travels as
    a unique placeholder string that is then replaced by the decimal's digits)."""
    decimals: dict[str, str] = {}
    mark = f"\x00decimal-{uuid.uuid4().hex}-"

    def placeholder(value: Any) -> Any:
        if isinstance(value, Decimal) and value.is_finite():
            key = f"{mark}{len(decimals)}"
            decimals[json.dumps(key)] = decimal_text(value)
            return key
        raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")

    try:
        text = json.dumps(
            resource, ensure_ascii=False, separators=(",", ":"), allow_nan=False,
            default=placeholder,
        )  # fmt: skip
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidResource(
            f"resource text is not valid Unicode (a lone surrogate at {exc.start})"
        ) from None
    except (TypeError, ValueError) as exc:
        raise InvalidResource(f"resource is not valid JSON: {exc}") from None
    for key, digits in decimals.items():
        text = text.replace(key, digits)
    return text


def validate_resource(
    resource: Any,
    registry: Registry | None = None,
    *,
    require_id: bool = False,
    max_bytes: int | None = DEFAULT_MAX_BYTES,
) -> str:
    """Validate ``resource`` and return its resource type. Raises :class:`InvalidResource`.

    ``max_bytes`` None skips serialising (for callers that check the size of the document
    they serialise anyway)."""
    if not isinstance(resource, dict):
        raise InvalidResource(f"a resource must be a JSON object, not {type(resource).__name__}")
    resource_type = check_resource_type(resource.get("resourceType"), registry)
    if "id" in resource or require_id:
        if require_id and resource.get("id") is None:
            raise InvalidResource("the resource has no id", expression=f"{resource_type}.id")
        check_id(resource.get("id"), expression=f"{resource_type}.id")
    meta = resource.get("meta")
    if meta is not None and not isinstance(meta, dict):
        raise InvalidResource("meta must be an object", expression=f"{resource_type}.meta")
    if max_bytes is None:
        return resource_type
    text = serialize(resource)
    size = len(text.encode("utf-8"))
    if size > max_bytes:
        raise InvalidResource(f"resource is {size} bytes, over the limit of {max_bytes}")
    return resource_type
