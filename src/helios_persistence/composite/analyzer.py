"""The features of a bound query and a complexity score: what the router and ``explain`` see.

A part of a query (one conjunct of its ``where``) has one *feature*, the most demanding kind it
contains, in this order: ``has`` (reverse chains), ``chain``, ``text`` (``_text``,
``_content``, ``:text-advanced``), ``terminology`` (``:in``/``:below``/...), else ``plain``.
The cost model prices parts by that feature.
"""

from __future__ import annotations

from dataclasses import dataclass

from helios_persistence import ir

__all__ = ["FEATURES", "Features", "analyze", "feature_of"]

#: part features, most demanding first
FEATURES = ("has", "chain", "text", "terminology", "plain")
#: complexity weight of each feature, per occurrence
WEIGHTS = {"has": 4, "chain": 3, "text": 3, "terminology": 3, "plain": 1}


@dataclass(frozen=True, slots=True)
class Features:
    """What a query asks for (counts of each kind of node) and how complex it is."""

    resource_type: str | None
    chains: int = 0
    chain_depth: int = 0
    has: int = 0
    text: int = 0
    terminology: int = 0
    plain: int = 0
    disjunctions: int = 0
    negations: int = 0
    includes: int = 0
    revincludes: int = 0
    iterate: bool = False
    sort: int = 0
    total: bool = False
    #: the conjuncts of the top-level ``where`` (what the router may split)
    parts: int = 0

    @property
    def kinds(self) -> tuple[str, ...]:
        """The feature names present (``chain``, ``has``, ``text``, ``terminology``,
        ``include``, ``sort``, ``plain``)."""
        present = {
            "chain": self.chains, "has": self.has, "text": self.text,
            "terminology": self.terminology, "include": self.includes + self.revincludes,
            "sort": self.sort, "plain": self.plain,
        }  # fmt: skip
        return tuple(k for k, n in present.items() if n)

    @property
    def complexity(self) -> int:
        """A score: weighted node counts, chain depth, includes (iterated ones twice), sort
        keys, disjunctions and negations. 0 for a query with no conditions and no extras."""
        score = sum(WEIGHTS[f] * int(getattr(self, _COUNTS[f])) for f in FEATURES)
        score += 2 * max(0, self.chain_depth - 1)
        score += 2 * (self.includes + self.revincludes) * (2 if self.iterate else 1)
        return score + self.sort + self.disjunctions + self.negations + int(self.total)


_COUNTS = {
    "has": "has", "chain": "chains", "text": "text", "terminology": "terminology",
    "plain": "plain",
}  # fmt: skip


def conjuncts(where: ir.Predicate | None) -> tuple[ir.Predicate, ...]:
    """The top-level conjunction's parts (one part when ``where`` is not an ``And``)."""
    if where is None:
        return ()
    return where.children if isinstance(where, ir.And) else (where,)


def feature_of(node: ir.Node) -> str:
    """The most demanding feature inside ``node`` (see the module docstring)."""
    found: set[str] = set()
    _walk(node, found)
    return next(f for f in FEATURES if f in found or f == "plain")


def _walk(node: ir.Node, found: set[str]) -> None:
    if isinstance(node, ir.Has):
        found.add("has")
    elif isinstance(node, ir.Chain):
        found.add("chain")
    elif isinstance(node, ir.Text):
        found.add("text")
    elif isinstance(node, ir.Terminology):
        found.add("terminology")
    for child in ir.children(node):
        _walk(child, found)


def analyze(query: ir.Query) -> Features:
    """The :class:`Features` of a bound query."""
    counts = {"chains": 0, "has": 0, "text": 0, "terminology": 0, "plain": 0}
    counts |= {"disjunctions": 0, "negations": 0, "chain_depth": 0}

    def walk(node: ir.Node, depth: int) -> None:
        if isinstance(node, ir.Chain | ir.Has):
            counts["chains" if isinstance(node, ir.Chain) else "has"] += 1
            counts["chain_depth"] = max(counts["chain_depth"], depth + 1)
            walk(node.where, depth + 1)
            return
        if isinstance(node, ir.Or):
            counts["disjunctions"] += 1
        elif isinstance(node, ir.Not):
            counts["negations"] += 1
        elif isinstance(node, ir.Text):
            counts["text"] += 1
        elif isinstance(node, ir.Terminology):
            counts["terminology"] += 1
        elif not isinstance(node, ir.And):
            counts["plain"] += 1
            return
        for child in ir.children(node):
            walk(child, depth)

    if query.where is not None:
        walk(query.where, 0)
    return Features(
        query.resource_type,
        **counts,
        includes=sum(1 for i in query.include if not i.reverse),
        revincludes=sum(1 for i in query.include if i.reverse),
        iterate=any(i.iterate for i in query.include),
        sort=len(query.sort),
        total=query.total is ir.TotalMode.ACCURATE,
        parts=len(conjuncts(query.where)),
    )
