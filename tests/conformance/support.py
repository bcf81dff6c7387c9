"""Shared by the conformance conftest and tests: the cases and a loaded backend."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from helios_persistence import TenantContext
from helios_persistence.conformance.cases import (
    fixture_steps,
    live_resources,
    load_cases,
    tenant_for,
)

try:
    from tests.conformance.backends import BACKENDS, Backend
except ImportError:  # plain `pytest`: tests/ itself is on sys.path
    from conformance.backends import BACKENDS, Backend  # type: ignore[no-redef]

__all__ = ["BACKENDS", "CASES", "CASE_IDS", "Backend", "LoadedBackend"]

CASES = load_cases()
CASE_IDS = {c.id for c in CASES}


class LoadedBackend:
    """A backend's open store, with fixture sets loaded on first use."""

    def __init__(self, backend: Backend, store: Any) -> None:
        self.backend = backend
        self.store = store
        self._loaded: dict[tuple[tuple[str, ...], tuple[Path, ...]], TenantContext] = {}

    @property
    def name(self) -> str:
        return self.backend.name

    def context(self, fixtures: tuple[str, ...], dirs: tuple[Path, ...]) -> TenantContext:
        """The tenant holding ``fixtures`` (loaded on first use)."""
        key = (fixtures, dirs)
        if key not in self._loaded:
            ctx = TenantContext.for_tenant(tenant_for(fixtures))
            live_resources(self.store, ctx, fixture_steps(fixtures, dirs))
            self._loaded[key] = ctx
        return self._loaded[key]
