"""A test secondary: a SQLite store kept in sync by version (a :class:`SecondaryStore`), with
a compiler of its own dialect name (so the cost model can price it apart from the primary)
and switches to make it fail, lag or refuse.

It answers exactly what SQLite answers, so a composite over it must equal the primary alone:
what is under test is the composite machinery (routing, merging, sync, health) with real
engines on both sides. The Neo4j and Elasticsearch secondaries run the same tests in
``test_services.py``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any, ClassVar

from helios_persistence import ir, open_store
from helios_persistence.compilers.sqlite import SQLiteCompiler
from helios_persistence.composite.costs import CostModel
from helios_persistence.errors import Unavailable
from helios_persistence.storage.sync import ApplyReport, Change
from helios_persistence.tenancy import TenantContext


class ReplicaCompiler(SQLiteCompiler):
    """SQLite's lowering under the dialect name ``replica``."""

    dialect: ClassVar[str] = "replica"


class TextReplicaCompiler(SQLiteCompiler):
    """A search-like replica: declares chains and ``_has`` unsupported."""

    dialect: ClassVar[str] = "replica-text"
    UNSUPPORTED: ClassVar[frozenset[type[ir.Node]]] = frozenset({ir.Chain, ir.Has})


class Replica:
    """See the module docstring. ``down``: every call raises :class:`Unavailable`;
    ``refuse``: ids whose changes fail; ``slow``: seconds each apply batch and ping takes."""

    def __init__(self, compiler: type[SQLiteCompiler] = ReplicaCompiler, **kw: Any) -> None:
        self.store = open_store("sqlite://", **kw)
        self.compiler = compiler
        self.held: dict[tuple[str, str, str], int] = {}
        self.deleted: set[tuple[str, str, str]] = set()
        self.down = False
        self.refuse: set[str] = set()
        self.slow = 0.0
        self.batches: list[int] = []
        self.searches = 0
        self.lock = threading.Lock()

    def _check(self) -> None:
        if self.down:
            raise Unavailable("the replica is down")

    def ping(self) -> None:
        time.sleep(self.slow)
        self._check()

    def apply(self, ctx: TenantContext, changes: Sequence[Change]) -> ApplyReport:
        self._check()
        time.sleep(self.slow)
        report = ApplyReport()
        with self.lock:
            self.batches.append(len(changes))
            for c in changes:
                key = (ctx.tenant_key, c.resource_type, c.id)
                if c.id in self.refuse:
                    report.failed.append((c, "refused"))
                    continue
                if self.held.get(key, 0) >= c.version:
                    report.stale += 1
                    continue
                if c.operation == "delete":
                    if key not in self.deleted:
                        self.store.delete(ctx, c.resource_type, c.id)
                    self.deleted.add(key)
                else:
                    assert c.resource is not None
                    self.store.update(ctx, c.resource)
                    self.deleted.discard(key)
                self.held[key] = c.version
                report.applied += 1
        return report

    def versions(self, ctx: TenantContext) -> dict[tuple[str, str], int]:
        self._check()
        return {
            (t, i): v
            for (tenant, t, i), v in self.held.items()
            if tenant == ctx.tenant_key and (tenant, t, i) not in self.deleted
        }

    def search(self, ctx: TenantContext, query: Any, **kw: Any) -> Any:
        self._check()
        self.searches += 1
        return self.store.search(ctx, query, **kw)

    def close(self) -> None:
        self.store.close()


#: replicas cheaper than the primary for everything but plain parts (so they are routed)
CHEAP = CostModel(
    cost={
        "sqlite": {"plain": 1, "chain": 10, "has": 10, "text": 10, "terminology": 10},
        "postgres": {"plain": 1, "chain": 10, "has": 10, "text": 10, "terminology": 10},
        "replica": {"plain": 5, "chain": 1, "has": 1, "text": 2, "terminology": 2},
        "replica-text": {"plain": 5, "text": 1, "terminology": 1},
    },
    call={"replica": 0.5, "replica-text": 0.5},
    source="tests",
)
