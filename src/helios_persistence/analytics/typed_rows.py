"""Typed resource rows in bulk: DuckDB turns a batch of stored JSON documents into the columns
of the Parquet layout (:mod:`.layout`), in C++, instead of :meth:`Layout.to_row` per resource.

A batch's rows hold the layout's top-level columns its documents use, each with the struct
fields they use (:func:`fitted`: a subset of the column's type, in the layout's order); files
whose types differ are united by name where :mod:`.lake` reads them. The documents are
checked on their merged ``json_structure`` (or on each distinct one);
one DuckDB could not convert exactly goes through :meth:`Layout.to_row` instead (same
columns, or ``_raw``):

* a number DuckDB would not write back with the same digits (its JSON reader parses numbers
  as doubles): trailing zeros (``1.10``), exponents, 16 or more digits, ``-0``, leading zeros
  after the point (:data:`INEXACT`, a conservative match on the JSON text);
* a ``null`` anywhere (the typed columns cannot tell it from an absent element);
* a document whose structure does not fit the layout (an unknown element, a value
  of another JSON type than the element's, an empty object where a struct is expected).

The bytes of the stored JSON are not touched here (the ``stored`` dataset keeps them).
"""

from __future__ import annotations

import json
import threading
from typing import Any

import duckdb
import pyarrow as pa

from helios_persistence.analytics.datasets import read_json_lines
from helios_persistence.analytics.layout import _INTEGERS, Spec, layout_for
from helios_persistence.storage import exact_json

__all__ = ["INEXACT", "TypedRows", "fitted", "fitted_schema", "used_schema"]

#: a document DuckDB may not convert with the same digits or values (see the module text); it
#: matches number tokens (after ``:``, ``[`` or ``,``, as in compact or PostgreSQL's JSON
#: text); a match inside a string only sends that document the slow way
INEXACT = (
    r"[:\[,] ?(null[,\]}]|-?[0-9][0-9.]*[eE]|-?[0-9]+\.[0-9]*[0-9]0[,\]}]|-?[0-9]+\.000"
    r"|-?[0-9.]{16}|-0[,\]}])"
)
_META = (
    ("_tenant", "VARCHAR"),
    ("_version_id", "BIGINT"),
    ("_last_updated", "TIMESTAMPTZ"),
    ("_raw", "VARCHAR"),
)


#: slow documents a batch names in a list (more: DuckDB matches :data:`INEXACT` again)
_FEW = 256


class _Unfit(Exception):
    """The batch's structure does not fit the layout."""


def _prim_type(code: str) -> str:
    if code == "boolean":
        return "BOOLEAN"
    return "BIGINT" if code in _INTEGERS else "VARCHAR"


def _prune(spec: Spec, structure: Any) -> dict[str, Any]:
    """The ``json_transform`` structure of ``spec`` limited to ``structure`` (a document's
    ``json_structure``), in the layout's order; :class:`_Unfit` where the document does not
    fit."""
    if not isinstance(structure, dict):
        raise _Unfit(str(structure))
    unknown = structure.keys() - spec.by_name.keys()
    if unknown:
        raise _Unfit(min(unknown))
    shape: dict[str, Any] = {}
    for f in spec.fields:
        if f.name not in structure:
            continue
        name, sub = f.name, structure[f.name]
        if f.spec.kind == "json":  # any JSON value, kept as its text
            shape[name] = "JSON"
        elif f.many:
            if not isinstance(sub, list):
                raise _Unfit(name)
            shape[name] = [_element(f.spec, sub[0])]
        else:
            shape[name] = _element(f.spec, sub)
    return shape


def _union(spec: Spec, a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Two pruned structures of ``spec`` (:func:`_prune`) as one, in the layout's order."""
    out: dict[str, Any] = {}
    for f in spec.fields:
        x, y = a.get(f.name), b.get(f.name)
        if x is None or y is None or f.spec.kind != "struct":
            if x is not None or y is not None:
                out[f.name] = x if x is not None else y
        elif f.many:
            out[f.name] = [_union(f.spec, x[0], y[0])]
        else:
            out[f.name] = _union(f.spec, x, y)
    return out


def fitted(full: pa.DataType, *present: pa.DataType) -> pa.DataType:
    """``full`` (a layout column's complete type) with only the struct fields some type of
    ``present`` (pruned types of it) has, in ``full``'s order: the type that holds each of
    them (pyarrow casts a struct to one with more fields by name, the others null)."""
    if pa.types.is_struct(full):
        fields = []
        for f in full:
            subs = [p.field(f.name).type for p in present if p.get_field_index(f.name) >= 0]
            if subs:
                fields.append(pa.field(f.name, fitted(f.type, *subs)))
        return pa.struct(fields)
    if pa.types.is_list(full):
        return pa.list_(fitted(full.value_type, *(p.value_type for p in present)))
    return full


def fitted_schema(resource_type: str, *present: pa.Schema) -> pa.Schema:
    """The typed rows' schema holding every column and field of ``present`` (:func:`fitted`)."""
    fields = []
    for f in layout_for(resource_type).schema:
        subs = [p.field(f.name).type for p in present if p.get_field_index(f.name) >= 0]
        if subs:
            fields.append(pa.field(f.name, fitted(f.type, *subs)))
    return pa.schema(fields)


def _element(spec: Spec, sub: Any) -> Any:
    if spec.kind == "struct":
        return _prune(spec, sub)  # (an empty list's "NULL" element does not fit)
    code = spec.code
    if code == "boolean":
        allowed: tuple[str, ...] = ("BOOLEAN",)
    elif code in _INTEGERS:
        allowed = ("BIGINT", "UBIGINT")
    elif code == "decimal":
        allowed = ("BIGINT", "UBIGINT", "DOUBLE")
    else:
        allowed = ("VARCHAR",)
    if sub not in (*allowed, "NULL"):
        raise _Unfit(f"{code}: {sub}")
    return _prim_type(code)


def _root(resource_type: str, structure: Any) -> dict[str, Any]:
    """:func:`_prune` for a resource: its ``resourceType`` is a column too."""
    if not isinstance(structure, dict) or structure.get("resourceType") != "VARCHAR":
        raise _Unfit("resourceType")
    rest = {k: v for k, v in structure.items() if k != "resourceType"}
    return _prune(layout_for(resource_type).spec, rest)


_DATABASE: list[duckdb.DuckDBPyConnection] = []
_DATABASE_LOCK = threading.Lock()


def _session() -> duckdb.DuckDBPyConnection:
    """A session of the process's DuckDB database for the conversions, opened once (opening
    one took 25-40 ms: most of a small export), limited to 128 MB (every export's conversions
    share it; one that runs out converts its batch in Python)."""
    with _DATABASE_LOCK:
        if not _DATABASE:
            con = duckdb.connect(":memory:")
            con.execute("SET autoinstall_known_extensions = false")
            con.execute("SET memory_limit = '128MB'")
            _DATABASE.append(con)
        return _DATABASE[0].cursor()


class TypedRows:
    """Converts batches of stored documents (an Arrow table of ``tenant, id, version,
    last_updated, json``) to typed rows, with one DuckDB connection."""

    def __init__(self) -> None:
        self.con = _session()  # (registrations are the session's own)
        self.con.execute("SET enable_progress_bar = false")
        self.fallbacks = 0  # documents converted by Layout.to_row

    def close(self) -> None:
        self.con.close()

    def convert(self, resource_type: str, batch: pa.Table) -> pa.Table:
        """The typed rows of ``batch``: the layout's top-level columns its documents use,
        each with the fields they use (DuckDB's rows), or with its complete type when some
        documents are converted by :meth:`Layout.to_row`."""
        con = self.con
        con.register("helios_batch", batch)
        try:
            merged = self._merged(resource_type)
            shape, slow = merged if merged is not None else self._grouped(resource_type, batch)
            params: dict[str, Any]
            if merged is not None and len(slow) > _FEW:  # (every exact document fits)
                where, params = "NOT regexp_matches(json, $inexact)", {"inexact": INEXACT}
            else:
                where, params = "NOT list_contains($slow, id)", {"slow": slow}
            out: list[pa.Table] = []
            if len(slow) < batch.num_rows:
                try:
                    out.append(self._duckdb_rows(shape, where, params))
                except duckdb.OutOfMemoryException:  # (huge documents) one at a time
                    slow = batch.column("id").to_pylist()
            if slow:
                out.append(self._python_rows(resource_type, batch, set(slow)))
            return _together(resource_type, out)
        finally:
            con.unregister("helios_batch")

    def _merged(self, resource_type: str) -> tuple[dict[str, Any], list[str]] | None:
        """``(structure, inexact ids)`` when the merged ``json_structure`` of the registered
        batch's exact documents fits the layout, so each of them does (a key or a type the
        layout has not, or two JSON types of one element, which merge as ``JSON``, do not
        fit): the ``json_transform`` structure of what they use; None when it does not (or
        DuckDB ran out of memory): see :meth:`_grouped`."""
        try:
            [(structure, inexact)] = self.con.execute(
                "SELECT json_group_structure(CASE WHEN NOT x THEN json::JSON END), "
                "coalesce(list(id) FILTER (WHERE x), []) FROM (SELECT id, json, "
                "regexp_matches(json, $inexact) AS x FROM helios_batch)",
                {"inexact": INEXACT},
            ).fetchall()
            merged = None if structure is None else json.loads(structure)
            if merged in (None, "NULL"):  # every document is inexact
                return {}, inexact
            return _root(resource_type, merged), inexact
        except (_Unfit, duckdb.OutOfMemoryException):
            return None

    def _grouped(self, resource_type: str, batch: pa.Table) -> tuple[dict[str, Any], list[str]]:
        """``(structure, slow ids)``: the documents checked on each distinct structure."""
        groups = self._structures(batch)
        if groups is None:  # (huge documents) one at a time
            groups = [(None, batch.column("id").to_pylist())]
        slow: list[str] = []
        shape: dict[str, Any] = {}
        spec = layout_for(resource_type).spec
        for structure, ids in groups:
            try:
                if structure is None:
                    raise _Unfit("inexact")
                shape = _union(spec, shape, _root(resource_type, json.loads(structure)))
            except _Unfit:
                slow.extend(ids)
        return shape, slow

    def _structures(self, batch: pa.Table) -> list[tuple[str | None, list[str]]] | None:
        """``(json_structure, ids)`` of the registered batch (None: inexact, see
        :data:`INEXACT`); None when DuckDB runs out of memory."""
        try:
            groups: list[tuple[str | None, list[str]]] = self.con.execute(
                "SELECT s, list(id) FROM (SELECT id, CASE WHEN regexp_matches(json, $inexact) "
                "THEN NULL ELSE json_structure(json) END AS s FROM helios_batch) GROUP BY s",
                {"inexact": INEXACT},
            ).fetchall()
        except duckdb.OutOfMemoryException:
            return None
        return groups

    def _duckdb_rows(self, shape: dict[str, Any], where: str, params: dict[str, Any]) -> pa.Table:
        """The documents ``where`` holds converted by DuckDB to ``shape`` (the columns and
        fields they use; ``json_transform`` of a whole layout column's type took twice the
        time, and writing its ≈ 600 mostly empty leaves three times). The batch's order is
        kept (DuckDB preserves insertion order)."""
        table = self.con.sql(
            "SELECT json ->> 'resourceType' AS resourceType, "
            "unnest(json_transform(json, $shape)), "
            "tenant AS _tenant, version AS _version_id, last_updated AS _last_updated, "
            f"NULL::VARCHAR AS _raw FROM helios_batch WHERE {where}",
            params={"shape": json.dumps(shape), **params},
        ).to_arrow_table()
        at = table.schema.get_field_index("_last_updated")
        return table.set_column(
            at, "_last_updated", table.column(at).cast(pa.timestamp("us", tz="UTC"))
        )

    def _python_rows(self, resource_type: str, batch: pa.Table, ids: set[str]) -> pa.Table:
        """The documents ``ids`` converted by :meth:`Layout.to_row`, made Arrow by pyarrow's
        JSON reader with the layout's types limited to the fields the rows use
        (``pa.Table.from_pylist`` would import pandas: a second of start-up for a few
        documents)."""
        layout = layout_for(resource_type)
        columns = ("tenant", "id", "version", "last_updated", "json")
        lines = []
        used: dict[str, Any] = {name: {} for name in _META_NAMES}
        for tenant, rid, version, updated, text in zip(
            *(batch.column(c).to_pylist() for c in columns), strict=True
        ):
            if rid not in ids:
                continue
            row = layout.to_row(exact_json.loads(text))
            row["_tenant"], row["_version_id"], row["_last_updated"] = tenant, version, updated
            _presence(row, used)
            lines.append(json.dumps(row))
        self.fallbacks += len(lines)
        fields = list(_used(resource_type, used))
        at = [f.name for f in fields].index("_last_updated")
        schema = pa.schema(fields).set(at, pa.field("_last_updated", pa.int64()))
        read = read_json_lines(lines, schema, strict=True)
        return read.set_column(at, fields[at], read.column(at).cast(fields[at].type))


_META_NAMES = frozenset({"resourceType", *(name for name, _ in _META)})


def _presence(value: Any, tree: dict[str, Any]) -> None:
    """Record in ``tree`` (name: subtree) the keys ``value`` has a value for, at every depth
    (a list's items in one subtree)."""
    if isinstance(value, dict):
        for key, sub in value.items():
            if sub is not None:
                _presence(sub, tree.setdefault(key, {}))
    elif isinstance(value, list):
        for item in value:
            _presence(item, tree)


def used_schema(resource_type: str, rows: list[dict[str, Any]]) -> pa.Schema:
    """The layout's schema limited to the columns and struct fields ``rows``
    (:meth:`Layout.to_row`'s) have values for."""
    tree: dict[str, Any] = {}
    for row in rows:
        _presence(row, tree)
    return _used(resource_type, tree)


def _used(resource_type: str, tree: dict[str, Any]) -> pa.Schema:
    full = layout_for(resource_type).schema
    fields = [pa.field(f.name, _pruned(f.type, tree[f.name])) for f in full if f.name in tree]
    return pa.schema(fields)


def _pruned(full: pa.DataType, tree: dict[str, Any]) -> pa.DataType:
    """``full`` with the struct fields ``tree`` (:func:`_presence`) has (all of them where it
    has none: Parquet has no empty struct)."""
    if pa.types.is_list(full):
        return pa.list_(_pruned(full.value_type, tree))
    if not pa.types.is_struct(full):
        return full
    fields = [pa.field(f.name, _pruned(f.type, tree[f.name])) for f in full if f.name in tree]
    return pa.struct(fields) if fields else full


def _together(resource_type: str, tables: list[pa.Table]) -> pa.Table:
    """One table of ``tables`` (each with some of the layout's columns and fields), in layout
    order, each column with the fields of all of them (:func:`fitted_schema`)."""
    schema = fitted_schema(resource_type, *(t.schema for t in tables))
    tables = [t.cast(pa.schema([schema.field(n) for n in t.column_names])) for t in tables]
    table = tables[0] if len(tables) == 1 else pa.concat_tables(tables, promote_options="default")
    return table.select(schema.names)
