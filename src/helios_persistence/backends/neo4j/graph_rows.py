"""Resource versions → the parameter maps the apply statement writes (the graph model:
``dialects/cypher/README.md``), and that statement.

A resource becomes one row: its node's properties — the core ones and its index values (the
rows of :func:`helios_persistence.indexing.extract`) as parallel list properties, one list
per parameter and field (:func:`~helios_persistence.compilers.cypher.value_key`; a composite's
components as parameters ``<param>$<i>``, as in the relational index) — and its reference
relationships (parameter, target type, target id) to local resources.
"""

from __future__ import annotations

import dataclasses
import functools
import operator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from helios_persistence.compilers.cypher import FIELDS, NULL_TEXT, ROWS, type_label, value_key
from helios_persistence.errors import InvalidSearch
from helios_persistence.fhir_values import parse_date
from helios_persistence.indexing import extract
from helios_persistence.indexing.rows import CompositeRow, IndexRow, ReferenceRow
from helios_persistence.registry import Registry
from helios_persistence.storage.sync import Change

__all__ = [
    "HELD_STATEMENT",
    "apply_statement",
    "create_parameters",
    "create_statement",
    "graph_row",
]

#: the versions the graph holds of a batch's keys (``$keys``: ``[type, id]`` pairs; a stub
#: a reference created holds 0); absent keys return no row
HELD_STATEMENT = (
    "UNWIND $keys AS k MATCH (r:Resource {tenant: $tenant, type: k[0], id: k[1]}) "
    "RETURN k[0] AS type, k[1] AS id, coalesce(r.version, 0) AS version"
)

#: row class → its parameter type
_KIND: dict[type, str] = {row: kind for kind, row in ROWS.items()}
_NAN = float("nan")


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def _last_updated(change: Change) -> int:
    """``meta.lastUpdated`` in µs since the epoch. An instant with its zone (what a primary
    writes) is read by ``datetime.fromisoformat``, 0.8 µs against ``parse_date``'s 25 (which
    reads the rest, and gives the same µs for every instant)."""
    meta = (change.resource or {}).get("meta") or {}
    updated = meta.get("lastUpdated")
    if not isinstance(updated, str):
        return change.created_at
    if len(updated) >= 20 and updated[10] == "T":
        try:
            stamp = datetime.fromisoformat(updated)
        except ValueError:
            stamp = None
        if stamp is not None and stamp.tzinfo is not None:
            return (stamp - _EPOCH) // _MICROSECOND
    return parse_date(updated).low


@functools.cache
def _layout(row_type: type, param: str) -> tuple[Any, tuple[tuple[str, bool, str], ...]]:
    """How one parameter's rows become lists: a getter of the fields (in order) and, per
    field, its property key, whether it is the first one (always written) and its values'
    form (``"decimal"``, ``"text"``: may be missing, ``"plain"``: never missing)."""
    kind = _KIND[row_type]
    fields = FIELDS[kind]
    declared = {f.name: str(f.type) for f in dataclasses.fields(row_type)}
    keys = tuple(
        (
            value_key(kind, param, f),
            f == fields[0],
            "decimal" if "Decimal" in declared[f] else "text" if "None" in declared[f] else "plain",
        )
        for f in fields
    )
    if len(fields) == 1:  # (attrgetter of one name gives the value, not a tuple)
        return (lambda row, name=fields[0]: (getattr(row, name),)), keys
    return operator.attrgetter(*fields), keys


def _properties(groups: dict[tuple[type, str], list[IndexRow]]) -> dict[str, Any]:
    """The list properties of each parameter's rows: decimals as doubles (a missing one NaN,
    which no comparison matches, as SQL's null), a missing text :data:`NULL_TEXT`; a list
    with no value at all is left out (except a parameter's first field, which counts its
    rows)."""
    props: dict[str, Any] = {}
    for (row_type, param), found in groups.items():
        getter, keys = _layout(row_type, param)
        columns = zip(*map(getter, found), strict=True)
        for (key, first, form), values in zip(keys, columns, strict=True):
            if form == "plain":
                props[key] = list(values)
                continue
            missing = values.count(None)  # (a C loop: most fields have no missing value)
            if missing == len(values) and not first:
                continue
            if form == "decimal":
                props[key] = [_NAN if v is None else float(v) for v in values]
            elif not missing:
                props[key] = list(values)
            else:
                props[key] = [NULL_TEXT if v is None else v for v in values]
    return props


def graph_row(change: Change, tenant: str, registry: Registry) -> dict[str, Any]:
    """The apply statement's row for one change (a deletion has no values: the node stays as
    a tombstone holding the deleted version). ``InvalidResource`` when it cannot be indexed."""
    type_label(change.resource_type)  # (a plain type name, as the registry has)
    live = change.operation != "delete" and change.resource is not None
    props: dict[str, Any] = {
        "tenant": tenant, "type": change.resource_type, "id": change.id,
        "version": change.version, "lastUpdated": _last_updated(change), "live": live,
    }  # fmt: skip
    row: dict[str, Any] = {
        "type": change.resource_type, "id": change.id, "version": change.version,
        "props": props, "refs": [],
    }  # fmt: skip
    if not live:
        return row
    assert change.resource is not None
    props["json"] = orjson.dumps(change.resource).decode()
    groups: dict[tuple[type, str], list[IndexRow]] = {}
    for value in extract(change.resource, registry).rows:
        if isinstance(value, CompositeRow):
            for i, component in enumerate(value.components):
                groups.setdefault((type(component), f"{value.param}${i}"), []).append(component)
            continue
        groups.setdefault((type(value), value.param), []).append(value)
        if isinstance(value, ReferenceRow) and value.target_type and value.target_id:
            try:
                type_label(value.target_type)
            except InvalidSearch:  # not a resource type: no node to point at
                continue
            row["refs"].append(
                {"param": value.param, "type": value.target_type, "id": value.target_id}
            )
    props.update(_properties(groups))
    return row


@functools.cache
def apply_statement() -> str:
    """Apply rows (``$rows``) of tenant ``$tenant``: each node that is absent or at an older
    version takes the row's type label and properties (``SET r = ...`` drops the old
    version's values) and references (its old ones deleted first). Returns each row's key
    with the version the node held before (0: none), from which ``apply`` counts what was
    applied and what was stale. One text for every batch, so the server plans it once."""
    return "\n".join(
        [
            "UNWIND $rows AS row",
            "MERGE (r:Resource {tenant: $tenant, type: row.type, id: row.id})",
            "WITH r, row, coalesce(r.version, 0) AS before",
            "CALL (r, row, before) {",
            "  WITH r, row WHERE before < row.version",
            "  SET r = row.props, r:$(row.type)",
            "  WITH r, row",
            # (value nodes of a graph written by schema version 1: see the README)
            "  CALL (r) { MATCH (r)-[:IDX]->(v)",
            "    OPTIONAL MATCH (v)-[:IDX]->(c) DETACH DELETE c, v }",
            "  CALL (r) { MATCH (r)-[x]->() DELETE x }",
            "  CALL (r, row) { UNWIND row.refs AS x",
            "    MERGE (t:Resource {tenant: $tenant, type: x.type, id: x.id})",
            "    ON CREATE SET t.live = false, t:$(x.type)",
            "    CREATE (r)-[:$(x.param)]->(t) }",
            "}",
            "RETURN row.type AS type, row.id AS id, before",
        ]
    )


@functools.cache
def create_statement() -> str:
    """Create the nodes of rows (``$rows``) whose keys the graph does not hold (read by
    :data:`HELD_STATEMENT` in the same transaction; one created meanwhile by another writer
    fails the unique constraint and the batch takes :func:`apply_statement`), then their
    references: each distinct target of the batch (``$targets``: ``[type, id]``) merged once
    (a stub when absent), each relationship (``$rels``: ``[row position, target position,
    parameter]``) created between the nodes collected by position. Measured against
    :func:`apply_statement` on new nodes: half the server's CPU per resource (no version
    guard, no deletion of old values, one ``MERGE`` per distinct target instead of one per
    reference)."""
    return "\n".join(
        [
            "UNWIND $rows AS row",
            "CREATE (r:Resource) SET r = row.props, r:$(row.type)",
            "WITH collect(r) AS nodes",
            "UNWIND $targets AS x",
            "MERGE (t:Resource {tenant: $tenant, type: x[0], id: x[1]})",
            "ON CREATE SET t.live = false, t:$(x[0])",
            "WITH nodes, collect(t) AS targets",
            "UNWIND $rels AS x",
            "WITH nodes[x[0]] AS r, targets[x[1]] AS t, x[2] AS param",
            "CREATE (r)-[:$(param)]->(t)",
        ]
    )


def create_parameters(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The parameters of :func:`create_statement` for ``rows`` (of :func:`graph_row`)."""
    targets: dict[tuple[str, str], int] = {}
    rels: list[list[Any]] = []
    for i, row in enumerate(rows):
        for ref in row["refs"]:
            at = targets.setdefault((ref["type"], ref["id"]), len(targets))
            rels.append([i, at, ref["param"]])
    return {
        "rows": [{"type": row["type"], "props": row["props"]} for row in rows],
        "targets": [list(key) for key in targets],
        "rels": rels,
    }
