"""The compiler contract every dialect implements: dispatch, declared support, bound values,
paging cursors and compiled-query caching. Nothing here is SQL-specific.

As in Ibis, a dialect is one class with one ``visit_<Node>`` method per IR predicate it can
lower. Support is declared, and checked when the class is defined:

* a predicate kind with no handler, or listed in ``UNSUPPORTED``, gets a raising handler and
  is reported unsupported; a class that lists a kind in ``UNSUPPORTED`` *and* defines its
  handler is a definition error;
* finer limits (one operator, one sort kind, ``_has`` in a system search) are declared by
  ``supports_<Node>(node, system)`` hooks returning a reason, or None when supported.

:meth:`BaseCompiler.unsupported_reason` walks a query with those declarations, and
:meth:`BaseCompiler.compile` refuses exactly what it reports, before building anything: what
``supports()`` says is what compiles (a test compiles every conformance query on every
dialect to keep it so).

Compiled output refers to values by their position in :func:`ir.values`, so a compilation is
cached per :func:`ir.shape_key` and re-bound to the values of each new query of that shape.
Values are always bound: :meth:`BaseCompiler.value` and friends return the dialect's
placeholder for a *recipe* that computes the bound value from the query's values.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from helios_persistence import ir, passes
from helios_persistence.errors import InvalidSearch, UnsupportedInDialect

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "PREDICATES",
    "BaseCompiler",
    "Compiled",
    "Recipe",
    "Template",
    "decode_cursor",
    "encode_cursor",
]

#: how to compute one bound parameter from the query's canonical value list
Recipe = Callable[[list[Any]], Any]

#: every predicate kind of the IR: each dialect handles it or declares it unsupported
PREDICATES: tuple[type[ir.Node], ...] = (
    ir.And, ir.Or, ir.Not, ir.StringMatch, ir.TokenMatch, ir.DateMatch, ir.NumberMatch,
    ir.QuantityMatch, ir.ReferenceMatch, ir.UriMatch, ir.Missing, ir.Chain, ir.Has,
    ir.Composite, ir.Text, ir.Terminology,
)  # fmt: skip

#: page size when a query names no ``_count``
DEFAULT_PAGE_SIZE = 100


def encode_cursor(values: list[Any]) -> str:
    """An opaque keyset cursor (the sort key values of a page's last row)."""
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> list[Any]:
    """The values :func:`encode_cursor` wrapped; :class:`InvalidSearch` for anything else."""
    padded = cursor + "=" * (-len(cursor) % 4)
    try:
        decoded = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeError, RecursionError):  # (RecursionError: nested thousands deep)
        decoded = None
    if not isinstance(decoded, list):
        raise InvalidSearch("_cursor is not a cursor this server issued")
    return decoded


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        return False
    return True


@dataclass(frozen=True, slots=True)
class Compiled:
    """A compiled query: ``text`` (SQL or Cypher) with named ``params``, or an Elasticsearch
    request ``body``. The tenant is the parameter ``tenant``, supplied at execution; ``params``
    lists it (as None) so that every name the text uses is there."""

    dialect: str
    text: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    body: dict[str, Any] | None = None
    #: statement for the result count (``_total``), same params
    count_text: str = ""
    #: how the page is ordered: "keyset" (``_cursor`` continues it) or "offset"
    paging: str = "offset"
    #: whether ``text`` returns the page's ``_include``/``_revinclude`` resources too (a
    #: last column ``ord``: the match's position in the page, NULL for an included resource)
    includes_inline: bool = False


@dataclass(slots=True)
class Template:
    """A compilation with its values left as recipes (cached per query shape)."""

    text: str
    count_text: str
    recipes: list[tuple[str, Recipe]]
    paging: str
    body: Any = None
    includes_inline: bool = False


def _raising_visitor(node_type: type[ir.Node]) -> Callable[..., Any]:
    def visit(self: BaseCompiler, node: ir.Node, *args: Any) -> Any:
        raise self.unsupported(node)

    visit.undefined = True  # type: ignore[attr-defined]
    visit.__name__ = f"visit_{node_type.__name__}"
    return visit


class BaseCompiler:
    """Dispatches IR nodes to ``visit_<NodeName>``, declares support, binds values and caches
    compilations by shape. Subclasses implement :meth:`build` and :meth:`placeholder`."""

    dialect: ClassVar[str] = "base"
    #: what ``compile`` produces: "sql" or "cypher" text, or a "json" request body
    OUTPUT: ClassVar[str] = "text"
    #: the rewrites run, in order, between binding and compiling (see ``pipeline``)
    PASSES: ClassVar[tuple[Callable[[ir.Query], ir.Query], ...]] = (
        passes.merge_chains,
        passes.flatten,
    )
    #: predicate kinds this dialect declares it cannot lower
    UNSUPPORTED: ClassVar[frozenset[type[ir.Node]]] = frozenset()
    #: why, for the kinds it names (the reason reported instead of the bare kind name)
    UNSUPPORTED_REASONS: ClassVar[dict[type[ir.Node], str]] = {}
    #: kinds it lowers whose answers can differ from the reference on some stored data (a
    #: declared gap of its index), with why: a composite never routes them to this dialect
    INEXACT: ClassVar[dict[type[ir.Node], str]] = {}
    #: the predicate kinds without a handler (derived when the class is defined)
    _unsupported: ClassVar[frozenset[type[ir.Node]]] = frozenset(PREDICATES)
    #: compiled templates, per compiler class (bounded)
    _cache: ClassVar[dict[Hashable, Template]]
    CACHE_SIZE: ClassVar[int] = 2048

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._cache = {}
        unsupported = set(cls.UNSUPPORTED)
        for node_type in PREDICATES:
            name = f"visit_{node_type.__name__}"
            own = cls.__dict__.get(name)
            if own is not None and node_type in cls.UNSUPPORTED:
                raise TypeError(
                    f"{cls.__name__} defines {name} but declares {node_type.__name__} unsupported"
                )
            handler = getattr(cls, name, None)
            if handler is None or getattr(handler, "undefined", False):
                unsupported.add(node_type)
            if node_type in unsupported:
                setattr(cls, name, _raising_visitor(node_type))
        cls._unsupported = frozenset(unsupported)

    def __init__(self) -> None:
        self._recipes: list[tuple[str, Recipe]] = []
        self._bound: dict[tuple[str, Any], Any] = {}
        self._index: ir.ValueIndex | None = None

    # -- capability discovery -------------------------------------------------------------------
    @classmethod
    def supports_node(cls, node_type: type[ir.Node]) -> bool:
        """Whether this dialect can lower nodes of ``node_type`` at all."""
        return node_type not in cls._unsupported

    @classmethod
    def unsupported_reason(cls, node: ir.Node | None, *, system: bool = False) -> str | None:
        """What in ``node`` (a query, predicate or sort key) cannot be lowered, or None.

        ``system``: the predicate applies to a search across types (no single resource type)."""
        if node is None:
            return None
        if isinstance(node, ir.Query):
            system = node.resource_type is None
            parts: list[ir.Node | None] = [node.where, *node.sort, *node.include]
            for part in parts:
                reason = cls.unsupported_reason(part, system=system)
                if reason:
                    return reason
            return None
        name = type(node).__name__
        if isinstance(node, PREDICATES) and not cls.supports_node(type(node)):
            return cls.UNSUPPORTED_REASONS.get(type(node), name)
        hook = getattr(cls, f"supports_{name}", None)
        if hook is not None:
            reason = hook(node, system)
            if reason:
                return str(reason)
        inner_system = system and not isinstance(node, ir.Chain | ir.Has)
        for child in ir.children(node):
            reason = cls.unsupported_reason(child, system=inner_system)
            if reason:
                return reason
        return None

    @classmethod
    def inexact_reason(cls, node: ir.Node) -> str | None:
        """Why this dialect's answer to ``node`` (a predicate tree) may differ from the
        reference on some data (see ``INEXACT``), or None when it is exact."""
        reason = cls.INEXACT.get(type(node))
        if reason is not None:
            return reason
        for child in ir.children(node):
            reason = cls.inexact_reason(child)
            if reason:
                return reason
        return None

    @classmethod
    def supports(cls, node: ir.Node | None) -> bool:
        """Whether ``node`` (a query or predicate tree) compiles on this dialect."""
        return cls.unsupported_reason(node) is None

    @classmethod
    def support_matrix(cls) -> dict[str, bool]:
        """``{node name: supported}`` for every predicate kind."""
        return {t.__name__: cls.supports_node(t) for t in PREDICATES}

    def unsupported(self, node: ir.Node, reason: str | None = None) -> UnsupportedInDialect:
        return UnsupportedInDialect(reason or type(node).__name__, self.dialect)

    def visit(self, node: ir.Node, *args: Any) -> Any:
        method: Callable[..., Any] = getattr(self, f"visit_{type(node).__name__}")
        return method(node, *args)

    # -- bound values ---------------------------------------------------------------------------
    def placeholder(self, name: str) -> Any:
        """How the dialect refers to the bound parameter ``name`` (SQL: a sqlglot placeholder;
        Cypher: ``$name``)."""
        return name

    def bind(self, recipe: Recipe) -> Any:
        """A new parameter computed by ``recipe`` from the query's values."""
        name = f"p{len(self._recipes)}"
        self._recipes.append((name, recipe))
        return self.placeholder(name)

    def const(self, value: Any) -> Any:
        """A shape constant (parameter code, resource type), bound like any value."""
        key = ("const", value)
        if key not in self._bound:
            self._bound[key] = self.bind(lambda _values: value)
        return self._bound[key]

    def value(
        self, node: ir.Node, field: str, transform: Callable[[Any], Any] | None = None
    ) -> Any:
        """The bound value of ``node.<field>`` (optionally transformed)."""
        assert self._index is not None
        try:
            i = self._index.index(node, field)
        except KeyError:  # a blank value ("") is part of the shape: bind it as a constant
            raw = getattr(node, field)
            return self.const(raw if transform is None else transform(raw))
        if transform is None:
            return self.bind(lambda vals: vals[i])
        return self.bind(lambda vals: transform(vals[i]))

    def computed(self, node: ir.Node, fields: tuple[str, ...], fn: Callable[..., Any]) -> Any:
        """A value computed from several fields of ``node``."""
        assert self._index is not None
        positions = [self._index.index(node, f) for f in fields]
        return self.bind(lambda vals: fn(*(vals[p] for p in positions)))

    def cursor_value(self, query: ir.Query, position: int, kind: type, size: int) -> Any:
        """The ``position``-th of the ``size`` sort key values of the query's keyset cursor,
        which must be a ``kind`` (``int``: 64-bit; ``str``: text a database can hold), so a
        forged cursor is an :class:`InvalidSearch`, never a database error."""

        def part(cursor: Any) -> Any:
            values = decode_cursor(str(cursor))
            value = values[position] if len(values) == size else None
            if kind is int:
                ok = type(value) is int and -(2**63) <= value < 2**63
            else:
                ok = isinstance(value, str) and "\x00" not in value and _encodable(value)
            if not ok:
                raise InvalidSearch("_cursor is not a cursor this server issued")
            return value

        return self.value(query, "cursor", part)

    @staticmethod
    def page_size(query: ir.Query) -> int:
        return query.count if query.count is not None else DEFAULT_PAGE_SIZE

    # -- compiling ------------------------------------------------------------------------------
    @classmethod
    def lower(cls, query: ir.Query) -> ir.Query:
        """``query`` after this dialect's :attr:`PASSES`."""
        for rewrite in cls.PASSES:
            query = rewrite(query)
        return query

    def compile(self, query: ir.Query) -> Compiled:
        """Compile ``query`` (from the cache when a query of the same shape was compiled);
        :class:`UnsupportedInDialect` for exactly what :meth:`unsupported_reason` reports."""
        key = ir.shape_key(query)
        template = self._cache.get(key)
        if template is None:
            reason = self.unsupported_reason(query)
            if reason is not None:
                raise UnsupportedInDialect(reason, self.dialect)
            index = ir.ValueIndex(query)
            template = type(self)().build(query, index)
            if index.cacheable:
                if len(self._cache) >= self.CACHE_SIZE:
                    self._cache.clear()
                self._cache[key] = template
            vals = index.values
        else:
            vals = ir.values(query)
        params: dict[str, Any] = {"tenant": None}
        params.update((name, recipe(vals)) for name, recipe in template.recipes)
        return Compiled(
            self.dialect,
            template.text,
            params,
            template.body(vals) if callable(template.body) else template.body,
            template.count_text,
            template.paging,
            template.includes_inline,
        )

    def template(self, text: str, count_text: str = "", paging: str = "offset") -> Template:
        """The template of the compilation under way (its recipes so far)."""
        return Template(text, count_text, list(self._recipes), paging)

    def build(self, query: ir.Query, index: ir.ValueIndex) -> Template:  # pragma: no cover
        """Lower ``query`` on a fresh compiler; values by their position in ``index`` (set
        ``self._index = index`` first so :meth:`value` can find them)."""
        raise NotImplementedError
