"""ViewDefinition structure: validated once into frozen nodes that name their JSON path.

:func:`parse_view` checks what can be checked without data — the shape of every element,
column names (``^[A-Za-z][A-Za-z0-9_]*$``, unique across the view), constants (a name and
exactly one ``value[x]``), ``forEach`` / ``forEachOrNull`` / ``repeat`` exclusivity,
``unionAll`` branches with the same columns in the same order, FHIRPath syntax — and raises
:class:`~helios_persistence.errors.InvalidViewDefinition` whose ``expression`` is the path of
the offending element (``select[0].unionAll[1]``). Type checks that need the lowering
(``where`` must be boolean, ``collection: false`` must be single-valued) happen in
:mod:`helios_persistence.views.view`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson

from helios_persistence.errors import InvalidViewDefinition
from helios_persistence.indexing.model import is_resource_type
from helios_persistence.views import fhirpath as fp

__all__ = ["Column", "Select", "View", "parse_view"]

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
#: the ``value[x]`` types a constant may have, with the FHIR type each carries
_CONSTANT_TYPES = {
    "valueBase64Binary": "base64Binary",
    "valueBoolean": "boolean",
    "valueCanonical": "canonical",
    "valueCode": "code",
    "valueDate": "date",
    "valueDateTime": "dateTime",
    "valueDecimal": "decimal",
    "valueId": "id",
    "valueInstant": "instant",
    "valueInteger": "integer",
    "valueInteger64": "integer",
    "valueOid": "oid",
    "valuePositiveInt": "positiveInt",
    "valueString": "string",
    "valueTime": "time",
    "valueUnsignedInt": "unsignedInt",
    "valueUri": "uri",
    "valueUrl": "url",
    "valueUuid": "uuid",
}


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    path: fp.Node
    text: str
    type: str | None
    collection: bool | None
    where: str


@dataclass(frozen=True, slots=True)
class Select:
    columns: tuple[Column, ...]
    selects: tuple[Select, ...]
    union: tuple[Select, ...]
    for_each: fp.Node | None
    or_null: bool
    repeat: tuple[str, ...]
    where: str

    def names(self) -> list[str]:
        """The column names this select produces, in order."""
        out = [c.name for c in self.columns]
        for child in self.selects:
            out += child.names()
        if self.union:
            out += self.union[0].names()
        return out


@dataclass(frozen=True, slots=True)
class View:
    resource: str
    selects: tuple[Select, ...]
    where: tuple[tuple[fp.Node, str], ...]
    constants: dict[str, tuple[Any, str]]
    name: str | None = None

    def names(self) -> list[str]:
        out: list[str] = []
        for select in self.selects:
            out += select.names()
        return out


def _fail(message: str, where: str) -> InvalidViewDefinition:
    return InvalidViewDefinition(f"{where}: {message}", expression=where)


def _list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _fail("must be a list", where)
    return value


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _fail("must be an object", where)
    return value


def _path(value: Any, where: str) -> fp.Node:
    if not isinstance(value, str):
        raise _fail(f"must be a FHIRPath string, not {type(value).__name__}", where)
    return fp.parse(value, where)


def parse_view(view: Any) -> View:
    """Validate ``view`` (a ViewDefinition: parsed JSON, or JSON text) into a :class:`View`."""
    if isinstance(view, str | bytes):
        try:
            view = orjson.loads(view)
        except orjson.JSONDecodeError as exc:
            raise InvalidViewDefinition(f"the ViewDefinition is not valid JSON ({exc})") from None
    view = _object(view, "ViewDefinition")
    if view.get("resourceType", "ViewDefinition") != "ViewDefinition":
        raise _fail("resourceType must be ViewDefinition", "resourceType")
    resource = view.get("resource")
    if not isinstance(resource, str) or not resource:
        raise _fail("is required (the FHIR resource type the view reads)", "resource")
    if not is_resource_type(resource):
        raise _fail(f"{resource!r} is not a FHIR R4 resource type", "resource")
    constants = _constants(view.get("constant"))
    selects = _list(view.get("select"), "select")
    if not selects:
        raise _fail("a ViewDefinition needs at least one select", "select")
    parsed = tuple(_select(s, f"select[{i}]") for i, s in enumerate(selects))
    where = []
    for i, item in enumerate(_list(view.get("where"), "where")):
        spot = f"where[{i}].path"
        where.append((_path(_object(item, f"where[{i}]").get("path"), spot), spot))
    out = View(resource, parsed, tuple(where), constants, view.get("name"))
    seen: set[str] = set()
    for name in out.names():
        if name in seen:
            raise _fail(f"column name {name!r} is used more than once", "select")
        seen.add(name)
    return out


def _constants(items: Any) -> dict[str, tuple[Any, str]]:
    out: dict[str, tuple[Any, str]] = {}
    for i, item in enumerate(_list(items, "constant")):
        where = f"constant[{i}]"
        item = _object(item, where)
        name = item.get("name")
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise _fail("needs a name (letters, digits, _)", f"{where}.name")
        values = [k for k in item if k.startswith("value")]
        if len(values) != 1 or values[0] not in _CONSTANT_TYPES:
            raise _fail(f"constant {name!r} needs exactly one value[x] of a primitive type", where)
        value = item[values[0]]
        type_name = _CONSTANT_TYPES[values[0]]
        if type_name == "decimal":
            value = Decimal(str(value))
        out[name] = (value, type_name)
    return out


def _select(item: Any, where: str) -> Select:
    item = _object(item, where)
    keys = [k for k in ("forEach", "forEachOrNull", "repeat") if k in item]
    if len(keys) > 1:
        raise _fail(f"{' and '.join(keys)} cannot be used together", where)
    for_each = None
    repeat: tuple[str, ...] = ()
    if "forEach" in item or "forEachOrNull" in item:
        key = keys[0]
        for_each = _path(item[key], f"{where}.{key}")
    if "repeat" in item:
        paths = _list(item["repeat"], f"{where}.repeat")
        if not paths:
            raise _fail("needs at least one path", f"{where}.repeat")
        for j, text in enumerate(paths):
            _path(text, f"{where}.repeat[{j}]")
        repeat = tuple(paths)
    columns = []
    for j, column in enumerate(_list(item.get("column"), f"{where}.column")):
        columns.append(_column(column, f"{where}.column[{j}]"))
    selects = tuple(
        _select(s, f"{where}.select[{j}]")
        for j, s in enumerate(_list(item.get("select"), f"{where}.select"))
    )
    union = tuple(
        _select(s, f"{where}.unionAll[{j}]")
        for j, s in enumerate(_list(item.get("unionAll"), f"{where}.unionAll"))
    )
    if union:
        first = union[0].names()
        for j, branch in enumerate(union[1:], start=1):
            if branch.names() != first:
                raise _fail(
                    f"unionAll branches must have the same columns in the same order "
                    f"({', '.join(first)} vs {', '.join(branch.names())})",
                    f"{where}.unionAll[{j}]",
                )
    if not columns and not selects and not union:
        raise _fail("a select needs a column, a select or a unionAll", where)
    return Select(tuple(columns), selects, union, for_each, "forEachOrNull" in item, repeat, where)


def _column(item: Any, where: str) -> Column:
    item = _object(item, where)
    name = item.get("name")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise _fail(f"column name {name!r} must match [A-Za-z][A-Za-z0-9_]*", f"{where}.name")
    collection = item.get("collection")
    if collection is not None and not isinstance(collection, bool):
        raise _fail("collection must be true or false", f"{where}.collection")
    type_name = item.get("type")
    if type_name is not None and not isinstance(type_name, str):
        raise _fail("type must be a string", f"{where}.type")
    text = item.get("path")
    return Column(name, _path(text, f"{where}.path"), text, type_name, collection, f"{where}.path")
