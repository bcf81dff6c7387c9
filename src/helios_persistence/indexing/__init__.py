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


def _install_search_canonicaliser() -> None:
    """Give the search parser the indexer's UCUM conversion (its quantity values then meet
    the stored canonical values)."""
    try:
        from helios_persistence.parsing.typed_values import register_canonicalizer
    except ImportError:  # pragma: no cover - the parser is optional for indexing
        return
    from helios_persistence.ucum import canonical_range

    register_canonicalizer(canonical_range)


_install_search_canonicaliser()

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
