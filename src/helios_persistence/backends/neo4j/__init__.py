"""The Neo4j graph store (``hp.open_store("neo4j://host:7687")`` or ``bolt://``).

URL: ``neo4j://[user:password@]host:port?option=value...`` (``bolt://`` for a direct
connection). Options:

* ``namespace`` — store tenants as ``<namespace>/<tenant>``, to share a server;
* ``temporary`` — ``true``: ``close`` deletes the namespace's nodes;
* ``database`` — default: the server's;
* ``timeout`` — seconds per search statement (default 30; 0: none);
* ``connect_timeout`` (seconds), ``batch_size`` (changes per ``UNWIND`` write), ``base_url``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit, urlunsplit

from helios_persistence.errors import InvalidStoreURL
from helios_persistence.store_urls import _boolean

__all__ = ["Neo4jStore", "open_neo4j"]

_OPTIONS: dict[str, tuple[str, Any]] = {
    "namespace": ("namespace", str),
    "temporary": ("temporary", lambda v: _boolean(v)),
    "database": ("database", str),
    "timeout": ("timeout", lambda v: float(v) or None),
    "connect_timeout": ("connect_timeout", float),
    "batch_size": ("batch_size", int),
    "base_url": ("base_url", str),
}


def open_neo4j(url: str, **kw: Any) -> Any:
    """A :class:`~helios_persistence.backends.neo4j.store.Neo4jStore` (see the module doc)."""
    from helios_persistence.backends.neo4j.store import Neo4jStore

    parts = urlsplit(url)
    if not parts.hostname:
        raise InvalidStoreURL(f"a Neo4j URL names a host: neo4j://host:7687 (got {url!r})")
    options: dict[str, Any] = {}
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key not in _OPTIONS:
            raise InvalidStoreURL(
                f"unknown Neo4j store option {key!r} in {url!r} (known: {sorted(_OPTIONS)})"
            )
        name, convert = _OPTIONS[key]
        try:
            options[name] = convert(value)
        except ValueError:
            raise InvalidStoreURL(f"bad value for Neo4j store option {key}: {value!r}") from None
    if parts.username is not None:
        options["auth"] = (unquote(parts.username), unquote(parts.password or ""))
    netloc = parts.netloc.rsplit("@", 1)[-1]
    options.update(kw)
    return Neo4jStore(urlunsplit((parts.scheme.lower(), netloc, "", "", "")), **options)


def __getattr__(name: str) -> Any:
    if name == "Neo4jStore":
        from helios_persistence.backends.neo4j.store import Neo4jStore

        return Neo4jStore
    raise AttributeError(name)
