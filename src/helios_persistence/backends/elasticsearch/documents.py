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
from collections import defaultdict
from decimal import Decimal
from typing import Any

from helios_persistence.compilers.elasticsearch_fields import (
    SEP,
    canonical_field,
    date_field,
    date_sort_field,
    identifier_key,
    key,
    number_field,
    reference_keys,
    sort_field,
    target_key,
    text_field,
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
    ``<composite>$<i>``). ``fields`` maps a field to its values (a ``defaultdict``: one
    C-level append per value, as orjson writes it like any dict)."""

    __slots__ = ("fields",)

    def __init__(self) -> None:
        self.fields: defaultdict[str, list[Any]] = defaultdict(list)

    def row(self, row: Any, p: str, *, sort: bool = True) -> None:
        kind = type(row)
        fields = self.fields
        if kind is TokenRow:
            self._token(row, p, sort)
        elif kind is ReferenceRow:
            self._reference(row, p, sort)
        elif kind is StringRow:
            fields["str"].append(f"{p}{SEP}{row.norm}")
            fields["strx"].append(f"{p}{SEP}{row.exact}")
            if sort:
                fields[sort_field(p)].append(row.norm)
        elif kind is DateRow:
            fields[date_field(p)].append({"gte": row.low, "lte": max(row.low, row.high - 1)})
            if sort:  # (two fields: an inverted Period's low is above its high)
                fields[date_sort_field(p)].append(row.low)
                fields[date_sort_field(p, high=True)].append(row.high)
        elif kind is QuantityRow:
            self.quantity(row, p, single=True)  # (a component's: one value per repetition)
        elif kind is NumberRow:
            value = _double(row.value)
            if value is not None:
                fields[number_field(p)].append(value)
        elif kind is UriRow:
            fields["uri"].append(f"{p}{SEP}{row.uri}")
            if sort:
                fields[sort_field(p)].append(row.uri)

    def _token(self, row: TokenRow, p: str, sort: bool) -> None:
        fields = self.fields
        code, system = row.code, row.system
        if code is not None:
            fields["tok_c"].append(f"{p}{SEP}{code}")
            fields["tok_sc"].append(f"{p}{SEP}{_sys(system)}{SEP}{code}")
            if sort:
                fields[sort_field(p)].append(code)
        if system is not None:
            fields["tok_s"].append(f"{p}{SEP}{system}")
        if row.text:
            fields["tok_t"].append(f"{p}{SEP}{row.text}")
        if row.type_code is not None or row.type_system is not None:
            ot = key(p, _sys(row.type_system), _sys(row.type_code), _sys(code))
            fields["tok_ot"].append(ot)

    def quantity(self, row: QuantityRow, p: str, single: bool) -> None:
        """A quantity: its value in ``n.<p>``, its parts as keys of the ``q_*`` fields when
        it is the parameter's only quantity here (one value: the parts cannot mix with
        another's), else one ``qty`` nested document."""
        fields = self.fields
        value = _double(row.value)
        if value is not None:
            fields[number_field(p)].append(value)
        canonical = _double(row.canonical_value)
        if canonical is None or row.canonical_unit is None:
            canonical = None
        if single:
            for name, part in (("q_s", row.system), ("q_c", row.code), ("q_u", row.unit)):
                if part is not None:
                    fields[name].append(f"{p}{SEP}{part}")
            if canonical is not None:
                fields["q_cu"].append(f"{p}{SEP}{row.canonical_unit}")
                fields[canonical_field(p)].append(canonical)
            return
        nested: dict[str, Any] = {"p": p}
        if value is not None:
            nested["v"] = value
        for name, part in (("s", row.system), ("c", row.code), ("u", row.unit)):
            if part is not None:
                nested[name] = part
        if canonical is not None:
            nested["cv"], nested["cu"] = canonical, row.canonical_unit
        fields["qty"].append(nested)

    def _reference(self, row: ReferenceRow, p: str, sort: bool) -> None:
        fields = self.fields
        refs = fields["ref"]
        rtype, rid = row.target_type, row.target_id
        if row.url is None and row.version is None and rtype is not None and rid is not None:
            # the common local reference (what reference_keys gives for type and id)
            refs.append(f"t:{p}{SEP}{rtype}")
            refs.append(f"i:{p}{SEP}{rid}")
            refs.append(f"ti:{p}{SEP}{rtype}{SEP}{rid}")
        else:
            present = {
                c: v for c, v in zip("tiuv", (rtype, rid, row.url, row.version), strict=True)
                if v is not None
            }  # fmt: skip
            refs.extend(reference_keys(p, present))
        if row.identifier_value is not None:
            refs.append(identifier_key(p, None, row.identifier_value))
            if row.identifier_system is not None:
                refs.append(identifier_key(p, row.identifier_system, row.identifier_value))
        if rtype is not None and rid is not None:
            refs.append(target_key(rtype, rid))
            fields["refs"].append([p, rtype, rid])
        if sort and rid is not None:
            fields[sort_field(p)].append(rid)
        if not refs:
            del fields["ref"]  # (a reference with no part: no key, as before)


def _counts(rows: Any) -> dict[tuple[type, str], int]:
    """How many quantity, composite and text rows each parameter has."""
    counts: dict[tuple[type, str], int] = defaultdict(int)
    for row in rows:
        kind = type(row)
        if kind is QuantityRow or kind is CompositeRow:
            counts[(kind, row.param)] += 1
        elif (kind is TokenRow and row.text) or kind is StringRow:
            counts[(str, row.param)] += 1
    return counts


def document(
    tenant: str, resource: dict[str, Any], index: ResourceIndex, version: int, updated: int
) -> dict[str, Any]:
    """The document of one resource version (``updated``: ``meta.lastUpdated`` in µs).

    A parameter's only quantity, composite repetition or text value is written in plain
    fields of the document (one value: nothing to mix it with); only a parameter with
    several gets ``nested`` documents (``qty``, ``comp``, ``ptext``), each a Lucene
    document of its own: the server's indexing cost grows with their number."""
    fields = _Fields()
    top: dict[str, Any] = fields.fields  # (a lone text value is a string, not a list)
    params: set[str] = set()
    texts: list[dict[str, str]] = []
    composites: list[dict[str, Any]] = []
    counts = _counts(index.rows)
    for row in index.rows:
        param = row.param
        params.add(param)
        if isinstance(row, CompositeRow):
            if counts[(CompositeRow, param)] == 1:
                for i, component in enumerate(row.components):
                    fields.row(component, f"{param}${i}", sort=False)
                continue
            part = _Fields()
            for i, component in enumerate(row.components):
                part.row(component, f"{param}${i}", sort=False)
            composites.append({"p": param, **part.fields})
            continue
        if isinstance(row, QuantityRow):
            fields.quantity(row, param, single=counts[(QuantityRow, param)] == 1)
            continue
        fields.row(row, param)
        if isinstance(row, TokenRow):
            text = row.text
        elif isinstance(row, StringRow):
            text = row.exact
        else:
            continue
        if text:
            words = stems(text)
            if not words:
                continue
            if counts[(str, param)] == 1:
                top[text_field(param)] = words
            else:
                texts.append({"p": param, "w": words})
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
        **top,
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
