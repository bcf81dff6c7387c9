"""Backend-agnostic storage: value types, protocols, validation, patching and Bundles."""

from __future__ import annotations

from helios_persistence.storage.protocols import (
    Capability,
    HistoryProvider,
    ResourceStorage,
    SearchProvider,
    TransactionProvider,
    VersionedStorage,
    capabilities_of,
)
from helios_persistence.storage.types import Create, HistoryEntry, StoredResource, WriteOutcome

__all__ = [
    "Capability",
    "Create",
    "HistoryEntry",
    "HistoryProvider",
    "ResourceStorage",
    "SearchProvider",
    "StoredResource",
    "TransactionProvider",
    "VersionedStorage",
    "WriteOutcome",
    "capabilities_of",
]
