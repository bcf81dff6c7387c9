"""The router: which backend answers which part of a query.

A query's top-level conjunction is split into parts (a search's parameters, ANDed). Each part
goes to the cheapest backend that can answer it *exactly*: a secondary whose compiler
declares it supports the part (``supports()``, the same declarations that build ``helios
matrix``), that is healthy and whose lag does not touch the part, and whose cost (see
:mod:`.costs`) is below the primary's; otherwise the primary. A disjunction is never split
between the primary and a secondary: it goes whole to one backend, or, when each alternative
is answered by some secondary, to several whose ids are united (``union``). Includes, sort,
paging and ``_total`` always stay on the primary, and so do system searches (no single type)
and writes.

The decision is a :class:`Route`, which ``explain`` shows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from helios_persistence import ir
from helios_persistence.composite.analyzer import Features, analyze, conjuncts, feature_of
from helios_persistence.composite.costs import CostModel

__all__ = ["Candidate", "Part", "Route", "involved_types", "route"]


@dataclass(frozen=True)
class Candidate:
    """A secondary as the router sees it: its role, dialect and compiler; ``unusable`` says
    why it may not be routed to at all (unhealthy); ``pending`` are the outbox changes it has
    not applied yet for the tenant (None: more than the composite checks)."""

    role: str
    dialect: str
    compiler: Any
    unusable: str | None = None
    pending: tuple[Any, ...] | None = ()


@dataclass(frozen=True)
class Part:
    """One conjunct and where it runs: ``backend`` is ``primary`` or a secondary's role
    (``union``: ``alternatives`` names the role of each alternative of an ``Or``)."""

    predicate: ir.Predicate
    feature: str
    backend: str
    reason: str
    cost_primary: float
    cost: float
    #: ids of the queried type changed since the secondary's position: checked on the primary
    recheck: frozenset[str] = frozenset()
    alternatives: tuple[tuple[ir.Predicate, str], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "part": str(self.predicate), "feature": self.feature, "backend": self.backend,
            "reason": self.reason, "cost_primary_ms": _ms(self.cost_primary),
            "cost_ms": _ms(self.cost),
        }  # fmt: skip
        if self.recheck:
            out["recheck_on_primary"] = len(self.recheck)
        if self.alternatives:
            out["alternatives"] = [{"part": str(p), "backend": b} for p, b in self.alternatives]
        return out


@dataclass(frozen=True)
class Route:
    """The router's decision for one query."""

    query: ir.Query
    features: Features
    parts: tuple[Part, ...]
    primary: str
    notes: tuple[str, ...] = ()
    costs: CostModel | None = field(default=None, compare=False)

    @property
    def routed(self) -> tuple[Part, ...]:
        return tuple(p for p in self.parts if p.backend != "primary")

    @property
    def residual(self) -> tuple[ir.Predicate, ...]:
        return tuple(p.predicate for p in self.parts if p.backend == "primary")

    @property
    def strategy(self) -> str:
        """``primary-only`` (nothing routed), ``primary-enriched`` (every part on secondaries,
        the primary fetches, sorts and pages their ids), ``intersection`` (secondaries' ids
        ANDed with the primary's parts) or ``union`` (an ``Or`` across secondaries)."""
        if not self.routed:
            return "primary-only"
        if any(p.backend == "union" for p in self.routed):
            return "union"
        return "primary-enriched" if not self.residual else "intersection"

    def to_dict(self) -> dict[str, Any]:
        f = self.features
        return {
            "query": str(self.query),
            "features": {"kinds": list(f.kinds), "complexity": f.complexity,
                         "chains": f.chains, "chain_depth": f.chain_depth, "has": f.has,
                         "text": f.text, "terminology": f.terminology, "plain": f.plain,
                         "includes": f.includes + f.revincludes, "sort": f.sort},
            "strategy": self.strategy,
            "primary": self.primary,
            "parts": [p.to_dict() for p in self.parts],
            "notes": list(self.notes),
            "costs": self.costs.source if self.costs else None,
        }  # fmt: skip


def _ms(value: float) -> float | None:
    return None if math.isinf(value) else round(value, 3)


def involved_types(node: ir.Node, resource_type: str) -> set[str]:
    """Every resource type whose data can change whether ``node`` holds for a resource of
    ``resource_type``: that type, chain targets and ``_has`` sources, at any depth."""
    found = {resource_type}
    if isinstance(node, ir.Chain):
        for target in node.target_types:
            found |= involved_types(node.where, target)
        return found
    if isinstance(node, ir.Has):
        return found | involved_types(node.where, node.source_type)
    for child in ir.children(node):
        found |= involved_types(child, resource_type)
    return found


def _lag_check(c: Candidate, part: ir.Predicate, rtype: str) -> tuple[str | None, frozenset[str]]:
    """Whether ``c``'s lag allows it to answer ``part`` (a reason when not) and the ids of the
    queried type to recheck on the primary."""
    if c.pending is None:
        return f"{c.role} is lagging (too many unapplied changes)", frozenset()
    if not c.pending:
        return None, frozenset()
    others = {ch.resource_type for ch in c.pending if ch.resource_type != rtype}
    touched = others & involved_types(part, rtype)
    if touched:
        return f"{c.role} has unapplied changes of {', '.join(sorted(touched))}", frozenset()
    return None, frozenset(ch.id for ch in c.pending if ch.resource_type == rtype)


def _best(
    part: ir.Predicate, rtype: str, feature: str, candidates: Sequence[Candidate], costs: CostModel
) -> tuple[Candidate | None, float, frozenset[str], list[str]]:
    """The cheapest candidate that can answer ``part`` exactly, with its cost and recheck ids;
    and why the others cannot."""
    best: tuple[Candidate | None, float, frozenset[str]] = (None, math.inf, frozenset())
    why: list[str] = []
    probe = ir.Query(rtype, where=part)
    for c in candidates:
        reason = c.compiler.unsupported_reason(probe)
        if reason is not None:
            why.append(f"{c.role} does not support {reason}")
            continue
        inexact = c.compiler.inexact_reason(part)
        if inexact is not None:
            why.append(f"{c.role} is not exact here: {inexact}")
            continue
        if c.unusable:
            why.append(c.unusable)
            continue
        lag, recheck = _lag_check(c, part, rtype)
        if lag:
            why.append(lag)
            continue
        cost = costs.secondary(c.dialect, feature)
        if cost < best[1]:
            best = (c, cost, recheck)
    return (*best, why)


def route(
    query: ir.Query, primary: str, candidates: Sequence[Candidate], costs: CostModel
) -> Route:
    """Assign each part of ``query`` (bound, flattened) to a backend; see the module
    docstring."""
    features = analyze(query)
    notes: list[str] = []
    rtype = query.resource_type
    if rtype is None or query.where is None or not candidates:
        why = (
            "a system search runs on the primary"
            if rtype is None and query.where
            else "no secondary"
            if query.where is not None and not candidates
            else ""
        )
        notes = [why] if why else []
        home = tuple(
            Part(p, feature_of(p), "primary", why or "primary", costs.part(primary,
                 feature_of(p)), costs.part(primary, feature_of(p)))
            for p in conjuncts(query.where)
        )  # fmt: skip
        return Route(query, features, home, primary, tuple(notes), costs)
    parts: list[Part] = []
    for predicate in conjuncts(query.where):
        feature = feature_of(predicate)
        on_primary = costs.part(primary, feature)
        chosen, cost, recheck, rejected = _best(predicate, rtype, feature, candidates, costs)
        if chosen is not None and cost < on_primary:
            reason = f"{chosen.role} ({chosen.dialect}) is cheaper for {feature}"
            if rejected:
                reason += f" (not {'; '.join(rejected)})"
            parts.append(Part(predicate, feature, chosen.role, reason, on_primary, cost, recheck))
            continue
        union = _union(predicate, rtype, candidates, costs, on_primary)
        if union is not None:
            parts.append(union)
            continue
        if chosen is not None:
            rejected.append(f"the primary is cheaper for {feature}")
        reason = "; ".join(rejected) or f"no secondary lowers {feature}"
        parts.append(Part(predicate, feature, "primary", reason, on_primary, on_primary))
    return Route(query, features, tuple(parts), primary, tuple(notes), costs)


def _union(
    predicate: ir.Predicate,
    rtype: str,
    candidates: Sequence[Candidate],
    costs: CostModel,
    on_primary: float,
) -> Part | None:
    """An ``Or`` no one secondary answers whole, each of whose alternatives some secondary
    answers exactly, for less than the primary: a ``union`` part (else None)."""
    if not isinstance(predicate, ir.Or):
        return None
    total, chosen, recheck = 0.0, [], frozenset[str]()
    for alternative in predicate.children:
        feature = feature_of(alternative)
        best, cost, ids, _ = _best(alternative, rtype, feature, candidates, costs)
        if best is None:
            return None
        total += cost
        recheck |= ids
        chosen.append((alternative, best.role))
    if total >= on_primary or len({role for _, role in chosen}) < 2:
        return None
    feature = feature_of(predicate)
    reason = "each alternative on the secondary that answers it, ids united"
    return Part(predicate, feature, "union", reason, on_primary, total, recheck, tuple(chosen))
