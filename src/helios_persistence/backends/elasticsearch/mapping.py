"""The index a store uses: ``dialects/elasticsearch/mapping.json``, created or checked on open.

One index per store (``<prefix>-resources-v<version>``, behind the alias
``<prefix>-resources``) holds every tenant and every type; the README in
``dialects/elasticsearch/`` says why. The mapping file is versioned: a store opens an index
of its own version, adds what a newer file only adds (new fields: ``put_mapping``), and
refuses an index written by a newer library.
"""

from __future__ import annotations

import copy
import json
import re
from functools import cache
from typing import Any

from helios_persistence.assets import read_asset
from helios_persistence.errors import InvalidStoreURL

__all__ = [
    "LAYOUT",
    "MappingVersionError",
    "alias_name",
    "ensure_index",
    "forget_index",
    "index_body",
    "spec",
]

LAYOUT = "helios-elasticsearch"
_PREFIX = re.compile(r"[a-z0-9][a-z0-9_\-]{0,100}")


class MappingVersionError(InvalidStoreURL):
    """The index was written by another version of the mapping than this library's."""


@cache
def spec() -> dict[str, Any]:
    """The mapping file (layout, version, settings, fields)."""
    loaded: dict[str, Any] = json.loads(read_asset("dialects", "elasticsearch", "mapping.json"))
    if loaded.get("layout") != LAYOUT:
        raise RuntimeError("dialects/elasticsearch/mapping.json is not a helios mapping")
    return loaded


def alias_name(prefix: str) -> str:
    if not _PREFIX.fullmatch(prefix):
        raise InvalidStoreURL(
            f"index prefix {prefix!r}: lowercase letters, digits, '_' and '-' (at most 101)"
        )
    return f"{prefix}-resources"


def index_body() -> dict[str, Any]:
    """``settings`` and ``mappings`` for a new index (the row fields at the top level and
    inside each composite repetition)."""
    s = spec()
    rows = copy.deepcopy(s["row_fields"])
    properties = {**copy.deepcopy(s["properties"]), **rows}
    properties["comp"]["properties"].update(copy.deepcopy(rows))
    mappings = {
        "_meta": {"layout": LAYOUT, "version": s["version"]},
        "dynamic_templates": copy.deepcopy(s["dynamic_templates"]),
        "properties": properties,
    }
    return {"settings": {"index": copy.deepcopy(s["settings"])}, "mappings": mappings}


#: (server, alias) this process has checked (a store of the same index opens with no request)
_CHECKED: set[tuple[str, str]] = set()


def ensure_index(client: Any, prefix: str, server: str = "") -> str:
    """The alias of the store's index, creating the index on first use; checks (and
    upgrades) the mapping version of an existing one (once per process and ``server``)."""
    alias = alias_name(prefix)
    if server and (server, alias) in _CHECKED:
        return alias
    _ensure(client, alias)
    if server:
        _CHECKED.add((server, alias))
    return alias


def forget_index(server: str, alias: str) -> None:
    """The index was deleted: the next store to open it checks (and creates) it again."""
    _CHECKED.discard((server, alias))


def _ensure(client: Any, alias: str) -> str:
    version = spec()["version"]
    if client.indices.exists_alias(name=alias):
        found = client.indices.get_mapping(index=alias)
        for name, entry in found.items():
            meta = entry["mappings"].get("_meta") or {}
            if meta.get("layout") != LAYOUT:
                raise MappingVersionError(f"index {name} is not a helios index")
            have = int(meta.get("version", 0))
            if have > version:
                raise MappingVersionError(
                    f"index {name} has mapping version {have}, newer than this library's "
                    f"{version}: upgrade helios-persistence"
                )
            if have < version:
                body = index_body()["mappings"]
                client.indices.put_mapping(index=name, **body)
        return alias
    body = index_body()
    name = f"{alias}-v{version}"
    client.options(ignore_status=400).indices.create(
        index=name, aliases={alias: {}}, **body
    )  # (400: a concurrent opener created it first)
    if not client.indices.exists_alias(name=alias):
        raise MappingVersionError(f"could not create the index {name}")
    return alias
