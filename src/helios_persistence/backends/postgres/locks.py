"""Advisory lock keys: a signed 64-bit hash of a namespace and some text parts.

The store serialises what must not run concurrently with transaction-scoped advisory locks
(``pg_advisory_xact_lock``, released at commit or rollback): every write of one resource
(``"resource", tenant, type, id``), every conditional operation on the same criteria
(``"criteria", tenant, type, normalised query``) and the migration of one schema. A hash
collision only makes two unrelated operations wait for each other.
"""

from __future__ import annotations

from hashlib import blake2b
from urllib.parse import parse_qsl, urlencode

__all__ = ["criteria_key", "lock_key"]


def lock_key(namespace: str, *parts: str) -> int:
    """A stable signed 64-bit key for ``namespace`` and ``parts``."""
    text = "\x1f".join((namespace, *parts)).encode("utf-8")
    return int.from_bytes(blake2b(text, digest_size=8).digest(), "big", signed=True)


def criteria_key(tenant: str, resource_type: str, criteria: str) -> int:
    """The lock of a conditional operation: its parameters in a canonical order (so
    ``a=1&b=2`` and ``b=2&a=1`` serialise), without the paging parameters it adds itself."""
    pairs = sorted(
        (k, v)
        for k, v in parse_qsl(criteria.lstrip("?"), keep_blank_values=True)
        if k not in ("_count", "_sort", "_total")
    )
    return lock_key("criteria", tenant, resource_type, urlencode(pairs))
