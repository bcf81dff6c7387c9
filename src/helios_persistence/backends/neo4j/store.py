"""The Neo4j graph store: FHIR search over the graph model, kept in sync from a primary.

It implements :class:`~helios_persistence.storage.sync.SecondaryStore` (``apply`` resource
versions idempotently, in ``UNWIND`` batches; ``versions``) and search (the shared query
pipeline, the Cypher compiler, the shared search runner for paging, ``_total`` and includes).
CRUD and history stay with the primary: those methods raise :class:`OperationNotSupported`.

One driver (a connection pool) per store. ``namespace`` isolates a store on a shared server:
its tenants are stored as ``<namespace>/<tenant>``; :meth:`Neo4jStore.drop_namespace` deletes
them, and so does ``close`` when the store is ``temporary`` (tests use a random namespace per
store).
"""

from __future__ import annotations

import gc
import json
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from typing import Any, NoReturn, cast

from helios_persistence import ir, pipeline
from helios_persistence.backends.neo4j.graph_rows import (
    HELD_STATEMENT,
    apply_statement,
    create_parameters,
    create_statement,
    graph_row,
)
from helios_persistence.backends.neo4j.schema import migrate
from helios_persistence.backends.sql.search import MAX_INCLUDE_ROUNDS, SqlDriver, run_search
from helios_persistence.compilers.cypher import compiler
from helios_persistence.errors import (
    HeliosError,
    MissingDependency,
    OperationNotSupported,
    QueryTimeout,
    Unavailable,
)
from helios_persistence.registry import Registry, default_registry
from helios_persistence.results import SearchResult
from helios_persistence.storage.api import TenantRegistries
from helios_persistence.storage.protocols import Capability
from helios_persistence.storage.sync import ApplyReport, Change
from helios_persistence.tenancy import TenantContext

__all__ = ["Neo4jStore"]

_Held = dict[tuple[str, str], int]

#: a namespace is dropped a bounded slice per transaction: relationships first (a node's
#: ``DETACH DELETE`` holds all of its relationships in one transaction: a practitioner of the
#: benchmark has ≈ 6,000, and 100 such nodes ran out of the transaction memory pool of a
#: 512 MB heap), then the nodes, by then without any
_DROP_RELATIONSHIPS = (
    "MATCH (r:Resource)-[x]->() WHERE r.tenant STARTS WITH $prefix "
    "WITH x LIMIT $batch DELETE x RETURN count(*)"
)
_DROP_NODES = (
    "MATCH (r:Resource) WHERE r.tenant STARTS WITH $prefix "
    "WITH r LIMIT $batch DETACH DELETE r RETURN count(*)"
)
_DROP_BATCH = 10_000


def _delete_slice(tx: Any, statement: str, prefix: str) -> int:
    """Run one of the ``_DROP_*`` statements: how many it deleted (0: none left)."""
    return int(tx.run(statement, prefix=prefix, batch=_DROP_BATCH).single(strict=True)[0])


#: the live SearchParameters of the tenants under a prefix, oldest first
_SEARCH_PARAMETERS = (
    "MATCH (r:SearchParameter {live: true}) WHERE r.tenant STARTS WITH $prefix "
    "RETURN r.tenant AS tenant, r.id AS id, r.version AS version, r.json AS json "
    "ORDER BY r.lastUpdated, r.tenant, r.id"
)
_LIVE_VERSIONS = (
    "MATCH (r:Resource {tenant: $tenant, live: true}) "
    "RETURN r.type AS type, r.id AS id, r.version AS version"
)


def _neo4j() -> Any:
    try:
        import neo4j
    except ImportError:  # pragma: no cover - the extra is not installed
        raise MissingDependency(
            "the Neo4j store needs the neo4j driver: pip install 'helios-persistence[neo4j]'"
        ) from None
    return neo4j


class Neo4jStore(TenantRegistries):
    """A graph secondary on a Neo4j server (see the module docstring).

    Custom SearchParameters are per tenant as on the SQL stores (:meth:`registry_for`): a
    SearchParameter version that arrives through :meth:`apply` changes its tenant's registry
    before the later changes of the batch are indexed; the store reads the ones the graph
    holds when it opens."""

    compiler = compiler
    capabilities = frozenset(
        {Capability.SEARCH, Capability.INCLUDE, Capability.CHAINING, Capability.MULTI_TENANT_SHARED}
    )

    def __init__(
        self,
        uri: str,
        *,
        auth: tuple[str, str] | None = None,
        database: str | None = None,
        namespace: str | None = None,
        temporary: bool = False,
        registry: Registry | None = None,
        timeout: float | None = 30.0,
        batch_size: int = 1000,
        base_url: str | None = None,
        connect_timeout: float = 5.0,
    ) -> None:
        neo4j = _neo4j()
        self.uri = uri
        self.database = database
        self.namespace = namespace
        if temporary and namespace is None:
            raise ValueError("a temporary Neo4j store needs a namespace (what close deletes)")
        self.temporary = temporary
        self._init_registries(registry if registry is not None else default_registry())
        #: seconds a search statement may run (None: no limit) before ``QueryTimeout``
        self.timeout = timeout
        self.batch_size = batch_size
        self.base_url = base_url
        self._driver = neo4j.GraphDatabase.driver(
            uri,
            auth=auth,
            connection_timeout=connect_timeout,
            max_transaction_retry_time=5.0,
            notifications_min_severity="OFF",  # (unknown-label warnings on a fresh database)
        )
        self._tenants: set[str] = set()
        with self._errors():
            self._driver.verify_connectivity()
            with self._session() as session:
                migrate(session)
        self._load_search_parameters()

    # -- plumbing -------------------------------------------------------------------------------
    def _session(self) -> Any:
        return self._driver.session(database=self.database)

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """Driver errors as the library's: unreachable → ``Unavailable``, over the timeout →
        ``QueryTimeout``."""
        exceptions = _neo4j().exceptions
        try:
            yield
        except HeliosError:
            raise
        except (exceptions.ServiceUnavailable, exceptions.SessionExpired, OSError) as exc:
            raise Unavailable(f"Neo4j at {self.uri} is not reachable: {exc}") from exc
        except exceptions.Neo4jError as exc:
            code = exc.code or ""
            if "TransactionTimedOut" in code or "Transaction.Terminated" in code:
                raise QueryTimeout(
                    f"the Neo4j statement ran over its timeout ({self.timeout} s)"
                ) from exc
            raise

    def tenant_key(self, ctx: TenantContext) -> str:
        """The ``tenant`` property of the context's nodes (namespaced)."""
        key = ctx.tenant_key if self.namespace is None else f"{self.namespace}/{ctx.tenant_key}"
        self._tenants.add(key)
        return key

    def run(
        self, statement: str, params: dict[str, Any], *, timeout: float | None = None
    ) -> list[Any]:
        """Run one read statement (``timeout`` seconds at most; None: no limit); its records."""
        query = _neo4j().Query(statement, timeout=timeout)
        with self._errors(), self._session() as session:
            return list(session.run(query, params))

    def _load_search_parameters(self) -> None:
        """Register the live SearchParameters the graph holds for this store's tenants."""
        prefix = "" if self.namespace is None else f"{self.namespace}/"
        records = self.run(_SEARCH_PARAMETERS, {"prefix": prefix})
        self._register_secondary(
            (str(r["tenant"])[len(prefix) :], r["id"], int(r["version"]), json.loads(r["json"]))
            for r in records
        )

    # -- search ---------------------------------------------------------------------------------
    def search(self, ctx: TenantContext, query: str | ir.Query, **kw: Any) -> SearchResult:
        """A FHIR search (as the other stores' ``search``), answered from the graph."""
        plan = pipeline.plan(
            query, compiler, registry=self.registry_for(ctx), ctx=ctx, base_url=self.base_url, **kw
        )
        includes = plan.effective.include
        if includes:  # walked as paths below, not in rounds by the shared runner
            plan = replace(plan, effective=replace(plan.effective, include=()))
        driver = SqlDriver(
            compiler=cast(Any, compiler),  # (the runner needs its page_size only)
            execute=lambda text, params: [
                tuple(r.values()) for r in self.run(text, params, timeout=self.timeout)
            ],
            decode=lambda value: json.loads(str(value)),
        )
        tenant = self.tenant_key(ctx)
        result = run_search(driver, tenant, plan)
        if includes and result.resources:
            result.included = self._included(tenant, includes, result.resources)
        if isinstance(query, str):
            result.query = query
        result.base_url = self.base_url
        return result

    def _included(
        self, tenant: str, includes: tuple[ir.Include, ...], matches: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """What ``_include``/``_revinclude`` (``:iterate`` to a fixpoint) add to a page:
        one statement per round (every include from the page, then the ``:iterate`` ones
        from what the last round found), at most ``MAX_INCLUDE_ROUNDS``."""
        seen = {(r["resourceType"], r["id"]) for r in matches}
        frontier = sorted(seen)
        specs = compiler.include_specs(includes)
        iterating = compiler.include_specs(tuple(i for i in includes if i.iterate))
        found: dict[tuple[str, str], Any] = {}
        for _round in range(MAX_INCLUDE_ROUNDS):
            if not frontier or not specs:
                break
            params = {"tenant": tenant, "keys": [list(k) for k in frontier], "specs": specs}
            rows = self.run(compiler.include_step_statement(), params, timeout=self.timeout)
            frontier = []
            for row in rows:
                key = (row["type"], row["id"])
                if key not in seen:
                    seen.add(key)
                    found[key] = row["json"]
                    frontier.append(key)
            specs = iterating
        return [json.loads(str(found[key])) for key in sorted(found)]

    # -- the secondary's write side -------------------------------------------------------------
    def apply(self, ctx: TenantContext, changes: Sequence[Change]) -> ApplyReport:
        """Apply resource versions (any order, any repetition): each resource ends at the
        newest version named; older versions are counted ``stale`` and change nothing.

        Batches of ``batch_size`` are written in order, each while the next one's index
        values are extracted (a writer thread: the server works while Python extracts)."""
        report = ApplyReport()
        tenant = self.tenant_key(ctx)
        size = self.batch_size
        batches = [changes[i : i + size] for i in range(0, len(changes), size)]
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="neo4j-apply") as writer:
            pending: tuple[Sequence[Change], Future[dict[tuple[str, str], int]]] | None = None
            for batch in batches:
                with _collector_paused():
                    rows = self._rows(ctx, tenant, batch, report)
                if pending is not None:
                    self._count(*pending, report)
                    pending = None
                if rows:
                    pending = (batch, writer.submit(self._write, tenant, rows))
            if pending is not None:
                self._count(*pending, report)
        return report

    def _rows(
        self, ctx: TenantContext, tenant: str, changes: Sequence[Change], report: ApplyReport
    ) -> list[dict[str, Any]]:
        """The apply statement's rows: the newest version named of each resource (the
        statement's guard keeps a newer one the graph holds), indexed in order with the
        tenant's registry of that moment (a SearchParameter version changes it for the
        changes after it); one that cannot be indexed is ``failed``."""
        newest: dict[tuple[str, str], Change] = {}
        for change in changes:
            key = (change.resource_type, change.id)
            if key not in newest or newest[key].version < change.version:
                newest[key] = change
        rows: list[dict[str, Any]] = []
        for change in changes:
            if change.resource_type == "SearchParameter":
                self._apply_search_parameter(replace(change, tenant=ctx.tenant_key))
            if newest[(change.resource_type, change.id)] is not change:
                continue
            try:
                rows.append(graph_row(change, tenant, self.registry_for(ctx)))
            except HeliosError as exc:
                report.failed.append((change, str(exc)))
        return rows

    def _count(
        self,
        changes: Sequence[Change],
        written: Future[dict[tuple[str, str], int]],
        report: ApplyReport,
    ) -> None:
        """Count a written batch's changes one by one, in order, as a version table would,
        from the versions its nodes held before (all ``failed`` if the write failed)."""
        try:
            held = written.result()
        except HeliosError as exc:
            report.failed.extend((c, str(exc)) for c in changes if not _failed(c, report))
            return
        for change in changes:
            key = (change.resource_type, change.id)
            if key not in held:  # its newest version could not be indexed (failed above)
                continue
            if held[key] >= change.version:
                report.stale += 1
            else:
                held[key] = change.version
                report.applied += 1

    def _write(self, tenant: str, rows: list[dict[str, Any]]) -> dict[tuple[str, str], int]:
        """Write rows in one transaction; ``{(type, id): version held before}`` (0: none).

        The versions the graph holds are read first: a row it lacks is created
        (:func:`create_statement`), one it holds at an older version (or as a stub) goes
        through the guarded :func:`apply_statement`, one it holds at its version or newer is
        not sent. If another writer creates one of the new nodes meanwhile, the unique
        constraint refuses the creation and the whole batch is written by the guarded
        statement instead."""
        keys = [[row["type"], row["id"]] for row in rows]

        def work(tx: Any, guarded_only: bool) -> dict[tuple[str, str], int]:
            held = {
                (r["type"], r["id"]): r["version"]
                for r in tx.run(HELD_STATEMENT, keys=keys, tenant=tenant)
            }
            fresh = [] if guarded_only else [r for r in rows if (r["type"], r["id"]) not in held]
            older = [
                r
                for r in rows
                if (r["type"], r["id"]) in held or guarded_only
                if held.get((r["type"], r["id"]), 0) < r["version"]
            ]
            if fresh:
                tx.run(create_statement(), create_parameters(fresh), tenant=tenant).consume()
            if older:
                for r in tx.run(apply_statement(), rows=older, tenant=tenant):
                    held[(r["type"], r["id"])] = r["before"]
            return {(row["type"], row["id"]): held.get((row["type"], row["id"]), 0) for row in rows}

        constraint = _neo4j().exceptions.ConstraintError
        with self._errors(), self._session() as session:
            try:
                return cast(_Held, session.execute_write(work, False))
            except constraint:  # (a node created by another writer since the read)
                return cast(_Held, session.execute_write(work, True))

    def versions(self, ctx: TenantContext) -> dict[tuple[str, str], int]:
        """``{(type, id): version}`` of the tenant's live resources."""
        records = self.run(_LIVE_VERSIONS, {"tenant": self.tenant_key(ctx)})
        return {(r["type"], r["id"]): r["version"] for r in records}

    # -- what a standalone graph store does not do ----------------------------------------------
    def _primary_only(self, operation: str) -> NoReturn:
        raise OperationNotSupported(
            f"{operation} is not supported by the Neo4j graph store: it is a search secondary "
            "kept in sync from a primary (CRUD and history stay with the primary; use "
            "hp.composite(primary=..., graph=...) or the primary store)"
        )

    def create(self, *args: Any, **kw: Any) -> NoReturn:
        self._primary_only("create")

    def read(self, *args: Any, **kw: Any) -> NoReturn:
        self._primary_only("read")

    def vread(self, *args: Any, **kw: Any) -> NoReturn:
        self._primary_only("vread")

    def update(self, *args: Any, **kw: Any) -> NoReturn:
        self._primary_only("update")

    def delete(self, *args: Any, **kw: Any) -> NoReturn:
        self._primary_only("delete")

    def history(self, *args: Any, **kw: Any) -> NoReturn:
        self._primary_only("history")

    def transaction(self, *args: Any, **kw: Any) -> NoReturn:
        self._primary_only("transaction")

    # -- lifetime -------------------------------------------------------------------------------
    def drop_namespace(self) -> None:
        """Delete every node of this store's namespace (tenants ``<namespace>/...``)."""
        if self.namespace is None:
            raise ValueError("this store has no namespace to drop")
        prefix = f"{self.namespace}/"
        with self._errors(), self._session() as session:
            for statement in (_DROP_RELATIONSHIPS, _DROP_NODES):
                while session.execute_write(_delete_slice, statement, prefix):
                    pass

    def close(self) -> None:
        try:
            if self.temporary:
                self.drop_namespace()
        finally:
            self._driver.close()

    def __enter__(self) -> Neo4jStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused while a batch's rows are built (and enabled
    again after, if it was): extraction allocates many short-lived objects, no cycles, and
    the collections they trigger, each walking every object the process holds, cost 80-150
    µs per resource in a sync of 5,000 resources (more with a larger heap)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _failed(change: Change, report: ApplyReport) -> bool:
    return any(c is change for c, _ in report.failed)


def random_namespace() -> str:
    """A fresh namespace (for a store of its own on a shared server)."""
    return f"ns-{uuid.uuid4().hex[:12]}"
