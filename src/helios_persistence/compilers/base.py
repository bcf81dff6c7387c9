"""The compiler base: ``visit_<Node>`` dispatch, declared support, compiled-query caching.

As in Ibis, a dialect is one class. Any IR node without a ``visit_<Node>`` method (or listed
in ``UNSUPPORTED``) raises :class:`UnsupportedInDialect`, and :meth:`supports` tells the
composite layer in advance.

Compiled output refers to values by their position in :func:`ir.values`, so a compilation is
cached per :func:`ir.shape_key` and re-bound to the values of each new query of that shape.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from helios_persistence import ir
from helios_persistence.errors import UnsupportedInDialect

__all__ = ["BaseCompiler", "Compiled", "Recipe"]

#: how to compute one bound parameter from the query's canonical value list
Recipe = Callable[[list[Any]], Any]

_PREDICATES: tuple[type[ir.Node], ...] = (
    ir.And, ir.Or, ir.Not, ir.StringMatch, ir.TokenMatch, ir.DateMatch, ir.NumberMatch,
    ir.QuantityMatch, ir.ReferenceMatch, ir.UriMatch, ir.Missing, ir.Chain, ir.Has,
    ir.Composite, ir.Text, ir.Terminology,
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Compiled:
    """A compiled query: ``text`` (SQL or Cypher) with named ``params``, or an Elasticsearch
    request ``body``. The tenant is always the parameter ``tenant``, supplied at execution."""

    dialect: str
    text: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    body: dict[str, Any] | None = None
    #: statements for the result count (``_total``), same params
    count_text: str = ""
    #: how the page is ordered: "keyset" (``_cursor`` continues it) or "offset"
    paging: str = "offset"


@dataclass(slots=True)
class _Template:
    text: str
    count_text: str
    recipes: list[tuple[str, Recipe]]
    paging: str
    body: Any = None


class BaseCompiler:
    """Dispatches IR nodes to ``visit_<NodeName>`` and caches compilations by shape."""

    dialect: ClassVar[str] = "base"
    #: node types this dialect declares it cannot lower
    UNSUPPORTED: ClassVar[frozenset[type[ir.Node]]] = frozenset()
    #: compiled templates, per compiler class (bounded)
    _cache: ClassVar[dict[Hashable, _Template]]
    CACHE_SIZE: ClassVar[int] = 2048

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._cache = {}

    # -- capability discovery -------------------------------------------------------------------
    @classmethod
    def supports_node(cls, node_type: type[ir.Node]) -> bool:
        """Whether this dialect can lower nodes of ``node_type`` at all."""
        return node_type not in cls.UNSUPPORTED and hasattr(cls, f"visit_{node_type.__name__}")

    @classmethod
    def supports(cls, node: ir.Node | None) -> bool:
        """Whether every node of ``node`` (a query or predicate tree) can be lowered."""
        if node is None:
            return True
        if isinstance(node, ir.Query):
            return cls.supports(node.where)
        if not cls.supports_node(type(node)):
            return False
        return all(cls.supports(child) for child in ir.children(node))

    @classmethod
    def support_matrix(cls) -> dict[str, bool]:
        """``{node name: supported}`` for every predicate kind (the README's matrix)."""
        return {t.__name__: cls.supports_node(t) for t in _PREDICATES}

    def unsupported(self, node: ir.Node) -> UnsupportedInDialect:
        return UnsupportedInDialect(type(node).__name__, self.dialect)

    def visit(self, node: ir.Node, *args: Any) -> Any:
        if type(node) in self.UNSUPPORTED:
            raise self.unsupported(node)
        method = getattr(self, f"visit_{type(node).__name__}", None)
        if method is None:
            raise self.unsupported(node)
        return method(node, *args)

    # -- caching --------------------------------------------------------------------------------
    def compile(self, query: ir.Query) -> Compiled:
        """Compile ``query`` (from the cache when a query of the same shape was compiled)."""
        key = ir.shape_key(query)
        template = self._cache.get(key)
        if template is None:
            index = ir.ValueIndex(query)
            template = type(self)().build(query, index)
            if index.cacheable:
                if len(self._cache) >= self.CACHE_SIZE:
                    self._cache.clear()
                self._cache[key] = template
            vals = index.values
        else:
            vals = ir.values(query)
        params = {name: recipe(vals) for name, recipe in template.recipes}
        return Compiled(
            self.dialect,
            template.text,
            params,
            template.body(vals) if callable(template.body) else template.body,
            template.count_text,
            template.paging,
        )

    def build(self, query: ir.Query, index: ir.ValueIndex) -> _Template:  # pragma: no cover
        raise NotImplementedError
