"""Resource versions → the parameter maps the apply statement writes (the graph model:
``dialects/cypher/README.md``), and that statement.

A resource becomes one row: its node's properties, one list of value-node property maps per
value label (``Str``, ``Tok``, ...: the index rows of :func:`helios_persistence.indexing.
extract`, with the tenant), its composite groups (each with its component maps, the component
parameter named ``<param>$<i>`` as in the relational index) and the ``REFERS`` relationships
(parameter, target type, target id) of its local references.
"""

from __future__ import annotations

import dataclasses
import functools
from decimal import Decimal
from typing import Any

import orjson

from helios_persistence.compilers.cypher import COMPOSITE_LABEL, LABELS, type_label
from helios_persistence.errors import InvalidSearch
from helios_persistence.fhir_values import parse_date
from helios_persistence.indexing import extract
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
from helios_persistence.registry import Registry
from helios_persistence.storage.sync import Change

__all__ = ["apply_statement", "graph_row"]

_ROW_LABEL: dict[type, str] = {
    StringRow: LABELS["string"], TokenRow: LABELS["token"], DateRow: LABELS["date"],
    NumberRow: LABELS["number"], QuantityRow: LABELS["quantity"],
    ReferenceRow: LABELS["reference"], UriRow: LABELS["uri"],
}  # fmt: skip
VALUE_LABELS = tuple(LABELS.values())


def _properties(row: IndexRow, tenant: str, param: str | None = None) -> dict[str, Any]:
    """The value node's properties (None fields left out, decimals as doubles)."""
    props: dict[str, Any] = {"tenant": tenant}
    for f in dataclasses.fields(row):
        value = getattr(row, f.name)
        if value is None:
            continue
        props[f.name] = float(value) if isinstance(value, Decimal) else value
    if param is not None:
        props["param"] = param
    return props


def _last_updated(change: Change) -> int:
    meta = (change.resource or {}).get("meta") or {}
    updated = meta.get("lastUpdated")
    return parse_date(updated).low if isinstance(updated, str) else change.created_at


def graph_row(change: Change, tenant: str, registry: Registry) -> dict[str, Any]:
    """The apply statement's row for one change (a deletion has no values: the node stays as
    a tombstone holding the deleted version). ``InvalidResource`` when it cannot be indexed."""
    type_label(change.resource_type)  # (a plain type name, as the registry has)
    row: dict[str, Any] = {
        "type": change.resource_type, "id": change.id, "version": change.version,
        "live": change.operation != "delete", "lastUpdated": _last_updated(change),
        "json": None, "refs": [], COMPOSITE_LABEL: [],
    }  # fmt: skip
    row.update((label, []) for label in VALUE_LABELS)
    if change.operation == "delete" or change.resource is None:
        row["live"] = False
        return row
    row["json"] = orjson.dumps(change.resource).decode()
    index = extract(change.resource, registry)
    for value in index.rows:
        if isinstance(value, CompositeRow):
            group: dict[str, Any] = {"param": value.param}
            group.update((label, []) for label in VALUE_LABELS)
            for i, component in enumerate(value.components):
                group[_ROW_LABEL[type(component)]].append(
                    _properties(component, tenant, f"{value.param}${i}")
                )
            row[COMPOSITE_LABEL].append(group)
            continue
        row[_ROW_LABEL[type(value)]].append(_properties(value, tenant))
        if isinstance(value, ReferenceRow) and value.target_type and value.target_id:
            try:
                type_label(value.target_type)
            except InvalidSearch:  # not a resource type: no node to point at
                continue
            row["refs"].append(
                {"param": value.param, "type": value.target_type, "id": value.target_id}
            )
    return row


#: the properties of each value label (its row's fields, the tenant)
_PROPERTIES = {
    label: ("tenant", *(f.name for f in dataclasses.fields(row)))
    for row, label in _ROW_LABEL.items()
}


def _create_values(owner: str, source: str, depth: int) -> list[str]:
    """One ``CALL`` per value label creating its value nodes, properties written out (a
    ``SET v = map`` would make the planner buffer every row: Eager)."""
    calls = []
    for label in VALUE_LABELS:
        p = f"p{depth}"
        props = ", ".join(f"{name}: {p}.{name}" for name in _PROPERTIES[label])
        calls.append(
            f"CALL ({owner}, {source}) {{ UNWIND {source}.{label} AS {p} "
            f"CREATE ({owner})-[:IDX]->(:{label} {{{props}}}) }}"
        )
    return calls


@functools.cache
def apply_statement() -> str:
    """Apply rows (``$rows``) of tenant ``$tenant``: each node that is absent or at an older
    version takes the row's version, type label, properties, values and references (its old
    ones removed first). One text for every batch, so the server plans it once."""
    lines = [
        "UNWIND $rows AS row",
        "MERGE (r:Resource {tenant: $tenant, type: row.type, id: row.id})",
        "WITH r, row WHERE r.versionId IS NULL OR r.versionId < row.version",
        "SET r:$(row.type), r.versionId = row.version, r.lastUpdated = row.lastUpdated,",
        "    r.json = row.json, r.live = row.live",
        "WITH r, row",
        "CALL (r) { MATCH (r)-[:IDX]->(:Comp)-[:IDX]->(c) DETACH DELETE c }",
        "CALL (r) { MATCH (r)-[:IDX]->(v) DETACH DELETE v }",
        "CALL (r) { MATCH (r)-[x:REFERS]->() DELETE x }",
        *_create_values("r", "row", 0),
        f"CALL (r, row) {{ UNWIND row.{COMPOSITE_LABEL} AS g "
        f"CREATE (r)-[:IDX]->(n:{COMPOSITE_LABEL} {{tenant: $tenant, param: g.param}})",
        "  WITH n, g",
        *(f"  {line}" for line in _create_values("n", "g", 1)),
        "}",
        "CALL (r, row) { UNWIND row.refs AS x",
        "  MERGE (t:Resource {tenant: $tenant, type: x.type, id: x.id})",
        "  ON CREATE SET t.live = false, t:$(x.type)",
        "  CREATE (r)-[:REFERS {param: x.param}]->(t) }",
        "RETURN count(r) AS applied",
    ]
    return "\n".join(lines)
