"""The Elasticsearch dialect: the IR as a search request body (query DSL), one per search.

Documents are one per resource (``backends/elasticsearch/documents.py``; fields and keys in
:mod:`.elasticsearch_fields`). Every body is ``{"query": {"bool": {"filter": [tenant, live,
type, where]}}, "sort", "size", "track_total_hits", ...}``: the first filter is always the
tenant's ``term`` (its value is None in the compiled body and set by :func:`with_tenant` when
the store runs it), so no compiled query can read another tenant's documents.

* Parameter matches are ``term``/``prefix``/``wildcard``/``terms`` queries on keyword keys
  (``<param>␟<value>``), ``range`` queries on ``d.<param>`` (``long_range``: each prefix of
  :mod:`helios_persistence.prefixes` is one relation, ``within`` or ``intersects``) and
  ``n.<param>`` (doubles, bounds moved as the SQL dialects move them); quantities,
  composites and ``:text-advanced`` test a parameter's only value in plain fields or one of
  its several values in ``nested`` documents (a ``should`` of both).
* Full text (``_text``, ``_content``, ``:text-advanced``): :mod:`.elasticsearch_text`.
* ``_sort``: per-parameter sort fields (``mode`` min ascending, max descending, missing
  last), then type and id; every page continues with ``search_after`` (the cursor is the last
  hit's sort values), ``_offset`` is ``from``; ``_total=accurate`` is ``track_total_hits``.
* ``_include``/``_revinclude`` run as second requests (:func:`include_body`,
  :func:`fetch_body`), as the SQL backends run theirs.
* Declared unsupported (the composite layer routes them to the primary or the graph):
  chains and ``_has`` (a search secondary holds no join; a two-phase id list would be
  unbounded), and terminology (``:in``/``:below``/...: the expansions live in the primary).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from decimal import Decimal
from typing import Any, ClassVar

from helios_persistence import ir, prefixes
from helios_persistence.compilers.base import BaseCompiler, Recipe, Template, decode_cursor
from helios_persistence.compilers.elasticsearch_fields import (
    canonical_field,
    date_field,
    date_sort_field,
    identifier_key,
    key,
    number_field,
    prefixes_of,
    reference_key,
    sort_field,
    target_key,
    text_field,
)
from helios_persistence.compilers.elasticsearch_text import MATCH_NONE, text_query, unsupported_near
from helios_persistence.compilers.sql_predicates import SQLPredicates
from helios_persistence.errors import InvalidSearch
from helios_persistence.fhir_values import fold

__all__ = ["ElasticsearchCompiler", "compiler", "fetch_body", "include_body", "with_tenant"]

_NO_SYSTEM = "\x00"  # (documents.NO_SYSTEM: the compiler does not import the backend)
#: the source field a hit carries
SOURCE = ["resource"]
#: the double bounds of the SQL dialects (their columns are doubles, as these fields are)
_DOUBLES = SQLPredicates()
#: sort kinds: field of a key and its type when no document has it yet
_SORTS: dict[str, tuple[Callable[[str], str], str]] = {
    "string": (sort_field, "keyword"), "token": (sort_field, "keyword"),
    "reference": (sort_field, "keyword"), "uri": (sort_field, "keyword"),
    "number": (number_field, "double"), "quantity": (number_field, "double"),
    "date": (date_sort_field, "long"),
}  # fmt: skip
_LEAVES = (
    ir.StringMatch, ir.TokenMatch, ir.DateMatch, ir.NumberMatch, ir.QuantityMatch,
    ir.ReferenceMatch, ir.UriMatch,
)  # fmt: skip


class _Param:
    """A bound value in a body under construction (replaced when the body is rendered)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name


def _wildcard(text: str) -> str:
    """``text`` literal in a ``wildcard`` pattern."""
    return text.replace("\\", "\\\\").replace("*", "\\*").replace("?", "\\?")


def _render(node: Any, params: dict[str, Any]) -> Any:
    if isinstance(node, _Param):
        return params[node.name]
    if isinstance(node, dict):
        return {k: _render(v, params) for k, v in node.items()}
    if isinstance(node, list):
        return [_render(v, params) for v in node]
    return node


def _bool(kind: str, clauses: list[Any]) -> dict[str, Any]:
    if kind == "should":
        return {"bool": {"should": clauses, "minimum_should_match": 1}}
    return {"bool": {kind: clauses}}


class ElasticsearchCompiler(BaseCompiler):
    dialect: ClassVar[str] = "elasticsearch"
    OUTPUT: ClassVar[str] = "json"
    UNSUPPORTED: ClassVar[frozenset[type[ir.Node]]] = frozenset({ir.Chain, ir.Has,
                                                                 ir.Terminology})  # fmt: skip
    INEXACT: ClassVar[dict[type[ir.Node], str]] = {
        ir.DateMatch: "a Period whose start is after its end is indexed at its start alone "
        "(long_range cannot hold it inverted)",
    }

    # -- declared limits ------------------------------------------------------------------------
    @staticmethod
    def supports_ReferenceMatch(node: ir.ReferenceMatch, system: bool) -> str | None:
        supported = (ir.ReferenceOp.EQ, ir.ReferenceOp.IDENTIFIER)
        return None if node.op in supported else f"reference :{node.op.value}"

    @staticmethod
    def supports_Missing(node: ir.Missing, system: bool) -> str | None:
        return None

    @staticmethod
    def supports_Text(node: ir.Text, system: bool) -> str | None:
        return unsupported_near(node.query.tree)

    @staticmethod
    def supports_Composite(node: ir.Composite, system: bool) -> str | None:
        for component in node.components:
            if not isinstance(component, _LEAVES):
                return f"a {type(component).__name__} composite component"
        return None

    @staticmethod
    def supports_SortKey(key: ir.SortKey, system: bool) -> str | None:
        if key.param in ("_id", "_lastUpdated") or key.kind in _SORTS:
            return None
        return f"_sort on a {key.kind} parameter"

    # -- bound values ---------------------------------------------------------------------------
    def placeholder(self, name: str) -> Any:
        return _Param(name)

    def combined(self, node: ir.Node, fields: tuple[str, ...], fn: Callable[..., Any]) -> Any:
        """A value computed from several fields of ``node``, blank ones included."""
        assert self._index is not None
        parts: list[tuple[bool, Any]] = []
        for f in fields:
            try:
                parts.append((True, self._index.index(node, f)))
            except KeyError:  # blank: part of the shape
                parts.append((False, getattr(node, f)))
        return self.bind(lambda vals: fn(*(vals[i] if bound else i for bound, i in parts)))

    # -- the request ----------------------------------------------------------------------------
    def build(self, query: ir.Query, index: ir.ValueIndex) -> Template:
        self._index = index
        filters: list[Any] = [
            {"term": {"tenant": _Param("tenant")}},
            {"term": {"deleted": False}},
        ]
        if query.resource_type is not None:
            filters.append({"term": {"type": self.const(query.resource_type)}})
        elif query.types:
            filters.append({"terms": {"type": [self.const(t) for t in query.types]}})
        if query.where is not None:
            filters.append(self.visit(query.where))
        body: dict[str, Any] = {
            "query": {"bool": {"filter": filters}},
            "sort": self.sort(query),
            "_source": SOURCE,
            "track_total_hits": query.total is ir.TotalMode.ACCURATE
            or query.summary is ir.Summary.COUNT,
        }
        if query.summary is ir.Summary.COUNT or query.count == 0:
            body["size"] = 0
        elif query.count is not None:
            body["size"] = self.value(query, "count", lambda n: n + 1)
        else:
            body["size"] = self.page_size(query) + 1
        if query.offset is not None:
            body["from"] = self.value(query, "offset")
        if query.cursor is not None:
            size = len(body["sort"])
            body["search_after"] = self.value(query, "cursor", lambda c: _after(c, size))
        recipes: list[tuple[str, Recipe]] = list(self._recipes)

        def render(vals: list[Any]) -> dict[str, Any]:
            params = {"tenant": None, **{name: recipe(vals) for name, recipe in recipes}}
            rendered: dict[str, Any] = _render(body, params)
            return rendered

        return Template("", "", recipes, "keyset", render)

    def sort(self, query: ir.Query) -> list[dict[str, Any]]:
        order: list[dict[str, Any]] = []
        for k in query.sort:
            direction = "desc" if k.descending else "asc"
            if k.param == "_id":
                order.append({"id": {"order": direction}})
            elif k.param == "_lastUpdated":
                order.append({"lus": {"order": direction}})
            else:
                field, kind = _SORTS[k.kind]
                name = date_sort_field(k.param, True) if k.kind == "date" and k.descending \
                    else field(k.param)  # fmt: skip
                order.append({name: {
                    "order": direction, "mode": "max" if k.descending else "min",
                    "missing": "_last", "unmapped_type": kind,
                }})  # fmt: skip
        order.append({"type": {"order": "asc"}})
        order.append({"id": {"order": "asc"}})
        return order

    # -- predicates -----------------------------------------------------------------------------
    def visit_And(self, node: ir.And) -> Any:
        return _bool("filter", [self.visit(c) for c in node.children])

    def visit_Or(self, node: ir.Or) -> Any:
        return _bool("should", [self.visit(c) for c in node.children])

    def visit_Not(self, node: ir.Not) -> Any:
        return _bool("must_not", [self.visit(node.child)])

    def visit_StringMatch(self, node: ir.StringMatch) -> Any:
        p = node.param
        if node.op is ir.StringOp.EXACT:
            return {"term": {"strx": self.value(node, "value", lambda v: key(p, v))}}
        if node.op is ir.StringOp.EQUALS:
            return {"term": {"str": self.value(node, "value", lambda v: key(p, fold(v)))}}
        if node.op is ir.StringOp.STARTS:
            return {"prefix": {"str": self.value(node, "value", lambda v: key(p, fold(v)))}}
        head = _wildcard(key(p, "")) + "*"
        tail = "*" if node.op is ir.StringOp.CONTAINS else ""
        pattern = self.value(node, "value", lambda v: head + _wildcard(fold(v)) + tail)
        return {"wildcard": {"str": {"value": pattern}}}

    def visit_TokenMatch(self, node: ir.TokenMatch) -> Any:
        p = node.param
        if p == "_id":
            return {"term": {"id": self.value(node, "code")}}
        if node.op is ir.TokenOp.TEXT:
            start = self.value(node, "value", lambda v: key(p, fold(v)))
            word = self.value(
                node, "value", lambda v: _wildcard(key(p, "")) + "* " + _wildcard(fold(v)) + "*"
            )
            return _bool("should", [{"prefix": {"tok_t": start}},
                                    {"wildcard": {"tok_t": {"value": word}}}])  # fmt: skip
        if node.op is ir.TokenOp.OF_TYPE:
            return {"term": {"tok_ot": self.combined(
                node, ("system", "code", "value"),
                lambda s, c, v: key(p, _sys(s), _sys(c), _sys(v)),
            )}}  # fmt: skip
        if node.code is None:
            if node.system is None or node.system == "":  # (the binder gives neither)
                return {"term": {"params": self.const(p)}}
            return {"term": {"tok_s": self.value(node, "system", lambda s: key(p, s))}}
        if node.system is None:
            return {"term": {"tok_c": self.value(node, "code", lambda c: key(p, c))}}
        return {"term": {"tok_sc": self.combined(
            node, ("system", "code"), lambda s, c: key(p, s or _NO_SYSTEM, c)
        )}}  # fmt: skip

    def date_range(self, field: str, node: ir.DateMatch) -> Any:
        """The prefix's conditions on a stored ``[low, high)`` as range queries on a
        ``long_range`` holding ``[low, high - 1]``."""
        span = ("low", "high")
        bounds: dict[str, Callable[[int], Any]] = {
            "L": lambda s: self.value(node, "low", lambda x: x - s),
            "H": lambda s: self.value(node, "high", lambda x: x - s),
            "AL": lambda s: self.computed(
                node, span, lambda lo, hi: prefixes.approx_range(lo, hi)[0] - s
            ),
            "AH": lambda s: self.computed(
                node, span, lambda lo, hi: prefixes.approx_range(lo, hi)[1] - s
            ),
        }
        # low >= b: within [b, ..]; low < b: intersects [.., b-1];
        # high > b: intersects [b, ..]; high <= b: within [.., b-1]
        relations = {
            ("low", ">="): ("within", "gte", 0), ("low", "<"): ("intersects", "lte", 1),
            ("high", ">"): ("intersects", "gte", 0), ("high", "<="): ("within", "lte", 1),
        }  # fmt: skip
        disjuncts = []
        for conjunct in prefixes.date_terms(node.prefix):
            relation, limits = None, {}
            for column, op, bound in conjunct:
                kind, side, shift = relations[(column, op)]
                if relation not in (None, kind):
                    raise AssertionError(f"mixed range relations in {conjunct}")
                relation = kind
                limits[side] = bounds[bound](shift)
            disjuncts.append({"range": {field: {**limits, "relation": relation}}})
        return disjuncts[0] if len(disjuncts) == 1 else _bool("should", disjuncts)

    def visit_DateMatch(self, node: ir.DateMatch) -> Any:
        field = "lu" if node.param == "_lastUpdated" else date_field(node.param)
        return self.date_range(field, node)

    def number_range(
        self, field: str, node: ir.Node, fields: tuple[str, str, str]
    ) -> dict[str, Any]:
        v, lo, hi = fields
        prefix: ir.Prefix = getattr(node, "prefix")  # noqa: B009 - number and quantity nodes
        picks: dict[str, tuple[str, Callable[[Decimal], Decimal]]] = {
            "V": (v, lambda x: x), "L": (lo, lambda x: x), "H": (hi, lambda x: x),
            "AL": (v, lambda x: prefixes.approx_number(x)[0]),
            "AH": (v, lambda x: prefixes.approx_number(x)[1]),
        }  # fmt: skip
        ops = {"<": "lt", "<=": "lte", ">": "gt", ">=": "gte"}
        disjuncts = []
        for conjunct in prefixes.number_terms(prefix):
            limits = {}
            for _, op, bound in conjunct:
                name, pick = picks[bound]
                limits[ops[op]] = self.value(node, name, _double_bound(pick, op))
            disjuncts.append({"range": {field: limits}})
        return disjuncts[0] if len(disjuncts) == 1 else _bool("should", disjuncts)

    def visit_NumberMatch(self, node: ir.NumberMatch) -> Any:
        return self.number_range(number_field(node.param), node, ("value", "low", "high"))

    def visit_QuantityMatch(self, node: ir.QuantityMatch) -> Any:
        """A parameter's only quantity is in plain fields, several are ``qty`` documents."""
        return _bool("should", [self.quantity(node), self.nested_quantity(node, "qty")])

    def quantity(self, node: ir.QuantityMatch) -> Any:
        """A match of the parameter's only quantity: ``n.<param>`` (every value of the
        parameter: a search naming the value alone matches any of them, as it must) and
        the ``q_*`` keys (only for a parameter's only quantity)."""
        p = node.param
        written: list[Any] = [self.number_range(number_field(p), node, ("value", "low", "high"))]
        if node.system is not None:
            written.append({"term": {"q_s": self.value(node, "system", lambda v: key(p, v))}})
        if node.code is not None and node.system is not None:
            written.append({"term": {"q_c": self.value(node, "code", lambda v: key(p, v))}})
        elif node.code is not None:
            code = self.value(node, "code", lambda v: key(p, v))
            written.append(_bool("should", [{"term": {"q_c": code}},
                                            {"term": {"q_u": code}}]))  # fmt: skip
        match: Any = _bool("filter", written)
        if node.canonical_unit is not None:
            canonical = _bool("filter", [
                {"term": {"q_cu": self.value(node, "canonical_unit", lambda v: key(p, v))}},
                self.number_range(canonical_field(p), node,
                                  ("canonical_value", "canonical_low", "canonical_high")),
            ])  # fmt: skip
            match = _bool("should", [canonical, match])
        return match

    def nested_quantity(self, node: ir.QuantityMatch, path: str) -> Any:
        """A match of one of the ``path`` nested quantities (a parameter's several)."""
        written: list[Any] = [self.number_range(f"{path}.v", node, ("value", "low", "high"))]
        if node.system is not None:
            written.append({"term": {f"{path}.s": self.value(node, "system")}})
        if node.code is not None and node.system is not None:
            written.append({"term": {f"{path}.c": self.value(node, "code")}})
        elif node.code is not None:
            code = self.value(node, "code")
            written.append(_bool("should", [{"term": {f"{path}.c": code}},
                                            {"term": {f"{path}.u": code}}]))  # fmt: skip
        match: Any = _bool("filter", written)
        if node.canonical_unit is not None:
            canonical = _bool("filter", [
                {"term": {f"{path}.cu": self.value(node, "canonical_unit")}},
                self.number_range(f"{path}.cv", node,
                                  ("canonical_value", "canonical_low", "canonical_high")),
            ])  # fmt: skip
            match = _bool("should", [canonical, match])
        inner = _bool("filter", [{"term": {f"{path}.p": self.const(node.param)}}, match])
        return {"nested": {"path": path, "query": inner}}

    def visit_ReferenceMatch(self, node: ir.ReferenceMatch) -> Any:
        p = node.param
        if node.op is ir.ReferenceOp.IDENTIFIER:
            ref = self.combined(node, ("url", "id"), lambda s, v: identifier_key(p, s, v))
            return {"term": {"ref": ref}}
        fields = ("target_type", "id", "url", "version")
        if all(getattr(node, f) is None for f in fields):
            return {"term": {"params": self.const(p)}}

        def ref_key(t: str | None, i: str | None, u: str | None, v: str | None) -> str:
            named = {c: x for c, x in zip("tiuv", (t, i, u, v), strict=True) if x is not None}
            return reference_key(p, named)

        return {"term": {"ref": self.combined(node, fields, ref_key)}}

    def visit_UriMatch(self, node: ir.UriMatch) -> Any:
        p = node.param
        if node.op is ir.UriOp.EQ:
            return {"term": {"uri": self.value(node, "value", lambda v: key(p, v))}}
        if node.op is ir.UriOp.BELOW:
            return {"prefix": {"uri": self.value(node, "value", lambda v: key(p, v))}}
        # ABOVE: the stored uri is a prefix of the search value
        above = self.value(node, "value", lambda v: [key(p, x) for x in prefixes_of(v)])
        return {"terms": {"uri": above}}

    def visit_Missing(self, node: ir.Missing) -> Any:
        if node.param in ("_id", "_lastUpdated"):  # every resource has them
            return MATCH_NONE if node.missing else {"match_all": {}}
        present = {"term": {"params": self.const(node.param)}}
        return _bool("must_not", [present]) if node.missing else present

    def visit_Composite(self, node: ir.Composite) -> Any:
        """A parameter's only composite repetition is in plain fields (its components
        named ``<param>$<i>``), several are ``comp`` documents."""
        single = [self.component(c) for c in node.components]
        clauses: list[Any] = [{"term": {"comp.p": self.const(node.param)}}]
        clauses.extend(self.component(c, nested=True) for c in node.components)
        repeated = {"nested": {"path": "comp", "query": _bool("filter", clauses)}}
        return _bool("should", [_bool("filter", single), repeated])

    def component(self, node: ir.Node, nested: bool = False) -> Any:
        """A component match, in the document or (``nested``) inside a ``comp`` document
        (its fields under ``comp``; a quantity there is in plain fields, or, written by
        mapping version 1, a ``comp.qty`` document)."""
        if isinstance(node, ir.QuantityMatch):
            if not nested:
                return self.quantity(node)
            plain = _prefixed(self.quantity(node), "comp.")
            return _bool("should", [plain, self.nested_quantity(node, "comp.qty")])
        inner = self.visit(node)
        return _prefixed(inner, "comp.") if nested else inner

    def visit_Text(self, node: ir.Text) -> Any:
        if node.param is None:
            field = "narrative" if node.kind is ir.TextKind.NARRATIVE else "content"
            return self.value(node, "query", lambda q: text_query(q.tree, field))
        # a parameter's only text value is in pt.<param>, several are ptext documents
        field = text_field(node.param)
        single = self.value(node, "query", lambda q: text_query(q.tree, field))
        query = self.value(node, "query", lambda q: text_query(q.tree, "ptext.w"))
        inner = _bool("filter", [{"term": {"ptext.p": self.const(node.param)}}, query])
        return _bool("should", [single, {"nested": {"path": "ptext", "query": inner}}])


def _double_bound(pick: Callable[[Decimal], Decimal], op: str) -> Callable[[Decimal], Any]:
    """The bound ``pick(value)`` as the double the SQL dialects would bind for ``op``."""
    return lambda value: _DOUBLES.number_bound(pick(value), op)


def _sys(value: str | None) -> str:
    return _NO_SYSTEM if value is None else value


#: the fields a component query names (renamed under ``comp.``)
_COMPONENT_FIELDS = ("str", "strx", "tok_c", "tok_sc", "tok_s", "tok_t", "tok_ot", "ref", "uri",
                     "params", "q_s", "q_c", "q_u", "q_cu")  # fmt: skip
_RANGE_FIELDS = ("d.", "n.", "nc.")


def _prefixed(query: Any, prefix: str) -> Any:
    """``query`` with its field names (keys of leaf queries) under ``prefix``."""
    if isinstance(query, list):
        return [_prefixed(q, prefix) for q in query]
    if not isinstance(query, dict):
        return query
    out: dict[str, Any] = {}
    for name, value in query.items():
        if name in ("term", "terms", "prefix", "wildcard", "range") and isinstance(value, dict):
            out[name] = {
                (prefix + f if f in _COMPONENT_FIELDS or f.startswith(_RANGE_FIELDS) else f): v
                for f, v in value.items()
            }
        else:
            out[name] = _prefixed(value, prefix)
    return out


def _after(cursor: Any, size: int) -> list[Any]:
    """The sort values a ``_cursor`` carries (:class:`InvalidSearch` for a forged one)."""
    values = decode_cursor(str(cursor))
    ok = len(values) == size and all(
        v is None or (isinstance(v, str) and "\x00" not in v)
        or (type(v) is int and -(2**63) <= v < 2**63) or type(v) is float
        for v in values
    )  # fmt: skip
    if not ok:
        raise InvalidSearch("_cursor is not a cursor this server issued")
    return values


def with_tenant(body: dict[str, Any], tenant: str) -> dict[str, Any]:
    """``body`` (a compiled body) for ``tenant``: its first filter is the tenant term."""
    out = copy.deepcopy(body)
    first = out["query"]["bool"]["filter"][0]["term"]
    if list(first) != ["tenant"]:
        raise AssertionError("a compiled body's first filter is its tenant")
    first["tenant"] = tenant
    return out


def _scope(tenant: str, resource_type: str) -> list[dict[str, Any]]:
    return [
        {"term": {"tenant": tenant}},
        {"term": {"deleted": False}},
        {"term": {"type": resource_type}},
    ]


def fetch_body(tenant: str, resource_type: str, ids: list[str], source: list[str]) -> Any:
    """Live resources of one type by id (the second request of an include)."""
    filters = [*_scope(tenant, resource_type), {"terms": {"id": ids}}]
    return {"query": {"bool": {"filter": filters}}, "_source": source, "size": len(ids)}


def include_body(
    tenant: str, source_type: str, param: str, target_type: str, ids: list[str]
) -> dict[str, Any]:
    """``_revinclude``: resources of ``source_type`` whose ``param`` (``*``: any) references
    one of ``ids`` of ``target_type``."""
    keys = [target_key(target_type, i, None if param == "*" else param) for i in ids]
    filters = [*_scope(tenant, source_type), {"terms": {"ref": keys}}]
    return {"query": {"bool": {"filter": filters}}, "_source": False, "fields": ["id"]}


compiler = ElasticsearchCompiler()
