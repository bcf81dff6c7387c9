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

from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from helios_persistence.engines import engine_for_scheme
from helios_persistence.errors import InvalidStoreURL

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
    raise InvalidStoreURL(f"not a boolean: {value!r}")


_SQLITE_URLS = (
    "SQLite URLs: sqlite:///relative/path.db (three slashes: relative to the working "
    "directory), sqlite:////absolute/path.db (four), sqlite:// (in memory)"
)


def open_store(url: str, *, create: bool = True, **kw: Any) -> Any:
    """Open the store ``url`` names (the engine table decides which engine, by the scheme);
    keyword arguments go to the store's constructor.

    ``create=False`` refuses to create a missing SQLite database file (or folder, for
    database-per-tenant) instead of answering from a new empty one. A bad URL, or a file that
    cannot be opened, raises :class:`~helios_persistence.errors.InvalidStoreURL` (a
    ``ValueError`` too) naming the resolved path."""
    if not isinstance(url, str):
        raise TypeError("open_store needs a URL string")
    scheme = urlsplit(url).scheme
    engine = engine_for_scheme(scheme)
    if engine is None:
        raise InvalidStoreURL(
            f"unsupported store URL scheme {scheme!r} in {url!r} (sqlite://..., postgresql://...)"
        )
    if not create and scheme.lower() == "sqlite" and not urlsplit(url).netloc:
        path = _sqlite_path(url)
        if path is not None and not path.exists():
            raise InvalidStoreURL(f"no database at {path} (from {url!r}). {_SQLITE_URLS}")
    return engine.open(url, **kw)


def _sqlite_path(url: str) -> Path | None:
    """The resolved file (or folder) of a ``sqlite:`` URL; None in memory."""
    path = unquote(urlsplit(url).path)[1:]
    return Path(path).resolve() if path else None


def open_sqlite(url: str, **kw: Any) -> SQLiteStore:
    """A SQLite store (see the module docstring)."""
    import apsw

    from helios_persistence.backends.sqlite.store import SQLiteStore

    parts = urlsplit(url)
    if parts.netloc:
        raise InvalidStoreURL(f"a sqlite URL has no host: {url!r}. {_SQLITE_URLS}")
    query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    unknown = set(query) - _OPTIONS
    if unknown:
        raise InvalidStoreURL(f"unknown store option(s) {sorted(unknown)} in {url!r}")
    options: dict[str, Any] = {}
    if "tenancy" in query:
        options["tenancy"] = query["tenancy"]
    if "busy_timeout" in query:
        try:
            options["busy_timeout_ms"] = int(query["busy_timeout"])
        except ValueError:
            raise InvalidStoreURL(f"busy_timeout must be an integer (ms): {url!r}") from None
    if "base_url" in query:
        options["base_url"] = query["base_url"]
    options.update(kw)
    path = unquote(parts.path)[1:] if parts.path else ""
    try:
        return SQLiteStore(path or None, **options)
    except (apsw.CantOpenError, apsw.NotADBError, OSError) as exc:
        raise InvalidStoreURL(
            f"cannot open the SQLite database {_sqlite_path(url)} (from {url!r}): {exc}. "
            f"{_SQLITE_URLS}"
        ) from None


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
            raise InvalidStoreURL(f"bad value for store option {key}: {value!r}") from None
    options.update(kw)
    conninfo = urlunsplit(parts._replace(scheme="postgresql", query=urlencode(libpq)))
    return PostgresStore(conninfo, **options)
