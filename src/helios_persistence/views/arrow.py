"""Result rows of a view as a :class:`pyarrow.Table` with one type per column.

Column types follow the FHIR type of the column: boolean → ``bool``, integer kinds →
``int64``, decimal → ``float64``, anything else → ``string``; a ``collection`` column is a
``list`` of those. The same view gives the same Arrow schema on every dialect (SQLite's 0/1
booleans, PostgreSQL's ``numeric`` and every dialect's JSON arrays are converted here).
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    import pyarrow as pa

    from helios_persistence.views.view import CompiledView, ViewColumn

__all__ = ["arrow_type", "to_arrow"]

_INTEGERS = frozenset({"integer", "positiveInt", "unsignedInt", "integer64"})


def arrow_type(column: ViewColumn) -> pa.DataType:
    import pyarrow as pa

    if column.type == "boolean":
        item = pa.bool_()
    elif column.type in _INTEGERS:
        item = pa.int64()
    elif column.type == "decimal":
        item = pa.float64()
    else:
        item = pa.string()
    return pa.list_(item) if column.collection else item


def _scalar(value: Any, column: ViewColumn) -> Any:
    if value is None:
        return None
    if column.type == "boolean":
        return bool(value) if not isinstance(value, str) else value == "true"
    if column.type in _INTEGERS:
        return int(value)
    if column.type == "decimal":
        return float(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    if isinstance(value, Decimal | float | int):
        return str(value)
    return str(value)


def _cell(value: Any, column: ViewColumn) -> Any:
    if not column.collection:
        return _scalar(value, column)
    if value is None:
        return []
    items = orjson.loads(value) if isinstance(value, str | bytes) else value
    return [_scalar(item, column) for item in items]


def to_arrow(compiled: CompiledView, data: pa.Table | list[tuple[Any, ...]]) -> pa.Table:
    """``data`` (rows, or DuckDB's Arrow result) typed by ``compiled``'s columns."""
    import pyarrow as pa

    names = [c.name for c in compiled.columns]
    schema = pa.schema([pa.field(c.name, arrow_type(c)) for c in compiled.columns])
    if isinstance(data, pa.Table):
        if data.schema.equals(schema, check_metadata=False):
            return data
        arrays = []
        for i, column in enumerate(compiled.columns):
            chunked = data.column(i)
            target = schema.field(i).type
            if chunked.type == target:
                arrays.append(chunked)
            elif (
                not column.collection
                and column.type not in ("boolean", "decimal")
                and column.type not in _INTEGERS
                and pa.types.is_string(chunked.type)
            ):
                arrays.append(chunked.cast(target))
            else:
                values = [_cell(v, column) for v in chunked.to_pylist()]
                arrays.append(pa.array(values, target))
        return pa.Table.from_arrays(arrays, schema=schema)
    columns = list(zip(*data, strict=True)) if data else [() for _ in names]
    arrays = [
        pa.array([_cell(v, c) for v in values], schema.field(i).type)
        for i, (c, values) in enumerate(zip(compiled.columns, columns, strict=True))
    ]
    return pa.Table.from_arrays(arrays, schema=schema)
