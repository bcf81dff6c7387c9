"""helios-persistence: store and query FHIR R4 data on more than one engine.

>>> import helios_persistence as hp
>>> store = hp.open_store("sqlite://")
>>> ctx = hp.TenantContext.for_tenant("acme")
>>> q = hp.parse("Observation?code=http://loinc.org|8867-4")
>>> sql = hp.compile(q, dialect="sqlite").text
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from helios_persistence import errors, ir, views
from helios_persistence.parsing import Limits, ParseResult, parse, parse_lenient
from helios_persistence.parsing.render import Unrenderable, render
from helios_persistence.pipeline import compile
from helios_persistence.results import SearchResult
from helios_persistence.storage.types import StoredResource
from helios_persistence.tenancy import Operation, Permissions, TenantContext, TenantId

if TYPE_CHECKING:
    from helios_persistence.backends.postgres.store import PostgresStore
    from helios_persistence.backends.sqlite.store import SQLiteStore

__all__ = [
    "Limits",
    "Operation",
    "ParseResult",
    "Permissions",
    "SearchResult",
    "StoredResource",
    "TenantContext",
    "TenantId",
    "Unrenderable",
    "compile",
    "composite",
    "errors",
    "ir",
    "open_analytics",
    "open_store",
    "parse",
    "parse_lenient",
    "render",
    "views",
]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    """``hp.composite`` (the composite layer, imported on first use; callable: see
    :func:`helios_persistence.composite.composite`)."""
    if name == "composite":
        import importlib

        return importlib.import_module("helios_persistence.composite")
    raise AttributeError(f"module 'helios_persistence' has no attribute {name!r}")


def open_analytics(destination: Any, path: str = "", **options: Any) -> Any:
    """DuckDB over an export directory (a path, a ``file://``/``s3://`` URI or a pyarrow
    ``FileSystem``): ``.search(query)``, ``.sql("select ...")`` (see
    :mod:`helios_persistence.analytics.lake`)."""
    from helios_persistence.analytics.lake import open_analytics as _open

    return _open(destination, path, **options)


def open_store(url: str, *, create: bool = True, **options: Any) -> SQLiteStore | PostgresStore:
    """Open a store: ``sqlite://`` (memory), ``sqlite:///path.db``, ``...?tenancy=database``,
    ``postgresql://user:password@host/db?tenancy=shared|schema|database`` (see
    :mod:`helios_persistence.store_urls`); ``create=False`` refuses to create a missing SQLite
    file."""
    from helios_persistence.store_urls import open_store as _open

    store: SQLiteStore | PostgresStore = _open(url, create=create, **options)
    return store
