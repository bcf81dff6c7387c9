"""One Elasticsearch document per resource version: the resource's index rows as fields.

The fields and keys are :mod:`helios_persistence.compilers.elasticsearch_fields`'s; the
layout and its mapping are ``dialects/elasticsearch/`` (README there). Full text is tokenised
here, on the client, by the library's one tokenizer (:func:`~helios_persistence.indexing.
text_tokens.words_of`: SQLite FTS5's ``porter unicode61 remove_diacritics 2``) and stored as
space-separated stems in ``text`` fields with Elasticsearch's built-in ``whitespace``
analyzer, so stemming and folding are SQLite's (the server has no ``analysis-common``).
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from helios_persistence.compilers.elasticsearch_fields import (
    SEP,
    date_field,
    date_sort_field,
    identifier_key,
    key,
    number_field,
    reference_keys,
    sort_field,
    target_key,
)
from helios_persistence.indexing import (
    CompositeRow,
    DateRow,
    NumberRow,
    QuantityRow,
    ReferenceRow,
    ResourceIndex,
    StringRow,
    TokenRow,
    UriRow,
)
from helios_persistence.indexing.text_tokens import words_of

__all__ = ["NO_SYSTEM", "doc_id", "document", "stems", "tombstone"]

#: how an absent token system (or Identifier type part) is written in a key
NO_SYSTEM = "\x00"


def doc_id(tenant: str, resource_type: str, id: str) -> str:
    """The document ``_id`` (a tenant may contain ``/``; types and ids never do)."""
    return f"{tenant}/{resource_type}/{id}"


def stems(text: str) -> str:
    """``text`` as the space-separated stems the ``whitespace`` analyzer indexes."""
    return " ".join(words_of(text)) if text else ""


def _sys(value: str | None) -> str:
    return NO_SYSTEM if value is None else value


def _double(value: Decimal | None) -> float | None:
    """A finite double (Elasticsearch refuses infinities; such a value is not indexed)."""
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


class _Fields:
    """The fields of one document (or of one composite repetition), filled row by row
    (``param``: the name the rows are indexed under; a composite's components are
    ``<composite>$<i>``)."""

    def __init__(self) -> None:
        self.fields: dict[str, Any] = {}

    def add(self, name: str, value: Any) -> None:
        found = self.fields.get(name)
        if found is None:
            self.fields[name] = [value]
        else:
            found.append(value)

    def row(self, row: Any, p: str, *, sort: bool = True) -> None:
        kind = type(row)
        if kind is TokenRow:
            self._token(row, p, sort)
        elif kind is ReferenceRow:
            self._reference(row, p, sort)
        elif kind is StringRow:
            self.add("str", f"{p}{SEP}{row.norm}")
            self.add("strx", f"{p}{SEP}{row.exact}")
            if sort:
                self.add(sort_field(p), row.norm)
        elif kind is DateRow:
            self.add(date_field(p), {"gte": row.low, "lte": max(row.low, row.high - 1)})
            if sort:  # (two fields: an inverted Period's low is above its high)
                self.add(date_sort_field(p), row.low)
                self.add(date_sort_field(p, high=True), row.high)
        elif kind is QuantityRow:
            self._quantity(row, p)
        elif kind is NumberRow:
            value = _double(row.value)
            if value is not None:
                self.add(number_field(p), value)
        elif kind is UriRow:
            self.add("uri", f"{p}{SEP}{row.uri}")
            if sort:
                self.add(sort_field(p), row.uri)

    def _token(self, row: TokenRow, p: str, sort: bool) -> None:
        code, system = row.code, row.system
        if code is not None:
            self.add("tok_c", f"{p}{SEP}{code}")
            self.add("tok_sc", f"{p}{SEP}{_sys(system)}{SEP}{code}")
            if sort:
                self.add(sort_field(p), code)
        if system is not None:
            self.add("tok_s", f"{p}{SEP}{system}")
        if row.text:
            self.add("tok_t", f"{p}{SEP}{row.text}")
        if row.type_code is not None or row.type_system is not None:
            self.add("tok_ot", key(p, _sys(row.type_system), _sys(row.type_code), _sys(code)))

    def _quantity(self, row: QuantityRow, p: str) -> None:
        value = _double(row.value)
        nested: dict[str, Any] = {"p": p, "v": value, "s": row.system, "c": row.code,
                                  "u": row.unit}  # fmt: skip
        canonical = _double(row.canonical_value)
        if canonical is not None and row.canonical_unit is not None:
            nested["cv"], nested["cu"] = canonical, row.canonical_unit
        self.add("qty", {k: v for k, v in nested.items() if v is not None})
        if value is not None:
            self.add(number_field(p), value)

    def _reference(self, row: ReferenceRow, p: str, sort: bool) -> None:
        rtype, rid = row.target_type, row.target_id
        if row.url is None and row.version is None and rtype is not None and rid is not None:
            # the common local reference (what reference_keys gives for type and id)
            self.add("ref", f"t:{p}{SEP}{rtype}")
            self.add("ref", f"i:{p}{SEP}{rid}")
            self.add("ref", f"ti:{p}{SEP}{rtype}{SEP}{rid}")
        else:
            present = {
                c: v for c, v in zip("tiuv", (rtype, rid, row.url, row.version), strict=True)
                if v is not None
            }  # fmt: skip
            for k in reference_keys(p, present):
                self.add("ref", k)
        if row.identifier_value is not None:
            self.add("ref", identifier_key(p, None, row.identifier_value))
            if row.identifier_system is not None:
                self.add("ref", identifier_key(p, row.identifier_system, row.identifier_value))
        if rtype is not None and rid is not None:
            self.add("ref", target_key(rtype, rid))
            self.add("refs", [p, rtype, rid])
        if sort and rid is not None:
            self.add(sort_field(p), rid)


def document(
    tenant: str, resource: dict[str, Any], index: ResourceIndex, version: int, updated: int
) -> dict[str, Any]:
    """The document of one resource version (``updated``: ``meta.lastUpdated`` in µs)."""
    fields = _Fields()
    params: set[str] = set()
    texts: list[dict[str, str]] = []
    composites: list[dict[str, Any]] = []
    for row in index.rows:
        params.add(row.param)
        if isinstance(row, CompositeRow):
            part = _Fields()
            for i, component in enumerate(row.components):
                part.row(component, f"{row.param}${i}", sort=False)
            composites.append({"p": row.param, **part.fields})
            continue
        fields.row(row, row.param)
        text = row.text if isinstance(row, TokenRow) else getattr(row, "exact", None)
        if text and isinstance(row, TokenRow | StringRow):
            words = stems(text)
            if words:
                texts.append({"p": row.param, "w": words})
    doc: dict[str, Any] = {
        "tenant": tenant,
        "type": resource["resourceType"],
        "id": resource["id"],
        "version": version,
        "deleted": False,
        "lu": {"gte": updated, "lte": updated},
        "lus": updated,
        "params": sorted(params),
        "resource": resource,
        "narrative": stems(index.narrative),
        "content": stems(index.content),
        **fields.fields,
    }
    if composites:
        doc["comp"] = composites
    if texts:
        doc["ptext"] = texts
    return doc


def tombstone(tenant: str, resource_type: str, id: str, version: int) -> dict[str, Any]:
    """A deleted resource: kept (with its version) so an older version never returns."""
    return {
        "tenant": tenant, "type": resource_type, "id": id, "version": version, "deleted": True,
    }  # fmt: skip
