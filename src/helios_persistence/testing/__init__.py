"""A property-testing kit for FHIR search: hypothesis strategies, the differential check
against the reference evaluator, and the conformance cases as tests of your own store.

Strategies (``hypothesis`` is needed: ``pip install 'helios-persistence[testing]'``):

* resources: :func:`worlds` (small sets of inter-referencing Patients, Observations,
  Encounters, ... with updates and deletes), and one resource type at a time in
  :mod:`.resources` (``patients``, ``observations``, ...);
* search strings over a world: :func:`search_queries`, and per parameter type
  :func:`string_tests`, :func:`token_tests`, :func:`date_tests`, :func:`number_tests`,
  :func:`quantity_tests`, :func:`reference_tests`, :func:`composite_tests`,
  :func:`text_tests`;
* ``_filter`` expressions: :func:`filter_queries` (rendered from the IR), and IR queries as
  the parser builds them: :func:`ir_queries`.

Checks: :func:`agree_on` (a store answers like the evaluator), :func:`conformance_cases`;
the pytest plugin :mod:`helios_persistence.testing.plugin` adds ``--helios-store URL`` and
the ``helios_store`` / ``helios_case`` fixtures.
"""

from __future__ import annotations

from typing import Any

from helios_persistence.errors import MissingDependency

try:
    from hypothesis import strategies as st
except ImportError:  # pragma: no cover - exercised by a test that hides hypothesis
    raise MissingDependency(
        "helios_persistence.testing needs hypothesis: pip install 'helios-persistence[testing]'"
    ) from None

from helios_persistence import ir
from helios_persistence.testing.conformance import ConformanceCase, conformance_cases
from helios_persistence.testing.differential import (
    World,
    agree,
    agree_on,
    load_world,
    world_ids,
)
from helios_persistence.testing.ir_strategies import filter_expr
from helios_persistence.testing.ir_strategies import queries as ir_queries
from helios_persistence.testing.queries import (
    composite_tests,
    date_tests,
    number_tests,
    quantity_tests,
    reference_tests,
    string_tests,
    system_queries,
    text_tests,
    token_tests,
)
from helios_persistence.testing.queries import queries as type_queries
from helios_persistence.testing.resources import worlds

__all__ = [
    "ConformanceCase",
    "World",
    "agree",
    "agree_on",
    "composite_tests",
    "conformance_cases",
    "date_tests",
    "filter_queries",
    "ir_queries",
    "load_world",
    "number_tests",
    "quantity_tests",
    "reference_tests",
    "search_queries",
    "string_tests",
    "system_queries",
    "text_tests",
    "token_tests",
    "type_queries",
    "world_ids",
    "worlds",
]


def search_queries(world: World) -> st.SearchStrategy[str]:
    """FHIR search strings over ``world`` (a drawn :func:`worlds` value): every parameter
    type, modifiers, chains, ``_has``, ``_filter``, full text, sorting, paging, includes,
    and searches across types."""
    ids = world_ids(world)
    return st.one_of(type_queries(ids), type_queries(ids), type_queries(ids), system_queries(ids))


def filter_queries(resource_type: str = "Patient") -> st.SearchStrategy[str]:
    """``Type?_filter=...`` search strings: the IR a ``_filter`` expression lowers to (Or
    across parameters, ``not``, nesting, chains), rendered as the query text."""
    from helios_persistence.parsing.render import Unrenderable, render

    def text(predicate: Any) -> str | None:
        try:
            return render(ir.Query(resource_type=resource_type, where=predicate))
        except Unrenderable:
            return None

    return filter_expr(resource_type).map(text).filter(lambda t: t is not None)  # type: ignore[return-value]
