"""``open_store(url)``: a storage backend from a URL.

* ``sqlite://`` — a private in-memory database (shared by every thread of this store);
* ``sqlite:///relative/path.db``, ``sqlite:////absolute/path.db`` — a database file (SQLAlchemy's
  convention: the path is everything after the third slash);
* ``...?tenancy=database`` — database per tenant: the path is a directory holding one file per
  tenant (``sqlite://?tenancy=database``: one in-memory database per tenant);
* query options: ``tenancy`` (``shared`` | ``database``), ``busy_timeout`` (ms), ``base_url``;
* ``postgresql://...`` — not available yet (ValueError).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from helios_persistence.backends.sqlite.store import SQLiteStore

__all__ = ["open_store"]

_OPTIONS = {"tenancy", "busy_timeout", "base_url"}


def open_store(url: str, **kw: Any) -> SQLiteStore:
    """Open the store ``url`` names; keyword arguments go to the store's constructor."""
    if not isinstance(url, str):
        raise TypeError("open_store needs a URL string")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme in ("postgresql", "postgres") or scheme.startswith("postgresql+"):
        raise ValueError("postgresql not available yet: use sqlite:// or sqlite:///path.db")
    if scheme != "sqlite":
        raise ValueError(f"unsupported store URL scheme {parts.scheme!r} in {url!r}")
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
