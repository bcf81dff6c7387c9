"""Every conformance case on every available backend, and on the reference evaluator.

Cases are data: ``src/helios_persistence/conformance/cases/<area>.json`` (query → expected
matches, includes, totals, pages or error) over ``conformance/fixtures/*.json``. The reference
evaluator must pass every case (it is the executable specification, so it has no gaps);
backends may declare known gaps (``conformance/gaps.py``), which run as strict xfails.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from helios_persistence.conformance.cases import (
    Case,
    check,
    fixture_steps,
    observe_evaluator,
    observe_store,
    simulate,
)
from helios_persistence.conformance.evaluator import Evaluator

try:
    from tests.conformance.support import CASES, LoadedBackend
except ImportError:  # plain `pytest`: tests/ itself is on sys.path
    from conformance.support import CASES, LoadedBackend  # type: ignore[no-redef]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_backend(backend: LoadedBackend, case: Case) -> None:
    ctx = backend.context(case.fixtures, case.fixtures_dirs)
    problems = check(case, observe_store(backend.store, ctx, case))
    assert not problems, f"{case.query}\n" + "\n".join(problems)


@cache
def _evaluator(fixtures: tuple[str, ...], dirs: tuple[Path, ...]) -> Evaluator:
    return Evaluator(simulate(fixture_steps(fixtures, dirs)))


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_reference_evaluator(case: Case) -> None:
    evaluator = _evaluator(case.fixtures, case.fixtures_dirs)
    problems = check(case, observe_evaluator(evaluator, case))
    assert not problems, f"{case.query}\n" + "\n".join(problems)
