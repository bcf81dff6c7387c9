"""Property-based differential tests: every backend must answer exactly as the evaluator.

Each example generates a small FHIR world (``strategies.worlds``) and a few queries over it,
writes the world to a fresh store per available backend, and compares each backend's answer
(page order, includes, next link, totals, all following pages, or the error) with the
reference evaluator's over the same stored resources. Failures that hypothesis shrinks are
turned into regular cases in ``src/helios_persistence/conformance/cases/``.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from helios_persistence.testing import queries as gen_queries
from helios_persistence.testing import resources as gen
from helios_persistence.testing.differential import agree, world_ids

try:
    from tests.property.support import describe, examples, loaded_stores
except ImportError:  # plain `pytest`: tests/ itself is on sys.path
    from property.support import describe, examples, loaded_stores  # type: ignore[no-redef]


@examples(60)
@given(world=gen.worlds(), data=st.data())
def test_search_agrees_with_evaluator(world: dict[str, Any], data: st.DataObject) -> None:
    describe(world)
    ids = world_ids(world)
    query = st.one_of(
        gen_queries.queries(ids),
        gen_queries.queries(ids),
        gen_queries.queries(ids),
        gen_queries.system_queries(ids),
    )
    queries = data.draw(st.lists(query, min_size=1, max_size=6), "queries")
    with loaded_stores(world) as loaded:
        for name, store, ctx, evaluator in loaded:
            for query in queries:
                agree(name, store, ctx, evaluator, query)
