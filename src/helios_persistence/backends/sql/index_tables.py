"""The relational index model shared by the SQL backends: tables, columns, rows per resource.

Each :mod:`helios_persistence.indexing.rows` type maps to its ``idx_*`` table. A
:class:`~helios_persistence.indexing.rows.CompositeRow`'s components go to their own type's
table under the parameter ``<composite>$<i>`` (``i`` = component position from 0), tied by a
``grp`` number unique per composite row within the resource (plain rows have ``grp`` NULL).
Numbers are stored exactly, never as floats: PostgreSQL binds them as ``Decimal`` into
``NUMERIC`` columns; SQLite (and a DuckDB export) stores each as its order-preserving text key
(:func:`~helios_persistence.indexing.decimal_keys.number_key`), whose byte order is the
numbers' order. ``rows_by_table(..., number=)`` says which.

One exception: a plain date row that is not *regular* has ``grp`` 0 (:data:`IRREGULAR`). A
regular date row is its resource's only value of that parameter and spans at most
:data:`NARROW_SPAN` (a day), as nearly every dateTime and date does. The compilers rely on
it: a date range (``date=ge2020-01&date=lt2020-02``) reads regular rows from a short slice of
the ``low`` index and the few irregular ones from their own partial index, so every store
that writes these tables must write ``grp`` as :func:`rows_by_table` does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from helios_persistence.indexing.decimal_keys import number_key
from helios_persistence.indexing.rows import (
    CompositeRow,
    DateRow,
    IndexRow,
    NumberRow,
    QuantityRow,
    ReferenceRow,
    StringRow,
    TokenRow,
    UriRow,
)

__all__ = [
    "COLUMNS",
    "INDEX_TABLES",
    "IRREGULAR",
    "KEY",
    "NARROW_SPAN",
    "NUMBER_COLUMNS",
    "PARAM_TEXT_SLOTS",
    "TABLE_OF_TYPE",
    "param_texts",
    "rows_by_table",
]

INDEX_TABLES = (
    "idx_string",
    "idx_token",
    "idx_date",
    "idx_number",
    "idx_quantity",
    "idx_reference",
    "idx_uri",
)

#: the index table of each search parameter type (the SQL compilers search these)
TABLE_OF_TYPE = {
    "string": "idx_string",
    "token": "idx_token",
    "date": "idx_date",
    "number": "idx_number",
    "quantity": "idx_quantity",
    "reference": "idx_reference",
    "uri": "idx_uri",
}
assert tuple(TABLE_OF_TYPE.values()) == INDEX_TABLES

#: the key columns every index row starts with
KEY = ("tenant", "type", "id", "param", "grp")

#: the value columns of each index table, in insert order
COLUMNS = {
    "idx_string": ("norm", "exact"),
    "idx_token": ("system", "code", "text", "type_system", "type_code"),
    "idx_date": ("low", "high"),
    "idx_number": ("value", "low", "high"),
    "idx_quantity": (
        "value",
        "low",
        "high",
        "system",
        "code",
        "unit",
        "canonical_value",
        "canonical_low",
        "canonical_high",
        "canonical_unit",
    ),
    "idx_reference": (
        "target_type",
        "target_id",
        "version",
        "url",
        "identifier_system",
        "identifier_value",
    ),
    "idx_uri": ("uri",),
}

#: the number columns of each table holding numbers (positions in ``KEY`` + ``COLUMNS``)
NUMBER_COLUMNS = {
    table: tuple(
        len(KEY) + i for i, c in enumerate(COLUMNS[table]) if c.endswith(("value", "low", "high"))
    )
    for table in ("idx_number", "idx_quantity")
}

#: the widest span (µs) of a regular date row: a day
NARROW_SPAN = 86_400_000_000
#: ``grp`` of a plain date row that is not regular (see the module docstring)
IRREGULAR = 0

#: at most this many per-parameter text rows (``:text-advanced``) per resource
PARAM_TEXT_SLOTS = 1024


#: how a backend binds a number: its text key (SQLite, DuckDB) or the Decimal (PostgreSQL)
Number = Callable[[Decimal], Any]


def _values(row: IndexRow, number: Number) -> tuple[str, tuple[Any, ...]]:
    """The table and the non-key column values for ``row``."""

    def _f(value: Decimal | None) -> Any:
        return None if value is None else number(value)

    match row:
        case StringRow():
            return "idx_string", (row.norm, row.exact)
        case TokenRow():
            return "idx_token", (row.system, row.code, row.text, row.type_system, row.type_code)
        case DateRow():
            return "idx_date", (row.low, row.high)
        case NumberRow():
            return "idx_number", (_f(row.value), _f(row.low), _f(row.high))
        case QuantityRow():
            return "idx_quantity", (
                _f(row.value),
                _f(row.low),
                _f(row.high),
                row.system,
                row.code,
                row.unit,
                _f(row.canonical_value),
                _f(row.canonical_low),
                _f(row.canonical_high),
                row.canonical_unit,
            )
        case ReferenceRow():
            return "idx_reference", (
                row.target_type,
                row.target_id,
                row.version,
                row.url,
                row.identifier_system,
                row.identifier_value,
            )
        case UriRow():
            return "idx_uri", (row.uri,)
    raise TypeError(f"not an index row: {row!r}")


def rows_by_table(
    tenant: str,
    resource_type: str,
    id: str,
    rows: Iterable[IndexRow | CompositeRow],
    *,
    number: Number = number_key,
) -> dict[str, list[tuple[Any, ...]]]:
    """The insert parameters (``KEY`` + ``COLUMNS[table]``) per table for ``rows``; numbers
    as ``number`` makes them (text keys by default, see the module's documentation)."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    group = 0
    rows = list(rows)
    dates: dict[str, int] = {}
    for row in rows:
        if isinstance(row, DateRow):
            dates[row.param] = dates.get(row.param, 0) + 1
    for row in rows:
        if isinstance(row, CompositeRow):
            group += 1
            for i, component in enumerate(row.components):
                table, values = _values(component, number)
                key = (tenant, resource_type, id, f"{row.param}${i}", group)
                out.setdefault(table, []).append(key + values)
        else:
            table, values = _values(row, number)
            grp = None
            if isinstance(row, DateRow) and (
                dates[row.param] > 1 or not 0 < row.high - row.low <= NARROW_SPAN
            ):
                grp = IRREGULAR
            out.setdefault(table, []).append((tenant, resource_type, id, row.param, grp, *values))
    return out


def param_texts(rows: Iterable[IndexRow | CompositeRow]) -> list[tuple[str, str]]:
    """``(param, text)`` for ``:text-advanced``: token display/text and string values."""
    out: list[tuple[str, str]] = []
    for row in rows:
        if isinstance(row, TokenRow) and row.text:
            out.append((row.param, row.text))
        elif isinstance(row, StringRow):
            out.append((row.param, row.exact))
    return out[:PARAM_TEXT_SLOTS]
