"""Index extraction: a FHIR resource → the normalised rows every backend stores and searches.

``extract(resource, registry=None)`` is the entry point (see :mod:`.extract`); the row types
are in :mod:`.rows`; :mod:`.reindex` rebuilds indexes for existing resources.
"""

from __future__ import annotations

from helios_persistence.indexing.extract import extract, narrative_text, plan_for, string_content
from helios_persistence.indexing.rows import (
    CompositeRow,
    DateRow,
    IndexRow,
    NumberRow,
    QuantityRow,
    ReferenceRow,
    ResourceIndex,
    StringRow,
    TokenRow,
    UriRow,
)

__all__ = [
    "CompositeRow",
    "DateRow",
    "IndexRow",
    "NumberRow",
    "QuantityRow",
    "ReferenceRow",
    "ResourceIndex",
    "StringRow",
    "TokenRow",
    "UriRow",
    "extract",
    "narrative_text",
    "plan_for",
    "string_content",
]
