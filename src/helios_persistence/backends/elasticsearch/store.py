"""The Elasticsearch store: FHIR search over an index a primary keeps in sync.

``hp.open_store("elasticsearch://127.0.0.1:9200?prefix=helios&refresh=wait_for")`` opens
(creating on first use) the index of ``dialects/elasticsearch/mapping.json``. The store is a
*search secondary*: it answers :meth:`search` and takes resource versions through
:meth:`apply` (the :class:`~helios_persistence.storage.sync.SecondaryStore` protocol:
idempotent by version through Elasticsearch's external versioning; a deletion is a version
too, kept as a tombstone). Standalone writes (``create``, ``update``, ``delete``, ...) raise
:class:`~helios_persistence.errors.OperationNotSupported` (alias ``SearchOnly``): write to
a primary and replicate (``storage.sync.replicate``, ``rebuild``, or the composite layer).

URL options: ``prefix`` (index name prefix, default ``helios``), ``namespace`` (several
stores in one index: each keeps its tenants under its namespace), ``refresh`` (``wait_for``,
``true`` or ``false``: when an applied version becomes searchable) or ``sync`` (``sync`` =
``wait_for``, ``async`` = ``false``), ``timeout`` (seconds per request), ``batch`` (bulk
operations per request), ``batch_bytes``, ``retries`` (of a rejected bulk item), ``base_url``.
``elasticsearchs://`` connects with TLS.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import orjson

from helios_persistence import ir, pipeline
from helios_persistence.backends.elasticsearch.bulk import (
    BulkLimits,
    BulkOutcome,
    Operation,
    Pipeline,
    write,
)
from helios_persistence.backends.elasticsearch.documents import doc_id, document, tombstone
from helios_persistence.backends.elasticsearch.mapping import ensure_index, forget_index, spec
from helios_persistence.compilers.elasticsearch import compiler as es_compiler
from helios_persistence.errors import (
    InvalidResource,
    InvalidStoreURL,
    MissingDependency,
    OperationNotSupported,
    QueryTimeout,
    Unavailable,
)
from helios_persistence.registry import Registry, default_registry
from helios_persistence.results import SearchResult
from helios_persistence.storage.api import TenantRegistries
from helios_persistence.storage.sync import ApplyReport, Change
from helios_persistence.tenancy import TenantContext

__all__ = ["ElasticsearchStore", "SearchOnly", "open_elasticsearch"]

#: the refresh interval of :meth:`ElasticsearchStore.bulk_loading`
LOADING_REFRESH = "30s"
_REFRESH = {"wait_for": "wait_for", "true": "true", "false": "false"}
_SYNC = {"sync": "wait_for", "async": "false"}


#: the error of a standalone write (kept as a name: it is the library's one
#: :class:`~helios_persistence.errors.OperationNotSupported`, as Neo4j's)
SearchOnly = OperationNotSupported


def _client(url: str, timeout: float) -> Any:
    try:
        from elasticsearch import Elasticsearch
    except ImportError:  # pragma: no cover - the extra is missing
        raise MissingDependency(
            "the Elasticsearch store needs the elasticsearch extra: "
            "pip install 'helios-persistence[elasticsearch]'"
        ) from None
    return Elasticsearch(url, request_timeout=timeout, max_retries=0, retry_on_timeout=False)


def open_elasticsearch(url: str, **kw: Any) -> ElasticsearchStore:
    """An Elasticsearch store (see the module docstring for the URL)."""
    parts = urlsplit(url)
    if not parts.hostname:
        raise InvalidStoreURL(f"an elasticsearch URL names a host: {url!r}")
    scheme = "https" if parts.scheme.lower().split("+")[0] == "elasticsearchs" else "http"
    options: dict[str, Any] = {}
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        try:
            if name in ("prefix", "namespace"):
                options[name] = value
            elif name == "refresh":
                options["refresh"] = _REFRESH[value.lower()]
            elif name == "sync":
                options["refresh"] = _SYNC[value.lower()]
            elif name == "timeout":
                options["timeout"] = float(value)
            elif name in ("batch", "batch_bytes", "retries"):
                options[name] = int(value)
            elif name == "base_url":
                options["base_url"] = value
            else:
                raise InvalidStoreURL(f"unknown store option {name!r} in {url!r}")
        except (KeyError, ValueError):
            raise InvalidStoreURL(f"bad value for store option {name}: {value!r}") from None
    options.update(kw)
    netloc = parts.netloc.rsplit("@", 1)[-1]
    auth = None
    if parts.username is not None:
        auth = (parts.username, parts.password or "")
    return ElasticsearchStore(f"{scheme}://{netloc}", auth=auth, **options)


class ElasticsearchStore(TenantRegistries):
    """Search over an Elasticsearch index kept in sync from a primary (module docstring).

    Custom SearchParameters are per tenant as on the SQL stores (:meth:`registry_for`): a
    SearchParameter version that arrives through :meth:`apply` changes its tenant's registry
    before the changes after it in the batch are indexed, as the primary's commit did before
    its later writes; the store reads the ones its index holds when it opens. A resource
    indexed before its tenant's parameter arrived is indexed without it until it is applied
    again (``rebuild``), as the primary needs a ``$reindex``."""

    compiler = es_compiler
    #: changes per bulk request of :meth:`apply` (its pipeline overlaps building and indexing)
    request_size = 250

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "helios",
        namespace: str = "",
        refresh: str = "wait_for",
        timeout: float = 30.0,
        batch: int = 1000,
        batch_bytes: int = 8 * 1024 * 1024,
        retries: int = 5,
        registry: Registry | None = None,
        base_url: str | None = None,
        auth: tuple[str, str] | None = None,
        client: Any = None,
    ) -> None:
        self.url = url
        self.prefix = prefix
        self.namespace = namespace
        self.refresh = refresh
        self._init_registries(registry or default_registry())
        self.base_url = base_url
        self.limits = BulkLimits(operations=batch, bytes=batch_bytes, retries=retries)
        self.client = client if client is not None else _client(url, timeout)
        if auth is not None and client is None:
            self.client = self.client.options(basic_auth=auth)
        self.alias = self._call(ensure_index, self.client, prefix, url if client is None else "")
        self._load_search_parameters()

    def tenant_of(self, ctx: TenantContext) -> str:
        """The ``tenant`` value of ``ctx``'s documents (under the store's ``namespace``)."""
        return f"{self.namespace}:{ctx.tenant_key}" if self.namespace else ctx.tenant_key

    # -- faults ---------------------------------------------------------------------------------
    def _call(self, fn: Any, *args: Any, **kw: Any) -> Any:
        """Run a client call, with the library's errors for an unreachable or slow server."""
        from elasticsearch import ConnectionError, ConnectionTimeout

        try:
            return fn(*args, **kw)
        except ConnectionTimeout as exc:
            raise QueryTimeout(
                f"Elasticsearch at {self.url} did not answer in time: {exc}"
            ) from None
        except ConnectionError as exc:
            raise Unavailable(f"Elasticsearch at {self.url} is unreachable: {exc}") from None

    # -- the secondary's write side -------------------------------------------------------------
    def _load_search_parameters(self) -> None:
        """Register the live SearchParameters of the index's tenants (of this namespace),
        oldest first."""
        query: dict[str, Any] = {"bool": {"filter": [{"term": {"type": "SearchParameter"}},
                                                     {"term": {"deleted": False}}]}}  # fmt: skip
        if self.namespace:
            query["bool"]["filter"].append({"prefix": {"tenant": f"{self.namespace}:"}})
        sort = [{"lus": "asc"}, {"tenant": "asc"}, {"id": "asc"}]
        prefix = f"{self.namespace}:" if self.namespace else ""
        hits = self._scan_query(query, sort, source=["tenant", "id", "version", "resource"])
        self._register_secondary(
            (d["tenant"].removeprefix(prefix), d["id"], int(d["version"]), d["resource"])
            for d in (hit["_source"] for hit in hits)
        )

    def apply(self, ctx: TenantContext, changes: Sequence[Change]) -> ApplyReport:
        """Apply resource versions (any order, any repetition): each document ends at the
        newest version named; older ones are stale. A change that cannot be indexed or that
        the cluster refuses is reported in ``failed``, never dropped.

        Requests of :attr:`request_size` changes go through a :class:`Pipeline`: the
        documents of the next request are built while the cluster indexes the previous one;
        the last request carries the store's refresh policy (a refresh shows every earlier
        request too)."""
        report = ApplyReport()
        step = max(1, min(self.request_size, self.limits.operations))
        ops: list[Operation] = []
        if len(changes) <= step:  # one request: no worker thread to start
            ops = self.operations(ctx, changes, report)
            outcome = BulkOutcome()
            if ops:
                outcome = write(self.client, self.alias, ops, refresh=self.refresh,
                                limits=self.limits)  # fmt: skip
        else:
            with Pipeline(self.client, self.alias, limits=self.limits) as pipeline:
                for start in range(0, len(changes), step):
                    last = start + step >= len(changes)
                    ops = self.operations(ctx, changes[start : start + step], report)
                    pipeline.send(ops, refresh=self.refresh if last else "false")
            outcome = pipeline.outcome
            if not ops and outcome.applied and self.refresh != "false":
                self.refresh_now()  # (the last request had nothing to write)
        report.applied += outcome.applied
        report.stale += outcome.stale
        report.failed.extend(outcome.failed)
        return report

    def operations(
        self, ctx: TenantContext, changes: Sequence[Change], report: ApplyReport
    ) -> list[Operation]:
        """The bulk operations of ``changes`` (documents built, refusals added to
        ``report``): the client-side half of :meth:`apply`."""
        from helios_persistence.fhir_values import parse_date
        from helios_persistence.indexing import extract
        from helios_persistence.indexing.references import localize

        tenant = self.tenant_of(ctx)
        ops: list[Operation] = []
        doc: dict[str, Any] | bytes
        for change in changes:
            if change.tenant != ctx.tenant_key:
                report.failed.append((change, f"a change of tenant {change.tenant!r}"))
                continue
            if change.resource_type == "SearchParameter":
                self._apply_search_parameter(change)
            key = doc_id(tenant, change.resource_type, change.id)
            if change.operation == "delete":
                doc = tombstone(tenant, change.resource_type, change.id, change.version)
                ops.append(Operation(change, key, change.version, doc))
                continue
            resource = change.resource
            if resource is None:
                report.failed.append((change, "an upsert without its resource"))
                continue
            try:
                index = localize(extract(resource, self.registry_for(ctx)), self.base_url)
                updated = (resource.get("meta") or {}).get("lastUpdated")
                stamp = parse_date(updated).low if isinstance(updated, str) else change.created_at
                # (serialised now: a waiting batch holds bytes, see bulk.Operation)
                doc = orjson.dumps(document(tenant, resource, index, change.version, stamp))
            except (InvalidResource, ValueError, RecursionError, orjson.JSONEncodeError) as exc:
                report.failed.append((change, f"cannot index: {exc}"))
                continue
            ops.append(Operation(change, key, change.version, doc))
        return ops

    def versions(self, ctx: TenantContext) -> dict[tuple[str, str], int]:
        """``{(type, id): version}`` of the tenant's live documents."""
        found: dict[tuple[str, str], int] = {}
        for hit in self._scan(ctx, ["type", "id", "version"]):
            fields = hit["fields"]
            found[(fields["type"][0], fields["id"][0])] = int(fields["version"][0])
        return found

    def _scan(self, ctx: TenantContext, fields: list[str]) -> Iterator[dict[str, Any]]:
        query = {"bool": {"filter": [{"term": {"tenant": self.tenant_of(ctx)}},
                                     {"term": {"deleted": False}}]}}  # fmt: skip
        sort = [{"type": "asc"}, {"id": "asc"}]
        return self._scan_query(query, sort, fields=fields, source=False)

    def _scan_query(
        self, query: dict[str, Any], sort: list[dict[str, Any]], **kw: Any
    ) -> Iterator[dict[str, Any]]:
        """Every hit of ``query`` in ``sort`` order (a unique order), 5,000 a request."""
        after: list[Any] | None = None
        while True:
            extra = {"search_after": after} if after is not None else {}
            response = self._call(
                self.client.search, index=self.alias, query=query, size=5000, sort=sort,
                **kw, **extra,
            )  # fmt: skip
            hits = response["hits"]["hits"]
            yield from hits
            if len(hits) < 5000:
                return
            after = hits[-1]["sort"]

    def ensure(self) -> None:
        """Create the store's index again if the cluster lost it (a node restarted with fresh
        data); the composite layer then rebuilds it from the primary."""
        self.alias = self._call(ensure_index, self.client, self.prefix)

    @contextmanager
    def bulk_loading(self) -> Iterator[None]:
        """Index settings for a large load (``storage.sync.rebuild`` uses them): the index
        refreshes every :data:`LOADING_REFRESH` instead of every second, and its translog
        is fsynced every 5 s instead of at every request; both are restored (and the index
        refreshed) at the end. Measured on the bench's 21,200-resource load, the server's
        CPU per resource falls by 15-25 % (fewer, larger segments to merge).

        The trade-off, for every store sharing the index while it lasts: writes become
        searchable up to 30 s later (an ``apply`` with ``refresh=wait_for`` waits that long;
        ``-1``, no refresh at all, would hold it until the load ends, and a loader that died
        would leave the index never refreshing), and a node that crashes may lose the last
        5 s of acknowledged writes, which a rebuild is: run it again (``compare`` finds
        them)."""
        loading = {"refresh_interval": LOADING_REFRESH, "translog.durability": "async"}
        restore = {"refresh_interval": spec()["settings"]["refresh_interval"],
                   "translog.durability": "request"}  # fmt: skip
        self._call(self.client.indices.put_settings, index=self.alias, settings=loading)
        try:
            yield
        finally:
            self._call(self.client.indices.put_settings, index=self.alias, settings=restore)
            self.refresh_now()

    def refresh_now(self) -> None:
        """Make everything applied so far searchable."""
        self._call(self.client.indices.refresh, index=self.alias)

    # -- search ---------------------------------------------------------------------------------
    def search(self, ctx: TenantContext, query: str | ir.Query, **kw: Any) -> SearchResult:
        """FHIR search over the tenant's documents (the pipeline's restrictions apply)."""
        from helios_persistence.backends.elasticsearch.search import run_search

        plan = pipeline.plan(
            query, self.compiler, registry=self.registry_for(ctx), ctx=ctx,
            limits=kw.get("limits"), base_url=self.base_url,
        )  # fmt: skip
        result = run_search(self, ctx, plan)
        if isinstance(query, str):
            result.query = query
        result.base_url = self.base_url
        return result

    def match_ids(self, ctx: TenantContext, query: ir.Query, *, limit: int) -> list[str]:
        """The ids of the first ``limit`` matches of ``query``, without their documents (one
        request; what the composite layer asks a secondary for)."""
        from helios_persistence.backends.elasticsearch.search import _request
        from helios_persistence.compilers.elasticsearch import with_tenant

        plan = pipeline.plan(
            query, self.compiler, registry=self.registry_for(ctx), ctx=ctx, base_url=self.base_url
        )
        assert plan.compiled.body is not None
        body = with_tenant(plan.compiled.body, self.tenant_of(ctx))
        body = {**body, "size": limit, "_source": False, "fields": ["id"],
                "track_total_hits": False}  # fmt: skip
        return [hit["fields"]["id"][0] for hit in _request(self, body)["hits"]["hits"]]

    # -- not here: writes go to the primary -----------------------------------------------------
    def _search_only(self, *args: Any, **kw: Any) -> Any:
        raise OperationNotSupported(
            "the Elasticsearch store is a search secondary: write to a primary store and "
            "replicate (storage.sync.replicate / rebuild, or hp.composite)"
        )

    create = update = delete = patch = transaction = read = vread = history = _search_only
    bulk_update = bulk_load = update_conditional = delete_conditional = _search_only

    # -- lifecycle ------------------------------------------------------------------------------
    def drop(self) -> None:
        """Delete the store's documents: its index, or, in a ``namespace``, the namespace's
        documents (the server has no delete-by-query: found by id, deleted in bulk)."""
        if not self.namespace:
            self._call(self.client.options(ignore_status=404).indices.delete,
                       index=f"{self.alias}-v*")  # fmt: skip
            forget_index(self.url, self.alias)
            return
        query = {"prefix": {"tenant": f"{self.namespace}:"}}
        while True:
            hits = self._call(self.client.search, index=self.alias, query=query, source=False,
                              size=5000)["hits"]["hits"]  # fmt: skip
            if not hits:
                return
            lines = b"".join(orjson.dumps({"delete": {"_id": h["_id"]}}) + b"\n" for h in hits)
            self._call(self.client.bulk, index=self.alias, body=lines, refresh="wait_for")

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> ElasticsearchStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
