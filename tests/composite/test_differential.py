"""The differential property tests on every composite configuration (``slow`` backends of
``tests/conformance/backends.py``): each must answer exactly as the reference evaluator,
with every part a secondary lowers routed to it."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helios_persistence.testing import queries as gen_queries
from helios_persistence.testing import resources as gen
from helios_persistence.testing.differential import agree, world_ids

try:
    from tests.property.support import available, describe, examples, loaded_stores
except ImportError:  # plain `pytest`: tests/ itself is on sys.path
    from property.support import (  # type: ignore[no-redef]
        available,
        describe,
        examples,
        loaded_stores,
    )

pytestmark = pytest.mark.slow


@examples(30)
@given(world=gen.worlds(), data=st.data())
def test_composites_agree_with_the_evaluator(world: dict[str, Any], data: st.DataObject) -> None:
    if not available(slow=True):
        pytest.skip("no composite configuration's services are running")
    describe(world)
    ids = world_ids(world)
    query = st.one_of(gen_queries.queries(ids), gen_queries.queries(ids),
                      gen_queries.system_queries(ids))  # fmt: skip
    queries = data.draw(st.lists(query, min_size=1, max_size=6), "queries")
    with loaded_stores(world, slow=True) as loaded:
        for name, store, ctx, evaluator in loaded:
            for q in queries:
                agree(name, store, ctx, evaluator, q)
