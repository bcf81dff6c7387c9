"""The seam between a primary store and its secondaries (graph, search, analytics).

A primary writes an outbox event in the same transaction as every committed write
(``outbox`` table: tenant, type, id, version, ``upsert`` | ``delete``). An
:class:`OutboxReader` hands those events out in order, each with the resource version it
announces (:class:`Change`); a :class:`SecondaryStore` applies them **idempotently by
version**: applying a change twice is applying it once, and an older version never replaces
a newer one, so a secondary that was down catches up by replaying from its last position and
nothing is lost or reordered. The composite layer's sync loop is built on these two.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from helios_persistence.tenancy import TenantContext

__all__ = [
    "ApplyReport",
    "Change",
    "Drift",
    "OutboxReader",
    "SecondaryStore",
    "compare",
    "current_changes",
    "rebuild",
    "replicate",
]


@dataclass(frozen=True, slots=True)
class Change:
    """One committed write as the primary's outbox announces it (``resource`` is the version
    written, None for a deletion)."""

    seq: int
    tenant: str
    resource_type: str
    id: str
    version: int
    operation: Literal["upsert", "delete"]
    created_at: int
    resource: dict[str, Any] | None = None


@dataclass(slots=True)
class ApplyReport:
    """What a secondary did with a batch of changes."""

    applied: int = 0
    #: changes older than what the secondary already holds (skipped, as they must be)
    stale: int = 0
    #: changes that could not be applied, with the reason (to retry; never dropped)
    failed: list[tuple[Change, str]] = field(default_factory=list)

    def add(self, other: ApplyReport) -> ApplyReport:
        """Add ``other``'s counts and failures to this report; returns ``other``."""
        self.applied += other.applied
        self.stale += other.stale
        self.failed.extend(other.failed)
        return other


@runtime_checkable
class OutboxReader(Protocol):
    """A primary's committed changes, in commit order, per tenant."""

    def read_outbox(self, ctx: TenantContext, after: int = 0, limit: int = 1000) -> list[Change]:
        """The tenant's changes with a sequence number above ``after``, oldest first."""
        ...

    def trim_outbox(self, ctx: TenantContext, up_to: int) -> None:
        """Forget the tenant's changes up to ``up_to`` (once every secondary has them)."""
        ...


@runtime_checkable
class SecondaryStore(Protocol):
    """A store kept in sync from a primary: applies resource versions idempotently."""

    def apply(self, ctx: TenantContext, changes: Sequence[Change]) -> ApplyReport:
        """Apply ``changes`` (any order, any repetition): afterwards each resource is at the
        newest version any change (or an earlier apply) named."""
        ...

    def versions(self, ctx: TenantContext) -> dict[tuple[str, str], int]:
        """``{(type, id): version}`` of every resource the secondary holds for the tenant
        (for consistency checks and resync)."""
        ...


@dataclass(slots=True)
class Drift:
    """How a secondary differs from its primary (each a sorted list of ``(type, id)``)."""

    #: current in the primary, absent from the secondary
    missing: list[tuple[str, str]] = field(default_factory=list)
    #: held by the secondary, not current in the primary
    extra: list[tuple[str, str]] = field(default_factory=list)
    #: held by both, the secondary at another version than the primary's current one
    stale: list[tuple[str, str]] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (self.missing or self.extra or self.stale)


def replicate(
    primary: OutboxReader,
    secondary: SecondaryStore,
    ctx: TenantContext,
    *,
    after: int = 0,
    batch: int = 1000,
) -> tuple[ApplyReport, int]:
    """Apply the primary's outbox after sequence number ``after`` to ``secondary``, batch by
    batch, until it is drained or a batch has failures. Returns the summed report and the
    position to resume from: the last sequence number before the first failed change (later
    changes of that batch were applied, and applying them again is harmless)."""
    total = ApplyReport()
    position = after
    while True:
        changes = primary.read_outbox(ctx, after=position, limit=batch)
        if not changes:
            return total, position
        report = total.add(secondary.apply(ctx, changes))
        if report.failed:
            return total, min(c.seq for c, _ in report.failed) - 1
        position = changes[-1].seq


def current_changes(
    primary: Any, ctx: TenantContext, types: Iterable[str] = ()
) -> Iterator[list[Change]]:
    """The primary's current resources (of ``types``, default all) as pages of ``upsert``
    changes (``seq`` 0): what a rebuild applies. Read through the store's own searches, so
    tenancy and permissions apply."""
    from helios_persistence.analytics.export import ExportRequest, stream
    from helios_persistence.fhir_values import parse_date

    for page in stream(primary, ctx, ExportRequest(types=tuple(types))):
        changes = []
        for resource in page:
            meta = resource.get("meta") or {}
            updated = meta.get("lastUpdated")
            changes.append(
                Change(
                    0, ctx.tenant_key, resource["resourceType"], resource["id"],
                    int(meta.get("versionId", 1)), "upsert",
                    parse_date(updated).low if updated else 0, resource,
                )
            )  # fmt: skip
        if changes:
            yield changes


def _primary_versions(primary: Any, ctx: TenantContext) -> dict[tuple[str, str], int]:
    return {
        (c.resource_type, c.id): c.version for page in current_changes(primary, ctx) for c in page
    }


def compare(primary: Any, secondary: SecondaryStore, ctx: TenantContext) -> Drift:
    """What ``secondary`` lacks, holds in excess, or holds at another version than the
    primary's current resources of the tenant."""
    want = _primary_versions(primary, ctx)
    have = secondary.versions(ctx)
    return Drift(
        missing=sorted(k for k in want if k not in have),
        extra=sorted(k for k in have if k not in want),
        stale=sorted(k for k, v in want.items() if k in have and have[k] != v),
    )


def rebuild(
    primary: Any, secondary: SecondaryStore, ctx: TenantContext, *, batch: int = 1000
) -> ApplyReport:
    """Bring ``secondary`` to the primary's current resources of the tenant: apply every
    current version, then delete what the primary no longer holds (as a deletion one version
    above the secondary's, so it wins over what it replaces). A secondary with a
    ``bulk_loading()`` context manager applies the versions inside it."""
    total = ApplyReport()
    want: set[tuple[str, str]] = set()
    loading = getattr(secondary, "bulk_loading", None)  # (settings for a large load)
    with loading() if callable(loading) else nullcontext():
        for page in current_changes(primary, ctx):
            for start in range(0, len(page), batch):
                total.add(secondary.apply(ctx, page[start : start + batch]))
            want.update((c.resource_type, c.id) for c in page)
    gone = [
        Change(0, ctx.tenant_key, rtype, rid, version + 1, "delete", 0)
        for (rtype, rid), version in secondary.versions(ctx).items()
        if (rtype, rid) not in want
    ]
    for start in range(0, len(gone), batch):
        total.add(secondary.apply(ctx, gone[start : start + batch]))
    return total
