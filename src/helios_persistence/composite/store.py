"""The composite store: one store API over a primary and its secondaries.

Every write goes to the primary (source of truth for resources, versions and history), whose
transaction also writes the outbox; the secondaries follow it (:mod:`.sync`). A search is
bound once, split and routed (:mod:`.router`), and answered by the primary over the
secondaries' ids (:mod:`.merger`): the answer is always the primary's own, whatever a
secondary's health or lag. ``explain`` shows the decision, ``status`` health and lag.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import Any

from helios_persistence import ir
from helios_persistence.authorization import authorize
from helios_persistence.composite.analyzer import FEATURES, analyze, conjuncts, feature_of
from helios_persistence.composite.config import CompositeConfig
from helios_persistence.composite.costs import DEFAULT, CostModel
from helios_persistence.composite.health import HealthMonitor
from helios_persistence.composite.merger import Execution, Merger
from helios_persistence.composite.router import Candidate, Route, route
from helios_persistence.composite.sync import Replica, Synchronizer
from helios_persistence.passes import flatten, relativize_references
from helios_persistence.pipeline import bind, restrict
from helios_persistence.results import SearchResult
from helios_persistence.tenancy import TenantContext

__all__ = ["CompositeStore"]

#: the most unapplied outbox events a search reads to correct for a secondary's lag
MAX_PENDING = 1000
#: the write methods of the store API (each followed by a sync of the secondaries)
WRITES = (
    "create", "update", "update_conditional", "delete", "delete_conditional", "patch",
    "patch_conditional", "delete_history", "transaction", "bulk_update", "bulk_load",
)  # fmt: skip


def _open(target: Any, **options: Any) -> tuple[Any, bool]:
    """A store for ``target`` (a URL is opened, an object used as is) and whether we own it."""
    if not isinstance(target, str):
        return target, False
    from helios_persistence.store_urls import open_store

    return open_store(target, **options), True


class CompositeStore:
    """See the module docstring; built by :func:`helios_persistence.composite.composite`."""

    def __init__(
        self,
        config: CompositeConfig,
        *,
        costs: CostModel | None = None,
        start: bool = True,
        **store_options: Any,
    ) -> None:
        self.config = config
        self.costs = costs or DEFAULT
        self._owned: list[Any] = []
        self.primary = self._own(config.primary, store_options)
        try:
            self.replicas = [
                Replica(spec.role, self._own(spec.target, store_options), spec.mode)
                for spec in config.secondaries
            ]
        except BaseException:
            self.close()
            raise
        stores = {r.role: r.store for r in self.replicas}
        self.health = HealthMonitor(stores, config.health)
        self.health.on_unhealthy = self._unhealthy
        self.sync = Synchronizer(self.primary, self.replicas, config.sync_settings,
                                 self.health.record)  # fmt: skip
        self.sync.healthy = self.health.healthy
        self.merger = Merger(
            self.primary, stores, max_ids=config.max_ids, on_bound=config.on_bound,
            on_failure=config.on_failure, report=self.health.record,
        )  # fmt: skip
        self._tenants: set[str] = set()
        #: (the cost model, the features some secondary is cheaper for than the primary)
        self._cheaper: tuple[CostModel, frozenset[str]] | None = None
        self._local = threading.local()
        if start:
            self.start()

    def _own(self, target: Any, options: dict[str, Any]) -> Any:
        store, owned = _open(target, **options)
        if owned:
            self._owned.append(store)
        return store

    def _unhealthy(self, role: str) -> None:
        """A secondary turned unhealthy: it may come back empty (a restarted node), so it is
        checked against the primary before it is used again."""
        for replica in self.replicas:
            if replica.role == role:
                replica.suspect = True

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the sync worker and the health monitor threads."""
        self.sync.start()
        self.health.start()

    def close(self) -> None:
        """Stop the threads; close the stores the composite opened from URLs."""
        if hasattr(self, "sync"):
            self.sync.stop()
            self.health.stop()
        for store in reversed(self._owned):
            store.close()
        self._owned = []

    def __enter__(self) -> CompositeStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def compiler(self) -> Any:
        """The primary's compiler: answers are the primary's."""
        return self.primary.compiler

    def __getattr__(self, name: str) -> Any:
        """Reads and everything else the primary offers (``read``, ``vread``, ``history``,
        ``registry_for``, ``read_outbox``, ``export``, ...)."""
        if name.startswith("__") or name in ("primary", "replicas"):
            raise AttributeError(name)
        if name in WRITES:
            raise AttributeError(name)  # (never reached: defined below)
        return getattr(self.primary, name)

    # -- writes ---------------------------------------------------------------------------------
    def _write(self, name: str, ctx: TenantContext, *args: Any, **kw: Any) -> Any:
        result = getattr(self.primary, name)(ctx, *args, **kw)
        self.sync.after_write(ctx)
        return result

    def create(self, ctx: TenantContext, *args: Any, **kw: Any) -> Any:
        return self._write("create", ctx, *args, **kw)

    def update(self, ctx: TenantContext, *args: Any, **kw: Any) -> Any:
        return self._write("update", ctx, *args, **kw)

    def update_conditional(self, ctx: TenantContext, *args: Any, **kw: Any) -> Any:
        return self._write("update_conditional", ctx, *args, **kw)

    def delete(self, ctx: TenantContext, *args: Any, **kw: Any) -> Any:
        return self._write("delete", ctx, *args, **kw)

    def delete_conditional(self, ctx: TenantContext, *args: Any, **kw: Any) -> Any:
        return self._write("delete_conditional", ctx, *args, **kw)

    def patch(self, ctx: TenantContext, *args: Any, **kw: Any) -> Any:
        return self._write("patch", ctx, *args, **kw)

    def patch_conditional(self, ctx: TenantContext, *args: Any, **kw: Any) -> Any:
        return self._write("patch_conditional", ctx, *args, **kw)

    def delete_history(self, ctx: TenantContext, *args: Any, **kw: Any) -> Any:
        return self._write("delete_history", ctx, *args, **kw)

    def transaction(self, ctx: TenantContext, *args: Any, **kw: Any) -> Any:
        return self._write("transaction", ctx, *args, **kw)

    def bulk_update(self, ctx: TenantContext, *args: Any, **kw: Any) -> Any:
        return self._write("bulk_update", ctx, *args, **kw)

    def bulk_load(self, ctx: TenantContext, *args: Any, **kw: Any) -> Any:
        return self._write("bulk_load", ctx, *args, **kw)

    # -- search ---------------------------------------------------------------------------------
    def _bind(self, ctx: TenantContext, query: str | ir.Query, limits: Any = None) -> ir.Query:
        if ctx.tenant_key not in self._tenants:  # (a store loads a tenant's registry on use)
            with self.primary.read_session(ctx):
                pass
            self._tenants.add(ctx.tenant_key)
        if isinstance(query, str):
            query = self.primary._relative(query)
        return bind(query, registry=self.primary.registry_for(ctx), limits=limits)

    def _candidates(self, ctx: TenantContext | None) -> list[Candidate]:
        """The secondaries as the router sees them; with ``ctx``, their lag for its tenant."""
        out = []
        for r in self.replicas:
            compiler = r.store.compiler
            state = self.health.states[r.role]
            unusable = None if state.healthy else (
                f"{r.role} is unhealthy ({state.last_error})")  # fmt: skip
            if unusable is None and r.suspect:
                unusable = f"{r.role} is being checked against the primary after a failure"
            pending: tuple[Any, ...] | None = ()
            if ctx is not None and unusable is None:
                found = self.sync.pending(r, ctx, MAX_PENDING + 1)
                pending = None if len(found) > MAX_PENDING else tuple(found)
            out.append(Candidate(r.role, compiler.dialect, compiler, unusable, pending))
        return out

    def plan(self, ctx: TenantContext, query: str | ir.Query, *, limits: Any = None) -> Route:
        """The routing decision for ``query`` (bound, checked against ``ctx``'s permissions):
        the secondaries' health and their lag for the tenant count."""
        bound = self._bind(ctx, query, limits)
        return self._route(ctx, bound, always=True)

    def _worth_routing(self, bound: ir.Query) -> bool:
        """Whether some part of ``bound`` could go to a secondary at all: a typed search with
        a feature some secondary is cheaper for (a quick check that spares plain queries the
        router: they go straight to the primary)."""
        if bound.resource_type is None or bound.where is None or not self.replicas:
            return False
        cheaper = self._cheaper
        if cheaper is None or cheaper[0] is not self.costs:
            primary = self.primary.compiler.dialect
            found = {
                f
                for f in FEATURES
                for r in self.replicas
                if self.costs.secondary(r.store.compiler.dialect, f) < self.costs.part(primary, f)
            }
            cheaper = self._cheaper = (self.costs, frozenset(found))
        return any(feature_of(part) in cheaper[1] for part in conjuncts(bound.where))

    def _route(self, ctx: TenantContext, bound: ir.Query, *, always: bool = False) -> Route:
        if not always and not self._worth_routing(bound):
            return Route(bound, analyze(bound), (), self.primary.compiler.dialect,
                         ("nothing a secondary is cheaper for",), self.costs)  # fmt: skip
        registry = self.primary.registry_for(ctx)
        authorize(restrict(bound, ctx), ctx, registry)  # the primary's errors, first
        where = flatten(relativize_references(bound, self.primary.base_url)).where
        lowered = replace(bound, where=where)
        dialect = self.primary.compiler.dialect
        optimistic = route(lowered, dialect, self._candidates(None), self.costs)
        if not optimistic.routed:  # nothing would go to a secondary: no lag to read
            return optimistic
        return route(lowered, dialect, self._candidates(ctx), self.costs)

    def search(self, ctx: TenantContext, query: str | ir.Query, **kw: Any) -> SearchResult:
        """FHIR search, answered as the primary alone would (see the module docstring)."""
        bound = self._bind(ctx, query, kw.pop("limits", None))
        plan = self._route(ctx, bound)
        result, execution = self.merger.run(ctx, plan, bound, bound, **kw)
        self._local.execution = execution
        if isinstance(query, str):
            result.query = query
        return result

    def search_pages(self, ctx: TenantContext, query: str, **kw: Any) -> Any:
        page = self.search(ctx, query, **kw)
        yield page
        while page.next is not None:
            page = self.search(ctx, page.next, **kw)
            yield page

    def iter_search(self, ctx: TenantContext, query: str, **kw: Any) -> Any:
        for page in self.search_pages(ctx, query, **kw):
            yield from page.resources

    @property
    def last_execution(self) -> Execution | None:
        """What this thread's last search did (strategy, each part's backend and ids)."""
        return getattr(self._local, "execution", None)

    def explain(
        self, ctx: TenantContext, query: str | ir.Query, *, run: bool = False
    ) -> dict[str, Any]:
        """The query's features and complexity, the plan (which part runs where, and why),
        the costs, the secondaries' health and lag; ``run=True`` also runs it and adds what
        the merger did (strategy, ids per part, fallbacks) and the page size."""
        plan = self.plan(ctx, query)
        out = plan.to_dict()
        out["secondaries"] = self.status(ctx)["secondaries"]
        if run:
            result = self.search(ctx, query)
            execution = self.last_execution
            out["execution"] = execution.to_dict() if execution else None
            out["matches"] = len(result.resources)
        return out

    # -- status ---------------------------------------------------------------------------------
    def status(self, ctx: TenantContext) -> dict[str, Any]:
        """Health and lag of every secondary for ``ctx``'s tenant, and the sync settings."""
        lags = {lag.role: lag for lag in self.sync.lag(ctx)}
        return {
            "primary": self.primary.compiler.dialect,
            "sync": self.config.sync,
            "worker": self.sync.running,
            "secondaries": [
                {
                    "role": r.role, "dialect": r.store.compiler.dialect, "mode": r.mode,
                    "suspect": r.suspect,
                    "health": self.health.states[r.role].to_dict(),
                    "lag": lags[r.role].to_dict(),
                }
                for r in self.replicas
            ],
        }  # fmt: skip

    def lag(self, ctx: TenantContext) -> dict[str, Any]:
        """``{role: Lag}`` for ``ctx``'s tenant (events pending, the oldest one's age)."""
        return {lag.role: lag for lag in self.sync.lag(ctx)}

    def resync(self, ctx: TenantContext | None = None) -> dict[str, Any]:
        """Check every secondary against the primary for ``ctx``'s tenant (default: every
        tenant written through this store) and rebuild those that differ (a secondary that
        lost data); ``{role: [Drift found per tenant]}``."""
        contexts = [ctx] if ctx is not None else None
        if ctx is not None:
            self.sync.track(ctx)
        return {r.role: self.sync.verify(r, contexts) for r in self.replicas}

    def catch_up(self, ctx: TenantContext | None = None, *, timeout: float = 60.0) -> bool:
        """Apply every unapplied event now (see :meth:`.sync.Synchronizer.catch_up`)."""
        return self.sync.catch_up(ctx, timeout=timeout)
