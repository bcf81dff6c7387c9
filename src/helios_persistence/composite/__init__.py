"""Composite storage: one primary, optional graph and search secondaries, one store API.

>>> store = composite(primary="sqlite://", search=es_store, sync="sync")   # doctest: +SKIP

``composite(...)`` takes the targets as keywords (URLs or open stores), a
:class:`CompositeConfig` (builder, dict or URL form: :meth:`CompositeConfig.from_url`), or a
``composite://`` URL; see :mod:`.config`, and :mod:`.store` for how it searches.
"""

from __future__ import annotations

import sys
from types import ModuleType
from typing import Any

from helios_persistence.composite.analyzer import Features, analyze
from helios_persistence.composite.config import (
    CompositeBuilder,
    CompositeConfig,
    HealthSettings,
    SecondarySpec,
    SyncSettings,
)
from helios_persistence.composite.costs import DEFAULT as DEFAULT_COSTS
from helios_persistence.composite.costs import CostModel
from helios_persistence.composite.errors import InvalidComposite, SecondaryUnavailable, TooManyIds
from helios_persistence.composite.router import Route, route
from helios_persistence.composite.store import CompositeStore

__all__ = [
    "DEFAULT_COSTS",
    "CompositeBuilder",
    "CompositeConfig",
    "CompositeStore",
    "CostModel",
    "Features",
    "HealthSettings",
    "InvalidComposite",
    "Route",
    "SecondarySpec",
    "SecondaryUnavailable",
    "SyncSettings",
    "TooManyIds",
    "analyze",
    "composite",
    "route",
]


def composite(
    config: CompositeConfig | dict[str, Any] | str | None = None,
    *,
    primary: Any = None,
    graph: Any = None,
    search: Any = None,
    sync: str = "sync",
    costs: CostModel | None = None,
    start: bool = True,
    store_options: dict[str, Any] | None = None,
    **options: Any,
) -> CompositeStore:
    """A :class:`CompositeStore`: from ``config`` (a config, its dict form or a
    ``composite://`` URL) or from the keywords (``max_ids``, ``on_bound``, ``on_failure``,
    ``health=HealthSettings(...)``, ``sync_settings=SyncSettings(...)`` as options).
    ``store_options`` go to every store opened from a URL (e.g. ``registry``); ``start``
    starts the sync worker and health monitor threads."""
    if config is None:
        builder = CompositeConfig.builder().primary(primary).sync(sync).options(**options)
        if graph is not None:
            builder.graph(graph)
        if search is not None:
            builder.search(search)
        config = builder.build()
    elif isinstance(config, str):
        config = CompositeConfig.from_url(config)
    elif isinstance(config, dict):
        config = CompositeConfig.from_dict(config)
    if not isinstance(config, CompositeConfig):
        raise InvalidComposite(f"not a composite configuration: {config!r}")
    return CompositeStore(config, costs=costs, start=start, **(store_options or {}))


class _CallableModule(ModuleType):
    """``hp.composite(...)`` is :func:`composite` (the package is also ``hp.composite``)."""

    def __call__(self, *args: Any, **kw: Any) -> CompositeStore:
        return composite(*args, **kw)


sys.modules[__name__].__class__ = _CallableModule
