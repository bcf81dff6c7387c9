"""The conformance cases as tests of a user's own store.

:func:`conformance_cases` lists the packaged cases as :class:`ConformanceCase`;
``case.check(store)`` loads the case's fixtures into a tenant of their own (once per store)
and asserts the store's answer. A case the store's dialect is known to fail
(:mod:`helios_persistence.conformance.gaps`) is reported as an expected failure (``xfail``)
while it fails, and fails once it passes, so the gap list stays honest.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from helios_persistence.conformance.cases import (
    Case,
    check,
    fixture_steps,
    live_resources,
    load_cases,
    observe_store,
    tenant_for,
)
from helios_persistence.conformance.gaps import gaps_for
from helios_persistence.tenancy import TenantContext

__all__ = ["ConformanceCase", "conformance_cases"]

_LOADED: weakref.WeakKeyDictionary[Any, dict[tuple[Any, ...], TenantContext]] = (
    weakref.WeakKeyDictionary()
)


def _context(store: Any, case: Case) -> TenantContext:
    loaded = _LOADED.setdefault(store, {})
    key = (case.fixtures, case.fixtures_dirs)
    if key not in loaded:
        ctx = TenantContext.for_tenant(tenant_for(case.fixtures))
        live_resources(store, ctx, fixture_steps(case.fixtures, case.fixtures_dirs))
        loaded[key] = ctx
    return loaded[key]


@dataclass(frozen=True, slots=True)
class ConformanceCase:
    """One conformance case (``area/name``: a query and what it must answer)."""

    case: Case

    @property
    def id(self) -> str:
        return self.case.id

    def check(self, store: Any, *, dialect: str | None = None) -> None:
        """Assert that ``store`` answers this case; ``dialect`` (default: ``store.dialect``)
        selects the known gaps."""
        import pytest

        name = dialect or getattr(store, "dialect", None)
        gap = gaps_for(name).get(self.case.id) if name else None
        try:
            problems = check(self.case, observe_store(store, _context(store, self.case), self.case))
        except Exception as exc:
            if gap is not None and isinstance(exc, gap.raises):
                pytest.xfail(f"known gap [{gap.kind}] {gap.reason}")
            raise
        if gap is not None:
            if problems:
                pytest.xfail(f"known gap [{gap.kind}] {gap.reason}")
            pytest.fail(f"{self.case.id} passes: remove it from the known gaps ({gap.reason})")
        assert not problems, f"{self.case.query}\n" + "\n".join(problems)


def conformance_cases(cases_dir: str | Path | None = None) -> list[ConformanceCase]:
    """The packaged cases (or those of ``cases_dir``)."""
    return [ConformanceCase(c) for c in load_cases(cases_dir)]
