"""One query pipeline for ``hp.compile`` and every store's search.

``text → parse → bind`` (:mod:`.parsing`: grammar, then the SearchParameter registry) ``→
restrict`` (the tenant context's permissions: forbidden types are refused, a compartment
becomes predicates of the query itself, so paging and ``_total`` count only what the context
may see; then :func:`~helios_persistence.authorization.authorize`: every type a chain,
``_has``, ``_list`` or ``_filter`` reads is checked, chains stay in the compartment, includes
lose forbidden types) ``→ passes`` (the store's own rewrites, then the dialect's ordered
``PASSES``) ``→ compile`` (the dialect's compiler). A store runs the compiled statement;
nothing downstream parses text or edits query strings.

A :class:`Plan` keeps the query as the caller wrote it (bound, unrestricted: what a ``next``
link renders, so the restriction is never written into a link) beside the query that runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from helios_persistence import ir
from helios_persistence.authorization import authorize
from helios_persistence.compilers import get_compiler
from helios_persistence.compilers.base import BaseCompiler, Compiled
from helios_persistence.errors import InvalidSearch, PermissionDenied
from helios_persistence.parsing import Limits, parse
from helios_persistence.passes import relativize_references
from helios_persistence.registry import Registry
from helios_persistence.tenancy import Operation, TenantContext, compartment_params

__all__ = ["Plan", "bind", "compile", "plan", "restrict"]


@dataclass(frozen=True, slots=True)
class Plan:
    """A search ready to run: ``query`` as asked, ``effective`` as it runs, ``compiled``."""

    query: ir.Query
    effective: ir.Query
    compiled: Compiled


def bind(
    query: str | ir.Query, *, registry: Registry | None = None, limits: Limits | None = None
) -> ir.Query:
    """Parse and bind ``query`` (a FHIR search string); a bound query is returned as is."""
    if isinstance(query, ir.Query):
        return query
    if not isinstance(query, str):
        raise InvalidSearch(f"a search is a query string, not {type(query).__name__}")
    return parse(query, registry=registry, limits=limits)


def restrict(query: ir.Query, ctx: TenantContext) -> ir.Query:
    """``query`` limited to what ``ctx`` may search: :class:`PermissionDenied` for a type it
    may not search; a compartment restriction becomes a predicate ANDed to the query."""
    perms = ctx.permissions
    ctx.check(Operation.SEARCH, query.resource_type)
    if query.resource_type is None:
        if perms.resource_types is not None or perms.compartment is not None:
            if not query.types or perms.compartment is not None:
                raise PermissionDenied("this context may only search named resource types")
            for t in query.types:
                ctx.check(Operation.SEARCH, t)
        return query
    if perms.compartment is None:
        return query
    kind, owner = perms.compartment
    links = compartment_params(kind, query.resource_type)
    membership: ir.Predicate
    if query.resource_type == kind:
        membership = ir.TokenMatch("_id", ir.TokenOp.EQ, None, owner)
    elif not links:
        raise PermissionDenied(f"{query.resource_type} is not in the {kind} compartment")
    else:
        refs = [ir.ReferenceMatch(p, ir.ReferenceOp.EQ, kind, owner) for p in links]
        membership = refs[0] if len(refs) == 1 else ir.Or(tuple(refs))
    where = membership if query.where is None else ir.And((query.where, membership))
    return replace(query, where=where)


def plan(
    query: str | ir.Query,
    compiler: BaseCompiler,
    *,
    registry: Registry | None = None,
    ctx: TenantContext | None = None,
    limits: Limits | None = None,
    base_url: str | None = None,
    prepare: Callable[[ir.Query], ir.Query] | None = None,
) -> Plan:
    """Every step of the pipeline for a store: bind, restrict to ``ctx`` (when given), the
    store's ``base_url`` rewrite, the store's ``prepare`` (terminology: ValueSets resolved to
    their cached expansions), the dialect's passes, compile."""
    bound = bind(query, registry=registry, limits=limits)
    effective = bound
    if ctx is not None:  # every type the query reads checked; chains kept in the compartment
        effective = authorize(restrict(bound, ctx), ctx, registry)
    effective = relativize_references(effective, base_url)
    if prepare is not None:
        effective = prepare(effective)
    effective = compiler.lower(effective)
    return Plan(bound, effective, compiler.compile(effective))


def compile(
    query: str | ir.Query, dialect: str = "sqlite", *, tenant: str | None = None
) -> Compiled:
    """``hp.compile``: ``query`` (a bound query or a search string) through the dialect's
    passes and compiler. ``.params`` names every parameter of the text, the tenant too:
    ``params["tenant"]`` is ``tenant`` (``None`` when not given: set it before running the
    text yourself)."""
    compiler = get_compiler(dialect)
    compiled = compiler.compile(compiler.lower(bind(query)))
    if compiled.body is not None:
        return compiled
    return replace(compiled, params={**compiled.params, "tenant": tenant})
