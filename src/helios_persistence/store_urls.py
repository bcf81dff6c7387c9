"""``open_store(url)``: a storage backend from a URL.

SQLite:

* ``sqlite://`` — a private in-memory database (shared by every thread of this store);
* ``sqlite:///relative/path.db``, ``sqlite:////absolute/path.db`` — a database file (SQLAlchemy's
  convention: the path is everything after the third slash);
* ``...?tenancy=database`` — database per tenant: the path is a directory holding one file per
  tenant (``sqlite://?tenancy=database``: one in-memory database per tenant);
* query options: ``tenancy`` (``shared`` | ``database``), ``busy_timeout`` (ms), ``base_url``.

PostgreSQL (``postgresql://user:password@host:port/dbname?...``, also ``postgres://`` and
``postgresql+psycopg://``):

* ``tenancy`` — ``shared`` (default: tenant column + row-level security), ``schema`` (a schema
  per tenant) or ``database`` (a database per tenant);
* ``schema`` — the store's schema (default ``public``); ``force_rls`` (``true``: the
  row-level security policies bind the tables' owner too);
* ``pool_size`` / ``pool_min`` (connections), ``pool_timeout`` (seconds to wait for one),
  ``statement_timeout`` (ms per search statement; 0: none), ``max_tenant_pools`` and
  ``tenant_pool_size`` (database per tenant), ``prepare_threshold``, ``base_url``;
* any other query parameter is a libpq connection parameter (``sslmode``,
  ``connect_timeout``, ``application_name``, ...).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from helios_persistence.engines import engine_for_scheme

if TYPE_CHECKING:
    from helios_persistence.backends.postgres.store import PostgresStore
    from helios_persistence.backends.sqlite.store import SQLiteStore

__all__ = ["open_postgres", "open_sqlite", "open_store"]

_OPTIONS = {"tenancy", "busy_timeout", "base_url"}
#: PostgreSQL store options: URL name → (keyword argument, converter)
_PG_OPTIONS: dict[str, tuple[str, Any]] = {
    "tenancy": ("tenancy", str),
    "schema": ("schema", str),
    "base_url": ("base_url", str),
    "pool_size": ("pool_size", int),
    "pool_min": ("pool_min", int),
    "pool_timeout": ("pool_timeout", float),
    "statement_timeout": ("statement_timeout_ms", int),
    "max_tenant_pools": ("max_tenant_pools", int),
    "tenant_pool_size": ("tenant_pool_size", int),
    "prepare_threshold": ("prepare_threshold", int),
    "force_rls": ("force_rls", lambda v: _boolean(v)),
}


def _boolean(value: str) -> bool:
    lowered = value.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"not a boolean: {value!r}")


def open_store(url: str, **kw: Any) -> Any:
    """Open the store ``url`` names (the engine table decides which engine, by the scheme);
    keyword arguments go to the store's constructor."""
    if not isinstance(url, str):
        raise TypeError("open_store needs a URL string")
    scheme = urlsplit(url).scheme
    engine = engine_for_scheme(scheme)
    if engine is None:
        raise ValueError(f"unsupported store URL scheme {scheme!r} in {url!r}")
    return engine.open(url, **kw)


def open_sqlite(url: str, **kw: Any) -> SQLiteStore:
    """A SQLite store (see the module docstring)."""
    from helios_persistence.backends.sqlite.store import SQLiteStore

    parts = urlsplit(url)
    if parts.netloc:
        raise ValueError(f"a sqlite URL has no host: {url!r} (use sqlite:///path.db)")
    query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    unknown = set(query) - _OPTIONS
    if unknown:
        raise ValueError(f"unknown store option(s) {sorted(unknown)} in {url!r}")
    options: dict[str, Any] = {}
    if "tenancy" in query:
        options["tenancy"] = query["tenancy"]
    if "busy_timeout" in query:
        try:
            options["busy_timeout_ms"] = int(query["busy_timeout"])
        except ValueError:
            raise ValueError(f"busy_timeout must be an integer (ms): {url!r}") from None
    if "base_url" in query:
        options["base_url"] = query["base_url"]
    options.update(kw)
    path = unquote(parts.path)[1:] if parts.path else ""
    return SQLiteStore(path or None, **options)


def open_postgres(url: str, **kw: Any) -> PostgresStore:
    """A PostgreSQL store (see the module docstring)."""
    from helios_persistence.backends.postgres.store import PostgresStore

    parts = urlsplit(url)
    options: dict[str, Any] = {}
    libpq: list[tuple[str, str]] = []
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key not in _PG_OPTIONS:
            libpq.append((key, value))
            continue
        name, convert = _PG_OPTIONS[key]
        try:
            options[name] = convert(value)
        except ValueError:
            raise ValueError(f"bad value for store option {key}: {value!r}") from None
    options.update(kw)
    conninfo = urlunsplit(parts._replace(scheme="postgresql", query=urlencode(libpq)))
    return PostgresStore(conninfo, **options)
