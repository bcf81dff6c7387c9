"""Which resource types a bound query touches, checked against a context's permissions.

:func:`authorize` is a pure rewrite of a bound :class:`~helios_persistence.ir.Query`:

* **filters** — every type whose data the query reads to decide a match must be permitted,
  or the whole query is refused with :class:`~helios_persistence.errors.PermissionDenied`:
  the searched type, each ``_type`` of a system search, the target of every chain hop
  (``subject:Patient.name``, and the hops ``_filter`` paths lower to), the source of every
  ``_has`` (``_list`` binds to ``_has:List:item``), at any depth. A match on a forbidden type
  would otherwise reveal that type's data one bit at a time.
* **includes** — ``_include``/``_revinclude`` never fail: the forbidden types are left out.
  A forward include naming a forbidden target is dropped; one with no target becomes one
  include per permitted type the parameter can reference; a reverse include (and any
  ``:iterate`` include) from a forbidden source type is dropped.

* **compartments** — under a compartment restriction every type a filter reads must be in
  the compartment (``PermissionDenied`` otherwise), and each chain hop and ``_has`` only
  reaches resources in it: their predicate gains :func:`compartment_predicate`, so a
  resource in the compartment never matches through data outside it.

The interaction (search, conditional create, ...) is checked by the caller; the restriction
of the searched type itself to the compartment is added where the query is run.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from helios_persistence import ir
from helios_persistence.errors import PermissionDenied
from helios_persistence.registry import Registry, default_registry
from helios_persistence.tenancy import TenantContext, compartment_params

__all__ = ["authorize", "compartment_predicate", "touched_types"]


def touched_types(where: ir.Predicate | None) -> Iterator[tuple[str, str]]:
    """``(type, how)`` for every type a predicate reads besides the searched one."""
    if where is None:
        return
    if isinstance(where, ir.Chain):
        for target in where.target_types:  # (a chain naming no type may reach several)
            yield target, f"the chain through {where.param!r}"
    elif isinstance(where, ir.Has):
        yield where.source_type, f"_has:{where.source_type}:{where.param}"
    for child in ir.children(where):
        yield from touched_types(child)  # type: ignore[arg-type]


def authorize(query: ir.Query, ctx: TenantContext, registry: Registry | None = None) -> ir.Query:
    """``query`` as ``ctx`` may run it (see the module docstring); ``registry`` knows the
    targets of reference parameters (default: the R4 base)."""
    compartment = ctx.permissions.compartment
    if compartment is not None:
        for name, how in touched_types(query.where):
            if name != compartment[0] and not compartment_params(compartment[0], name):
                raise PermissionDenied(f"{name} is not in the {compartment[0]} compartment ({how})")
        if query.where is not None:
            query = replace(query, where=_confine(query.where, compartment))
    allowed = ctx.permissions.resource_types
    if allowed is None:
        return query
    if query.resource_type is not None:
        _check(allowed, query.resource_type, "the searched type")
    elif not query.types:
        raise PermissionDenied("this context may only search named resource types")
    for name in query.types:
        _check(allowed, name, "_type")
    for name, how in touched_types(query.where):
        _check(allowed, name, how)
    includes = tuple(_permitted_includes(query.include, allowed, registry or default_registry()))
    return query if includes == query.include else replace(query, include=includes)


def compartment_predicate(resource_type: str, compartment: tuple[str, str]) -> ir.Predicate:
    """Holds for the ``resource_type`` resources in ``compartment`` (``("Patient", id)``):
    the compartment's own resource by id, any other by one of its compartment parameters."""
    kind, owner = compartment
    if resource_type == kind:
        return ir.TokenMatch("_id", ir.TokenOp.EQ, None, owner)
    links = compartment_params(kind, resource_type)
    if not links:
        raise PermissionDenied(f"{resource_type} is not in the {kind} compartment")
    matches = tuple(ir.ReferenceMatch(p, ir.ReferenceOp.EQ, kind, owner) for p in links)
    return matches[0] if len(matches) == 1 else ir.Or(matches)


def _confine(where: ir.Predicate, compartment: tuple[str, str]) -> ir.Predicate:
    """``where`` with every chain hop and ``_has`` source restricted to the compartment."""
    if isinstance(where, ir.Chain):  # one chain per target type: each its own membership
        inner = _confine(where.where, compartment)
        hops = tuple(
            replace(
                where,
                target_types=(t,),
                where=ir.And((inner, compartment_predicate(t, compartment))),
            )
            for t in where.target_types
        )
        return hops[0] if len(hops) == 1 else ir.Or(hops)
    if isinstance(where, ir.Has):
        inner = _confine(where.where, compartment)
        only = compartment_predicate(where.source_type, compartment)
        return replace(where, where=ir.And((inner, only)))
    if isinstance(where, ir.And | ir.Or):
        return replace(where, children=tuple(_confine(c, compartment) for c in where.children))
    if isinstance(where, ir.Not):
        return replace(where, child=_confine(where.child, compartment))
    return where


def _check(allowed: frozenset[str], name: str, how: str) -> None:
    if name not in allowed:
        raise PermissionDenied(f"resource type {name} is not permitted ({how})")


def _permitted_includes(
    includes: tuple[ir.Include, ...], allowed: frozenset[str], registry: Registry
) -> Iterator[ir.Include]:
    for inc in includes:
        if inc.source_type != "*" and inc.source_type not in allowed:
            continue  # a forbidden source is never in the frontier anyway
        if inc.reverse:  # the included resources are of the source type
            if inc.source_type != "*":
                yield inc
            continue
        if inc.target_type is not None:
            if inc.target_type in allowed:
                yield inc
            continue
        targets: tuple[str, ...] = ()
        if inc.param != "*" and inc.source_type != "*":
            param = registry.get(inc.source_type, inc.param)
            targets = param.targets if param is not None else ()
        for target in sorted(set(targets) & allowed if targets else allowed):
            yield replace(inc, target_type=target)
