"""The reference evaluator: a plain Python interpreter of the IR over in-memory resources.

It is the executable specification the conformance suite and the differential tests compare
every backend with, so it is written to be obviously right, not fast: each predicate is read
straight off the R4 search page (http://hl7.org/fhir/R4/search.html, cited below by anchor,
e.g. ``#prefix``), over the rows :func:`helios_persistence.indexing.extract` produces.

What it shares with the engines, on purpose: the parser and binder (``hp.parse``: both sides
see the same IR), the value normalisation of :mod:`helios_persistence.fhir_values` (date ranges,
number precision, ``fold``) and the index extraction (which values a resource has). What it
does *not* share: :mod:`helios_persistence.prefixes` and every compiler. The prefix rules,
modifiers, chains, ``_has``, ``:missing``, includes, sort and paging below are written again
from the specification, so a mistake in ``prefixes.py`` or a compiler shows up as a
difference.

Where R4 leaves a choice to the server, the evaluator takes the library's documented choice:

* ``ge``/``le`` on dates hold when any part of the target's range is at or after the start
  (at or before the end) of the search range, as HAPI and IBM FHIR answer (R4's "gt or eq"
  misses a target that straddles the search range's start or end);
* ``ap`` on dates widens the search range by 10% of its width, at least one day, on each
  side; ``ap`` on numbers and quantities is within 10% of the value (#prefix, "ap");
* ``:text`` on tokens matches when the folded text or one of its words starts with the value;
* ``_sort`` compares folded strings, token codes, date ``low`` (ascending) / ``high``
  (descending), number and quantity values as written, reference target ids and uris;
  ascending uses a resource's lowest value, descending its highest, resources without a value
  come last, and ties are broken by type and id, ascending (a total order, so paging is
  stable);
* the default page size is 100;
* full text: :mod:`.fulltext`;
* terminology (#token ``:above``/``:below``/``:in``/``:not-in``): a CodeSystem's hierarchy and
  a ValueSet's expansion come from the CodeSystem and ValueSet resources among the evaluator's
  own (read with :mod:`helios_persistence.terminology.model` and ``.expand``, shared with the
  stores as index extraction is); the search semantics on top are written again below.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from helios_persistence import ir
from helios_persistence.conformance import fulltext
from helios_persistence.errors import TerminologyError, UnsupportedInDialect
from helios_persistence.fhir_values import fold, parse_date, to_micros
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
    extract,
)
from helios_persistence.registry import Registry, default_registry
from helios_persistence.terminology.expand import ResourceSource, expand_valueset
from helios_persistence.terminology.model import CodeSystemModel
from helios_persistence.ucum import UCUM_SYSTEM

__all__ = ["DEFAULT_PAGE_SIZE", "Evaluator", "Outcome"]

DEFAULT_PAGE_SIZE = 100
_DAY = 86_400_000_000
_TEN_PERCENT = Decimal("0.1")
#: what the evaluator calls itself in not-supported errors
DIALECT = "reference"


@dataclass(frozen=True, slots=True)
class Outcome:
    """One page of a search as the evaluator answers it.

    ``ids`` are the page's matches in order (``Type/id``), ``included`` what ``_include`` and
    ``_revinclude`` add (sorted), ``total`` the number of matches over every page,
    ``has_next`` whether a next page exists, ``all_ids`` every match in order.
    """

    ids: list[str]
    included: list[str]
    total: int
    has_next: bool
    all_ids: list[str]


@dataclass(slots=True)
class _Doc:
    """One resource and everything extracted from it."""

    resource: dict[str, Any]
    type: str
    id: str
    updated: int
    index: ResourceIndex
    rows: dict[str, list[Any]] = field(default_factory=dict)
    composites: dict[str, list[CompositeRow]] = field(default_factory=dict)
    texts: dict[str, fulltext.Document] = field(default_factory=dict)
    value_texts: dict[str, list[fulltext.Document]] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.type}/{self.id}"


# -- ranges (#prefix) ----------------------------------------------------------------------------
def _contains(outer: tuple[int, int], inner: tuple[int, int]) -> bool:
    """``outer`` fully contains ``inner`` (both half-open ``[low, high)``)."""
    return outer[0] <= inner[0] and inner[1] <= outer[1]


def _overlaps(a: tuple[float, float], b: tuple[float, float]) -> bool:
    """Half-open ranges ``a`` and ``b`` share at least one instant."""
    return a[0] < b[1] and b[0] < a[1]


_NEG_INF = float("-inf")
_POS_INF = float("inf")


def date_holds(prefix: ir.Prefix, search: tuple[int, int], target: tuple[int, int]) -> bool:
    """R4 #prefix, the range definitions, applied to date ranges ``[low, high)``.

    "the range above the search value" is everything from the end of the search range on,
    "the range below" everything before its start. ``ge``/``le`` are the library's documented
    choice (HAPI's and IBM FHIR's), looser than R4's "gt or eq": ``ge`` holds when any part of
    the target is at or after the start of the search range, ``le`` when any part is at or
    before its end (``ge2021-03-05T23:59:59`` finds a resource dated 2021-03-05).
    """
    above = (search[1], _POS_INF)
    below = (_NEG_INF, search[0])
    if prefix is ir.Prefix.EQ:  # the search range fully contains the target range
        return _contains(search, target)
    if prefix is ir.Prefix.NE:  # ... does not fully contain it
        return not _contains(search, target)
    if prefix is ir.Prefix.GT:  # the range above the search value overlaps the target
        return _overlaps(above, target)
    if prefix is ir.Prefix.LT:  # the range below the search value overlaps the target
        return _overlaps(below, target)
    if prefix is ir.Prefix.GE:  # some instant of the target at or after the search start
        return _overlaps((search[0], _POS_INF), target)
    if prefix is ir.Prefix.LE:  # some instant of the target at or before the search end
        return _overlaps((_NEG_INF, search[1]), target)
    if prefix is ir.Prefix.SA:  # no overlap, and the range above contains the target
        return not _overlaps(search, target) and above[0] <= target[0]
    if prefix is ir.Prefix.EB:  # no overlap, and the range below contains the target
        return not _overlaps(search, target) and target[1] <= below[1]
    # ap: the target overlaps the search range widened by the server's margin
    margin = max((search[1] - search[0]) // 10, _DAY)
    return _overlaps((search[0] - margin, search[1] + margin), target)


def number_holds(
    prefix: ir.Prefix, value: Decimal, low: Decimal, high: Decimal, target: Decimal
) -> bool:
    """R4 #number: ``eq``/``ne`` use the search value's implicit precision range
    ``[low, high)``; "when a comparison prefix in the set gt, lt, ge, le, sa & eb is provided,
    the implicit precision of the number is ignored" (the exact ``value`` is used). The
    stored value is a point (a resource states its value, not a range)."""
    if prefix is ir.Prefix.EQ:
        return low <= target < high
    if prefix is ir.Prefix.NE:
        return not (low <= target < high)
    if prefix in (ir.Prefix.GT, ir.Prefix.SA):  # "starts after" a point: above it
        return target > value
    if prefix in (ir.Prefix.LT, ir.Prefix.EB):
        return target < value
    if prefix is ir.Prefix.GE:
        return target >= value
    if prefix is ir.Prefix.LE:
        return target <= value
    # ap: "the recommended value for the approximation is 10% of the stated value"
    margin = abs(value) * _TEN_PERCENT
    return value - margin <= target <= value + margin


# -- one index row against one match node --------------------------------------------------------
def string_row(node: ir.StringMatch, row: StringRow) -> bool:
    """R4 #string: by default "equals or starts with the supplied value, after both have been
    normalized by case and accent"; ``:exact`` is the whole value, case and accents as written;
    ``:contains`` anywhere. ``_filter`` adds ``eq`` (whole value, folded) and ``ew``."""
    text, value = fold(row.exact), fold(node.value)
    op = node.op
    if op is ir.StringOp.EXACT:
        return row.exact == node.value
    if op is ir.StringOp.STARTS:
        return text.startswith(value)
    if op is ir.StringOp.CONTAINS:
        return value in text
    if op is ir.StringOp.EQUALS:
        return text == value
    return text.endswith(value)


def token_row(node: ir.TokenMatch, row: TokenRow) -> bool:
    """R4 #token: ``code`` (any system), ``system|code``, ``|code`` (no system), ``system|``
    (any code in the system); ``:text`` on the display text; ``:of-type`` (Identifier type
    coding and value)."""
    if node.op is ir.TokenOp.TEXT:
        if row.text is None or node.value is None:
            return False
        value = fold(node.value)
        return any(word_start.startswith(value) for word_start in _word_starts(row.text))
    if node.op is ir.TokenOp.OF_TYPE:
        return (
            row.type_system == node.system and row.type_code == node.code and row.code == node.value
        )
    if node.code is not None and row.code != node.code:
        return False
    if node.system == "":
        return row.system is None
    return node.system is None or row.system == node.system


def _word_starts(text: str) -> list[str]:
    """``text`` from each word start on (words are separated by single spaces once folded)."""
    starts = [text]
    for i, ch in enumerate(text):
        if ch == " ":
            starts.append(text[i + 1 :])
    return starts


def date_row(node: ir.DateMatch, row: DateRow) -> bool:
    return date_holds(node.prefix, (node.low, node.high), (row.low, row.high))


def number_row(node: ir.NumberMatch, row: NumberRow) -> bool:
    return number_holds(node.prefix, node.value, node.low, node.high, row.value)


def quantity_row(node: ir.QuantityMatch, row: QuantityRow) -> bool:
    """R4 #quantity: the number as for numbers; ``system|code`` must match the stored system
    and code (the stated unit text is not a code), a unit without a system (``5.4||mg``)
    matches the code or the stated unit as written, with no conversion, and no unit matches
    any unit. Only a search naming the UCUM system is also compared in UCUM canonical form
    ("5.4|http://unitsofmeasure.org|mg" finds 5400 ug)."""
    if (
        node.system == UCUM_SYSTEM
        and node.canonical_unit is not None
        and row.canonical_unit == node.canonical_unit
        and row.canonical_value is not None
        and number_holds(
            node.prefix,
            node.canonical_value,  # type: ignore[arg-type]
            node.canonical_low,  # type: ignore[arg-type]
            node.canonical_high,  # type: ignore[arg-type]
            row.canonical_value,
        )
    ):
        return True
    if not number_holds(node.prefix, node.value, node.low, node.high, row.value):
        return False
    if node.system is not None:
        return row.system == node.system and node.code in (None, row.code)
    return node.code is None or node.code in (row.code, row.unit)


def uri_row(node: ir.UriMatch, row: UriRow) -> bool:
    """R4 #uri: exact, case-sensitive; ``:below`` the stored uri starts with the value;
    ``:above`` the value starts with the stored uri."""
    if node.op is ir.UriOp.EQ:
        return row.uri == node.value
    if node.op is ir.UriOp.BELOW:
        return row.uri.startswith(node.value)
    return node.value.startswith(row.uri)


# -- the evaluator -------------------------------------------------------------------------------
class Evaluator:
    """Answers FHIR searches over a fixed set of resources (each with an ``id``). A resource
    without ``meta.lastUpdated`` counts as updated when it was added, as a store would stamp it
    (the dict itself is not changed). ``base_url`` is the server's own base: absolute
    references under it are local."""

    def __init__(
        self,
        resources: Iterable[dict[str, Any]] = (),
        *,
        base_url: str | None = None,
        registry: Registry | None = None,
    ) -> None:
        self.registry = registry or default_registry()
        self.base = base_url.rstrip("/") + "/" if base_url else None
        self._docs: dict[tuple[str, str], _Doc] = {}
        #: (target type, target id) -> [(source doc, param)] over local references
        self._referrers: dict[tuple[str, str], list[tuple[_Doc, str]]] = {}
        #: ValueSet expansions (search value → codes) and CodeSystem models, per url
        self._expansions: dict[str, set[tuple[str, str]]] = {}
        self._codesystems: dict[str, list[CodeSystemModel]] | None = None
        for resource in resources:
            self.add(resource)

    # -- data -----------------------------------------------------------------------------------
    def add(self, resource: dict[str, Any]) -> None:
        """Add (or replace) one stored resource."""
        rtype, rid = resource["resourceType"], resource["id"]
        updated = (resource.get("meta") or {}).get("lastUpdated")
        if isinstance(updated, str):
            stamp = parse_date(updated).low
        else:  # a plain resource: updated now, as a store would stamp it
            stamp = to_micros(datetime.now(UTC))
        doc = _Doc(resource, rtype, rid, stamp, extract(resource, self.registry))
        for row in doc.index.rows:
            if isinstance(row, CompositeRow):
                doc.composites.setdefault(row.param, []).append(row)
            else:
                doc.rows.setdefault(row.param, []).append(row)
        if (rtype, rid) in self._docs:
            self._docs.pop((rtype, rid))
            self._referrers = {}
            for other in list(self._docs.values()):
                self._index_references(other)
        self._docs[(rtype, rid)] = doc
        self._index_references(doc)
        if rtype in ("CodeSystem", "ValueSet"):
            self._expansions, self._codesystems = {}, None

    def _index_references(self, doc: _Doc) -> None:
        for param, rows in doc.rows.items():
            for row in rows:
                target = self.local_target(row) if isinstance(row, ReferenceRow) else None
                if target is not None:
                    self._referrers.setdefault(target, []).append((doc, param))

    def local_target(self, row: ReferenceRow) -> tuple[str, str] | None:
        """The ``(type, id)`` a reference row points at on this server, or None.

        R4 #reference: a relative reference is relative to the server's base; an absolute
        reference names a resource on this server only if it starts with this server's base.
        A reference to another server never resolves here, even if its tail looks local.
        """
        if row.target_type is None or row.target_id is None:
            return None
        if row.url is not None and not (self.base and row.url.startswith(self.base)):
            return None
        return row.target_type, row.target_id

    @property
    def resources(self) -> list[dict[str, Any]]:
        return [d.resource for d in self._docs.values()]

    # -- searching ------------------------------------------------------------------------------
    def parse(self, query: str | ir.Query) -> ir.Query:
        if isinstance(query, ir.Query):
            return query
        from helios_persistence.parsing import parse

        return parse(query, registry=self.registry)

    def search(self, query: str | ir.Query) -> Outcome:
        """One page of ``query`` (raises :class:`InvalidSearch` as a backend would)."""
        q = self.parse(query)
        if q.cursor is not None:
            raise ValueError("a _cursor is backend-specific: follow the backend's own pages")
        ordered = self.select(q)
        all_ids = [d.key for d in ordered]
        total = len(ordered)
        if q.summary is ir.Summary.COUNT:
            return Outcome([], [], total, False, all_ids)
        size = q.count if q.count is not None else DEFAULT_PAGE_SIZE
        start = q.offset or 0
        page = ordered[start : start + size]
        has_next = size > 0 and start + size < total
        included = self.includes(q, page) if page else []
        return Outcome([d.key for d in page], included, total, has_next, all_ids)

    def select(self, q: ir.Query) -> list[_Doc]:
        """Every match of ``q``, in ``_sort`` order (R4 #_sort; ties by type and id)."""
        if q.resource_type is not None:
            types: set[str] | None = {q.resource_type}
        else:
            types = set(q.types) or None
        if q.where is not None:
            self._check_supported(q.where)
        found = [
            d
            for d in self._docs.values()
            if (types is None or d.type in types) and (q.where is None or self.holds(q.where, d))
        ]
        return self.order(found, q.sort)

    def _check_supported(self, node: ir.Node) -> None:
        """Unsupported nodes fail even when no resource reached them (as compilers do)."""
        if isinstance(node, ir.Terminology) and node.op in (
            ir.TerminologyOp.IN,
            ir.TerminologyOp.NOT_IN,
        ):
            self._valueset_codes(node.code)  # an unknown ValueSet fails the whole search
        for child in ir.children(node):
            self._check_supported(child)

    # -- predicates (R4 #combining: a repeated parameter is AND, a comma is OR) ---------------
    def holds(self, node: ir.Predicate, doc: _Doc) -> bool:
        """Whether ``node`` holds for the resource ``doc``."""
        if isinstance(node, ir.And):
            return all(self.holds(c, doc) for c in node.children)
        if isinstance(node, ir.Or):
            return any(self.holds(c, doc) for c in node.children)
        if isinstance(node, ir.Not):
            # :not / _filter not(): resources for which the test does not hold, including
            # those with no value at all (#modifiers, ":not")
            return not self.holds(node.child, doc)
        if isinstance(node, ir.Missing):
            return self._missing(node, doc) == node.missing
        if isinstance(node, ir.Chain):
            return self._chain(node, doc)
        if isinstance(node, ir.Has):
            return self._has(node, doc)
        if isinstance(node, ir.Composite):
            return self._composite(node, doc)
        if isinstance(node, ir.Text):
            return self._text(node, doc)
        if isinstance(node, ir.Terminology):
            return self._terminology(node, doc)
        if isinstance(node, ir.TokenMatch) and node.param == "_id":
            return self._id(node, doc)
        if isinstance(node, ir.DateMatch) and node.param == "_lastUpdated":
            return date_holds(node.prefix, (node.low, node.high), (doc.updated, doc.updated + 1))
        return any(self.row_holds(node, row) for row in doc.rows.get(_param(node), ()))

    def row_holds(self, node: ir.Node, row: Any) -> bool:
        """Whether one index row satisfies one match node (a value of the parameter)."""
        test = _ROW_TESTS.get((type(node), type(row)))
        if test is not None:
            return test(node, row)
        if isinstance(node, ir.ReferenceMatch) and isinstance(row, ReferenceRow):
            return self.reference_row(node, row)
        return False

    def reference_row(self, node: ir.ReferenceMatch, row: ReferenceRow) -> bool:
        """R4 #reference: ``[type/]id`` (a local resource; the type from the value or a
        ``:Type`` modifier), an absolute URL (local if under this server's base, else compared
        as written), ``url|version`` for canonicals; ``:identifier`` on Reference.identifier."""
        if node.op is ir.ReferenceOp.IDENTIFIER:
            return row.identifier_value == node.id and (
                node.url is None or row.identifier_system == node.url
            )
        if node.op is not ir.ReferenceOp.EQ:
            raise UnsupportedInDialect("ReferenceMatch", DIALECT)
        target_type, target_id, url = node.target_type, node.id, node.url
        if url is not None and self.base and url.startswith(self.base):
            tail = url[len(self.base) :].split("/")
            if len(tail) == 2 and all(tail):
                target_type, target_id, url = tail[0], tail[1], None
        if node.version is not None and row.version != node.version:
            return False
        if url is not None:
            return row.url == url
        local = self.local_target(row)
        if local is None:
            return False
        return local[1] == target_id and (target_type is None or local[0] == target_type)

    def _id(self, node: ir.TokenMatch, doc: _Doc) -> bool:
        """``_id`` (#_id): the resource's logical id, exactly."""
        return node.code == doc.id and node.system in (None, "")

    def _missing(self, node: ir.Missing, doc: _Doc) -> bool:
        """R4 #missing: true when the resource has no value for the parameter. Every resource
        has an ``_id`` and a ``_lastUpdated``."""
        if node.param in ("_id", "_lastUpdated"):
            return False
        if node.kind == "composite":
            return not doc.composites.get(node.param)
        return not doc.rows.get(node.param)

    def _chain(self, node: ir.Chain, doc: _Doc) -> bool:
        """R4 #chaining: some reference of ``param`` points at a resource on this server, of
        one of the chain's target types, for which the rest of the chain holds."""
        for row in doc.rows.get(node.param, ()):
            if not isinstance(row, ReferenceRow):
                continue
            target = self.local_target(row)
            if target is None or target[0] not in node.target_types:
                continue
            found = self._docs.get(target)
            if found is not None and self.holds(node.where, found):
                return True
        return False

    def _has(self, node: ir.Has, doc: _Doc) -> bool:
        """R4 #has: some ``source_type`` resource whose ``param`` references this resource
        satisfies the inner test."""
        for source, param in self._referrers.get((doc.type, doc.id), ()):
            if (
                source.type == node.source_type
                and param == node.param
                and self.holds(node.where, source)
            ):
                return True
        return False

    def _composite(self, node: ir.Composite, doc: _Doc) -> bool:
        """R4 #composite: every component holds on the same repetition of the element. The
        i-th component predicate is named ``<param>$<i>`` and tests the i-th component row."""
        for group in doc.composites.get(node.param, ()):
            if all(
                self.row_holds(c, group.components[_component_index(c)]) for c in node.components
            ):
                return True
        return False

    # -- terminology (#token, modifiers :above, :below, :in, :not-in) -------------------------
    def _terminology(self, node: ir.Terminology, doc: _Doc) -> bool:
        """``:in``: some coding is in the ValueSet; ``:not-in``: none is (like ``:not``, a
        resource without a value matches). ``:below``/``:above``: some coding is the code or
        subsumed by / subsumes it, in the search system (any system when none is given: then
        in the coding's own system; ``|code``: codings without a system, exactly)."""
        rows = [r for r in doc.rows.get(node.param, ()) if isinstance(r, TokenRow)]
        if node.op in (ir.TerminologyOp.IN, ir.TerminologyOp.NOT_IN):
            codes = self._valueset_codes(node.code)
            inside = any((r.system, r.code) in codes for r in rows)
            return inside if node.op is ir.TerminologyOp.IN else not inside
        below = node.op is ir.TerminologyOp.BELOW
        for row in rows:
            if row.code is None:
                continue
            if node.system == "":
                if row.system is None and row.code == node.code:
                    return True
                continue
            if node.system is not None and row.system != node.system:
                continue
            if row.code == node.code:
                return True
            if row.system is None:
                continue
            # the coding's code is below (or above) the search code in its CodeSystem
            lower, upper = (row.code, node.code) if below else (node.code, row.code)
            if any(upper in _ancestors(cs, lower) for cs in self._codesystem(row.system)):
                return True
        return False

    def _codesystem(self, url: str) -> list[CodeSystemModel]:
        """Every stored CodeSystem (every version) with canonical ``url``."""
        if self._codesystems is None:
            self._codesystems = {}
            for d in self._docs.values():
                if d.type == "CodeSystem" and isinstance(d.resource.get("url"), str):
                    model = CodeSystemModel.from_resource(d.resource)
                    self._codesystems.setdefault(model.url, []).append(model)
        return self._codesystems.get(url, [])

    def _valueset_codes(self, reference: str) -> set[tuple[str, str]]:
        """The (system, code) pairs of the ValueSet a search value names: ``ValueSet/<id>``,
        or a canonical url with an optional ``|version`` (the latest stored when none)."""
        if reference not in self._expansions:
            source = ResourceSource(
                d.resource for d in self._docs.values() if d.type in ("CodeSystem", "ValueSet")
            )
            if reference.startswith("ValueSet/") and "|" not in reference:
                vs = source.resource(reference)
            else:
                url, _, version = reference.partition("|")
                vs = source.valueset(url, version or None)
            if vs is None:
                raise TerminologyError(f"ValueSet {reference} is not stored",
                                       issue_code="not-found")  # fmt: skip
            self._expansions[reference] = set(expand_valueset(vs, source).codes)
        return self._expansions[reference]

    def _text(self, node: ir.Text, doc: _Doc) -> bool:
        """R4 #_text / #_content (narrative / whole resource), and ``:text-advanced`` (R5),
        which tests each value of one parameter on its own (token display or
        CodeableConcept.text, string values): a value must satisfy the whole query."""
        tree = node.query.tree
        if node.param is not None:
            if node.param not in doc.value_texts:
                texts = []
                for row in doc.rows.get(node.param, ()):
                    if isinstance(row, TokenRow) and row.text:
                        texts.append(fulltext.Document(row.text))
                    elif isinstance(row, StringRow):
                        texts.append(fulltext.Document(row.exact))
                doc.value_texts[node.param] = texts
            return any(fulltext.matches(tree, t) for t in doc.value_texts[node.param])
        key = node.kind.value
        if key not in doc.texts:
            narrative = node.kind is ir.TextKind.NARRATIVE
            doc.texts[key] = fulltext.Document(
                doc.index.narrative if narrative else doc.index.content
            )
        return fulltext.matches(tree, doc.texts[key])

    # -- sort (R4 #_sort) -----------------------------------------------------------------------
    def sort_value(self, key: ir.SortKey, doc: _Doc) -> Any:
        """The value ``doc`` sorts by for ``key``: the lowest (ascending) or highest
        (descending) of its values, or None when it has none."""
        if key.param == "_id":
            return doc.id
        if key.param == "_lastUpdated":
            return doc.updated
        values = []
        for row in doc.rows.get(key.param, ()):
            value = _sortable(row, key.descending)
            if value is not None:
                values.append(value)
        if not values:
            return None
        return max(values) if key.descending else min(values)

    def order(self, docs: list[_Doc], keys: tuple[ir.SortKey, ...]) -> list[_Doc]:
        """Sort by each key in turn; a resource without a value comes after those with one."""
        result = sorted(docs, key=lambda d: (d.type, d.id))
        for key in reversed(keys):
            present = [d for d in result if self.sort_value(key, d) is not None]
            absent = [d for d in result if self.sort_value(key, d) is None]
            present.sort(key=functools.partial(self.sort_value, key), reverse=key.descending)
            result = present + absent
        return result

    # -- includes (R4 #include) -----------------------------------------------------------------
    def includes(self, q: ir.Query, page: list[_Doc]) -> list[str]:
        """``_include`` / ``_revinclude`` of the page's matches; ``:iterate`` ones also of what
        was included, until nothing new is found. Matches are never repeated as includes."""
        if not q.include:
            return []
        matched = {d.key for d in page}
        found: dict[str, _Doc] = {}

        def add(docs: Iterable[_Doc]) -> list[_Doc]:
            new = [d for d in docs if d.key not in matched and d.key not in found]
            for d in new:
                found[d.key] = d
            return new

        frontier = add(d for inc in q.include for d in self.follow(inc, page))
        iterating = [inc for inc in q.include if inc.iterate]
        while frontier and iterating:
            everything = page + list(found.values())
            frontier = add(d for inc in iterating for d in self.follow(inc, everything))
        return sorted(found)

    def follow(self, inc: ir.Include, sources: list[_Doc]) -> list[_Doc]:
        """The resources one include names from ``sources``."""
        out: list[_Doc] = []
        if inc.reverse:
            for target in sources:
                if inc.target_type not in (None, target.type):
                    continue
                for source, param in self._referrers.get((target.type, target.id), ()):
                    if source.type == inc.source_type and inc.param in ("*", param):
                        out.append(source)
            return out
        for source in sources:
            if inc.source_type not in ("*", source.type):
                continue
            for param, rows in source.rows.items():
                if inc.param not in ("*", param):
                    continue
                for row in rows:
                    local = self.local_target(row) if isinstance(row, ReferenceRow) else None
                    if local is None or inc.target_type not in (None, local[0]):
                        continue
                    found = self._docs.get(local)
                    if found is not None:
                        out.append(found)
        return out


def _param(node: ir.Node) -> str:
    param = getattr(node, "param", None)
    if not isinstance(param, str):
        raise TypeError(f"{type(node).__name__} is not a parameter test")
    return param


def _ancestors(cs: CodeSystemModel, code: str) -> set[str]:
    """``code`` and every code above it, following the CodeSystem's parent links."""
    seen, todo = {code}, [code]
    while todo:
        for parent in cs.parents.get(todo.pop(), ()):
            if parent not in seen:
                seen.add(parent)
                todo.append(parent)
    return seen


def _component_index(node: ir.Node) -> int:
    return int(_param(node).rsplit("$", 1)[1])


def _sortable(row: Any, descending: bool) -> Any:
    if isinstance(row, StringRow):
        return fold(row.exact)
    if isinstance(row, TokenRow):
        return row.code
    if isinstance(row, DateRow):
        return row.high if descending else row.low
    if isinstance(row, (NumberRow, QuantityRow)):
        return row.value
    if isinstance(row, ReferenceRow):
        return row.target_id
    if isinstance(row, UriRow):
        return row.uri
    return None


_ROW_TESTS: dict[tuple[type, type], Callable[[Any, Any], bool]] = {
    (ir.StringMatch, StringRow): string_row,
    (ir.TokenMatch, TokenRow): token_row,
    (ir.DateMatch, DateRow): date_row,
    (ir.NumberMatch, NumberRow): number_row,
    (ir.QuantityMatch, QuantityRow): quantity_row,
    (ir.UriMatch, UriRow): uri_row,
}
