"""The storage protocols every backend implements, from plain CRUD up to Bundles.

The hierarchy is progressive (each protocol extends the previous one)::

    ResourceStorage → VersionedStorage → HistoryProvider → SearchProvider → TransactionProvider

A backend declares what it supports with ``capabilities`` (a set of :class:`Capability`);
:func:`capabilities_of` answers for any object, falling back to structural checks.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from helios_persistence.storage.types import StoredResource
from helios_persistence.tenancy import TenantContext

__all__ = [
    "Capability",
    "HistoryProvider",
    "ResourceStorage",
    "SearchProvider",
    "TransactionProvider",
    "VersionedStorage",
    "capabilities_of",
]

Resource = dict[str, Any]
Patch = Sequence[dict[str, Any]] | dict[str, Any]


class Capability(StrEnum):
    """Features a storage backend may offer."""

    CRUD = "crud"
    VERSIONING = "versioning"
    CONDITIONAL = "conditional"  # if-none-exist, conditional update/delete/patch
    PATCH_JSON = "patch-json"
    PATCH_FHIRPATH = "patch-fhirpath"
    HISTORY_INSTANCE = "history-instance"
    HISTORY_TYPE = "history-type"
    HISTORY_SYSTEM = "history-system"
    DELETE_HISTORY = "delete-history"
    SEARCH = "search"
    INCLUDE = "include"
    CHAINING = "chaining"
    TRANSACTION = "transaction"
    BATCH = "batch"
    MULTI_TENANT_SHARED = "multi-tenant-shared"
    MULTI_TENANT_DATABASE = "multi-tenant-database"
    COMPARTMENTS = "compartments"
    CUSTOM_SEARCH_PARAMETERS = "custom-search-parameters"
    OUTBOX = "outbox"  # storage.sync.OutboxReader: changes for secondaries


@runtime_checkable
class ResourceStorage(Protocol):
    """Create, read, update and delete current versions."""

    def create(
        self, ctx: TenantContext, resource: Resource, *, if_none_exist: str | None = None
    ) -> StoredResource: ...

    def read(self, ctx: TenantContext, resource_type: str, id: str) -> StoredResource: ...

    def update(
        self, ctx: TenantContext, resource: Resource, *, if_match: str | None = None
    ) -> StoredResource: ...

    def delete(self, ctx: TenantContext, resource_type: str, id: str) -> StoredResource | None: ...

    def close(self) -> None: ...


@runtime_checkable
class VersionedStorage(ResourceStorage, Protocol):
    """Every write makes a version; versions can be read; writes can be conditional."""

    def vread(
        self, ctx: TenantContext, resource_type: str, id: str, version_id: str
    ) -> StoredResource: ...

    def patch(
        self,
        ctx: TenantContext,
        resource_type: str,
        id: str,
        patch: Patch,
        *,
        if_match: str | None = None,
    ) -> StoredResource: ...

    def update_conditional(
        self, ctx: TenantContext, resource: Resource, criteria: str
    ) -> StoredResource: ...

    def delete_conditional(
        self, ctx: TenantContext, resource_type: str, criteria: str
    ) -> StoredResource | None: ...

    def patch_conditional(
        self, ctx: TenantContext, resource_type: str, criteria: str, patch: Patch
    ) -> StoredResource: ...


@runtime_checkable
class HistoryProvider(VersionedStorage, Protocol):
    """Instance, type and system history (FHIR ``_history``) and ``$delete-history``."""

    def history(
        self,
        ctx: TenantContext,
        resource_type: str | None = None,
        id: str | None = None,
        *,
        since: str | datetime | None = None,
        at: str | datetime | None = None,
        count: int | None = None,
    ) -> dict[str, Any]: ...

    def delete_history(self, ctx: TenantContext, resource_type: str, id: str) -> int: ...


@runtime_checkable
class SearchProvider(HistoryProvider, Protocol):
    """FHIR search (with ``_include``/``_revinclude``, chains and ``_has``)."""

    def search(self, ctx: TenantContext, query: str, **kw: Any) -> Any: ...


@runtime_checkable
class TransactionProvider(SearchProvider, Protocol):
    """FHIR ``transaction`` (atomic) and ``batch`` Bundles."""

    def transaction(self, ctx: TenantContext, bundle: Resource) -> dict[str, Any]: ...


_STRUCTURAL: tuple[tuple[type, frozenset[Capability]], ...] = (
    (ResourceStorage, frozenset({Capability.CRUD})),
    (VersionedStorage, frozenset({Capability.VERSIONING, Capability.CONDITIONAL})),
    (
        HistoryProvider,
        frozenset(
            {
                Capability.HISTORY_INSTANCE,
                Capability.HISTORY_TYPE,
                Capability.HISTORY_SYSTEM,
                Capability.DELETE_HISTORY,
            }
        ),
    ),
    (SearchProvider, frozenset({Capability.SEARCH})),
    (TransactionProvider, frozenset({Capability.TRANSACTION, Capability.BATCH})),
)


def capabilities_of(storage: object) -> frozenset[Capability]:
    """What ``storage`` supports: its declared ``capabilities``, else what its methods imply."""
    declared = getattr(storage, "capabilities", None)
    if declared is not None:
        return frozenset(declared)
    found: set[Capability] = set()
    for protocol, caps in _STRUCTURAL:
        if isinstance(storage, protocol):
            found |= caps
    return frozenset(found)
