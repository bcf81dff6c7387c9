"""The Parquet layout of one resource type: a nested, typed, lossless Arrow schema.

Derived from the R4 StructureDefinitions (the compact ``dialects/duckdb/elements.json``, made
by ``scripts/derive_parquet_schema.py``). The rules, documented in ``dialects/duckdb/README.md``:

* an element is a column named as in the JSON; repeating elements are lists; complex types
  and backbone elements are structs; a choice ``value[x]`` is one column per type
  (``valueQuantity``, ``valueString``, ...);
* ``boolean`` → BOOLEAN, ``integer``/``positiveInt``/``unsignedInt`` → BIGINT, ``decimal`` →
  VARCHAR holding the number **exactly as written** (cast it to DECIMAL in SQL), every other
  primitive → VARCHAR;
* a primitive's extension ``_field`` is a VARCHAR of its JSON (lists keep their nulls);
* ``extension`` is a typed struct on the resource itself (to :data:`EXTENSION_DEPTH` levels of
  ``Extension.extension``; complex ``value[x]`` types other than :data:`EXTENSION_VALUE_TYPES`
  as VARCHAR JSON); elsewhere, and ``modifierExtension`` everywhere, it is VARCHAR JSON;
* a type nested in itself (``Questionnaire.item``, ``Reference.identifier.assigner``) is typed
  to :data:`RECURSION_DEPTH` levels, any deeper level is VARCHAR JSON; so are contained and
  nested resources (``contained``, ``Bundle.entry.resource``);
* ``_tenant``, ``_version_id``, ``_last_updated`` (TIMESTAMP, UTC) describe the stored
  version; ``_raw`` holds the whole resource as JSON when it does not fit the typed columns
  (an unknown element, a value of the wrong JSON type), NULL otherwise.

:meth:`Layout.to_row` and :meth:`Layout.from_row` are exact inverses (tested on every official
example and every Synthea resource).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Any

import pyarrow as pa

from helios_persistence.storage.exact_json import decimal_text
from helios_persistence.storage.exact_json import loads as exact_loads
from helios_persistence.storage.validation import serialize

__all__ = ["EXTENSION_DEPTH", "META_COLUMNS", "RECURSION_DEPTH", "Layout", "layout_for"]

#: levels of ``Extension.extension`` typed on the resource (deeper ones: JSON text)
EXTENSION_DEPTH = 2
#: the complex ``Extension.value[x]`` types kept as structs (the others: JSON text columns)
EXTENSION_VALUE_TYPES = frozenset(
    {"CodeableConcept", "Coding", "Period", "Quantity", "Reference"}
)  # fmt: skip
#: levels a backbone element may nest inside itself (``Questionnaire.item.item``) before the
#: rest is kept as JSON text; a data type never nests in itself (``Reference.identifier`` is
#: typed, its ``assigner`` is JSON text)
RECURSION_DEPTH = 3
#: nesting levels of structs below the resource, whatever the types (the rest: JSON text)
MAX_DEPTH = 10

META_COLUMNS = ("_tenant", "_version_id", "_last_updated", "_raw")
_META_TYPES = (pa.string(), pa.int64(), pa.timestamp("us", tz="UTC"), pa.large_string())
_INTEGERS = frozenset({"integer", "positiveInt", "unsignedInt"})


@cache
def _elements() -> dict[str, Any]:
    text = resources.files("helios_persistence.dialects").joinpath("duckdb/elements.json")
    data: dict[str, Any] = json.loads(text.read_text(encoding="utf-8"))
    return data


def resource_types() -> tuple[str, ...]:
    return tuple(_elements()["resources"])


class Misfit(Exception):
    """A value the typed columns cannot hold (the row keeps the resource as ``_raw``)."""


@dataclass(frozen=True, slots=True)
class Spec:
    """How one column holds its value: ``kind`` is prim, struct or json."""

    kind: str
    code: str = ""
    fields: tuple[Field, ...] = ()
    by_name: dict[str, Field] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    spec: Spec
    many: bool


_JSON = Spec("json")


def _arrow(spec: Spec) -> pa.DataType:
    if spec.kind == "json":
        return pa.string()
    if spec.kind == "prim":
        if spec.code == "boolean":
            return pa.bool_()
        if spec.code in _INTEGERS:
            return pa.int64()
        return pa.string()
    return pa.struct([_arrow_field(f) for f in spec.fields])


def _arrow_field(f: Field) -> pa.Field:
    t = _arrow(f.spec)
    return pa.field(f.name, pa.list_(t) if f.many else t)


class _Builder:
    def __init__(self) -> None:
        self.data = _elements()
        self.primitives = set(self.data["primitives"])

    def struct(self, key: str, stack: tuple[str, ...], root: bool) -> Spec:
        limit = EXTENSION_DEPTH if key == "Extension" else RECURSION_DEPTH if "." in key else 1
        if stack.count(key) >= limit:
            return _JSON
        if len(stack) > MAX_DEPTH or key not in self.data["types"]:
            return _JSON
        stack = (*stack, key)
        fields: list[Field] = []
        for name, codes, many in self.data["types"][key]:
            if name == "modifierExtension" or (
                name == "extension" and not (root or key == "Extension")
            ):
                fields.append(Field(name, _JSON, False))
                continue
            choice = name.endswith("[x]")
            for code in codes:
                column = name[:-3] + code[0].upper() + code[1:] if choice else name
                if key == "Extension" and choice and code[0].isupper():
                    spec = self.spec(code, stack) if code in EXTENSION_VALUE_TYPES else _JSON
                else:
                    spec = self.spec(code, stack)
                fields.append(Field(column, spec, many and spec.kind != "json"))
                if spec.kind == "prim":
                    fields.append(Field("_" + column, _JSON, False))
        return Spec("struct", key, tuple(fields), {f.name: f for f in fields})

    def spec(self, code: str, stack: tuple[str, ...]) -> Spec:
        if code in self.primitives or code == "string":
            return Spec("prim", code)
        if code in ("Resource", "DomainResource"):
            return _JSON
        return self.struct(code[1:] if code.startswith("#") else code, stack, False)


class Layout:
    """The columns of one resource type and the conversions to and from them."""

    def __init__(self, resource_type: str) -> None:
        if resource_type not in _elements()["resources"]:
            raise KeyError(resource_type)
        self.resource_type = resource_type
        self.spec = _Builder().struct(resource_type, (), True)
        typed = [_arrow_field(f) for f in self.spec.fields]
        meta = [pa.field(n, t) for n, t in zip(META_COLUMNS, _META_TYPES, strict=True)]
        self.schema = pa.schema([pa.field("resourceType", pa.string()), *typed, *meta])

    # -- resource → row ---------------------------------------------------------------------------
    def to_row(self, resource: dict[str, Any]) -> dict[str, Any]:
        """The typed columns of ``resource`` (or, when it does not fit, ``_raw``)."""
        try:
            if resource.get("resourceType") != self.resource_type:
                raise Misfit("resourceType")
            row = _encode_struct(self.spec, resource, skip=("resourceType",))
            row["resourceType"] = self.resource_type
            return row
        except Misfit:
            return {
                "resourceType": self.resource_type,
                "id": resource.get("id"),
                "_raw": _dumps(resource),
            }

    # -- row → resource ---------------------------------------------------------------------------
    def from_row(self, row: dict[str, Any]) -> dict[str, Any]:
        """The resource a row (as pyarrow's ``to_pylist`` or DuckDB's ``to_json`` gives it)
        holds."""
        raw = row.get("_raw")
        if raw is not None:
            loaded: dict[str, Any] = exact_loads(raw)
            return loaded
        out: dict[str, Any] = {"resourceType": self.resource_type}
        out.update(_decode_struct(self.spec, row))
        return out


def _dumps(value: Any) -> str:
    """Compact JSON text, a ``Decimal`` written with its own digits."""
    return serialize(value)


#: what a BIGINT column holds
_INT64 = range(-(2**63), 2**63)


def _encode(spec: Spec, value: Any) -> Any:
    if value is None:
        raise Misfit("null")
    if spec.kind == "json":
        return _dumps(value)
    if spec.kind == "prim":
        code = spec.code
        if code == "boolean":
            if not isinstance(value, bool):
                raise Misfit(code)
            return value
        if code in _INTEGERS:
            if isinstance(value, bool) or not isinstance(value, int) or value not in _INT64:
                raise Misfit(code)
            return value
        if code == "decimal":
            if isinstance(value, Decimal):
                return decimal_text(value)  # the digits as written (``1.10``)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise Misfit(code)
            return _dumps(value)
        if not isinstance(value, str):
            raise Misfit(code)
        return value
    if not isinstance(value, dict):
        raise Misfit(spec.code)
    return _encode_struct(spec, value)


def _encode_struct(spec: Spec, value: dict[str, Any], skip: tuple[str, ...] = ()) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, item in value.items():
        if key in skip:
            continue
        f = spec.by_name.get(key)
        if f is None:
            raise Misfit(key)
        if f.many:
            if not isinstance(item, list):
                raise Misfit(key)
            out[key] = [_encode(f.spec, v) for v in item]
        else:
            if isinstance(item, list) and f.spec.kind != "json":
                raise Misfit(key)
            out[key] = _encode(f.spec, item)
    return out


def _decode(spec: Spec, value: Any) -> Any:
    if spec.kind == "json":
        return exact_loads(value)
    if spec.kind == "prim":
        if spec.code == "decimal":
            return exact_loads(value)
        return value
    return _decode_struct(spec, value)


def _decode_struct(spec: Spec, value: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in spec.fields:
        item = value.get(f.name)
        if item is None:
            continue
        out[f.name] = [_decode(f.spec, v) for v in item] if f.many else _decode(f.spec, item)
    return out


@cache
def layout_for(resource_type: str) -> Layout:
    """The (cached) layout of ``resource_type``; ``KeyError`` for an unknown type."""
    return Layout(resource_type)
