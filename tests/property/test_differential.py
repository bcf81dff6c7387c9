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

try:
    from tests.property import queries as gen_queries
    from tests.property import strategies as gen
    from tests.property.support import agree, describe, examples, loaded_stores
except ImportError:  # plain `pytest`: tests/ itself is on sys.path
    from property import queries as gen_queries  # type: ignore[no-redef]
    from property import strategies as gen  # type: ignore[no-redef]
    from property.support import (  # type: ignore[no-redef]
        agree,
        describe,
        examples,
        loaded_stores,
    )


def _ids(world: dict[str, Any]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for r in world["resources"]:
        out.setdefault(r["resourceType"], []).append(r["id"])
    return out


@examples(60)
@given(world=gen.worlds(), data=st.data())
def test_search_agrees_with_evaluator(world: dict[str, Any], data: st.DataObject) -> None:
    describe(world)
    ids = _ids(world)
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
