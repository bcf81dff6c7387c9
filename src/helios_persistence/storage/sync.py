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

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from helios_persistence.tenancy import TenantContext

__all__ = ["ApplyReport", "Change", "OutboxReader", "SecondaryStore"]


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
