"""The IR rewrites of ``passes/``: each on its own (S-expressions), each a no-op returning the
same object when there is nothing to do, and each meaning-preserving: the reference evaluator
answers every generated query identically before and after."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import helios_persistence as hp
from helios_persistence import ir
from helios_persistence.conformance.evaluator import Evaluator
from helios_persistence.errors import InvalidSearch
from helios_persistence.passes import flatten, merge_chains
from helios_persistence.testing import queries as gen_queries
from helios_persistence.testing import resources as gen

try:
    from tests.property.support import examples
except ImportError:  # plain `pytest`: tests/ itself is on sys.path
    from property.support import examples  # type: ignore[no-redef]

A = ir.TokenMatch("status", ir.TokenOp.EQ, None, "final")
B = ir.TokenMatch("status", ir.TokenOp.EQ, None, "amended")
C = ir.StringMatch("name", ir.StringOp.STARTS, "smith")


def chain(where: ir.Predicate, target: str = "Patient") -> ir.Chain:
    return ir.Chain("subject", (target,), where)


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (ir.And((A, ir.And((B, C)))), ir.And((A, B, C))),
        (ir.Or((ir.Or((A, B)), C)), ir.Or((A, B, C))),
        (ir.And((A, A)), A),
        (ir.And((ir.Or((A, B)), ir.And((C,)))), ir.And((ir.Or((A, B)), C))),
        (chain(ir.And((C, ir.And((C, A))))), chain(ir.And((C, A)))),
    ],
)
def test_flatten(before: ir.Predicate, after: ir.Predicate) -> None:
    assert str(flatten(before)) == str(after)


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (ir.Or((chain(A), chain(B))), chain(ir.Or((A, B)))),
        (ir.Or((chain(A), C, chain(B))), ir.Or((chain(ir.Or((A, B))), C))),
        (ir.Or((chain(A), chain(B, "Group"))), ir.Or((chain(A), chain(B, "Group")))),
        (
            ir.Or((ir.Has("Observation", "subject", A), ir.Has("Observation", "subject", B))),
            ir.Has("Observation", "subject", ir.Or((A, B))),
        ),
    ],
)
def test_merge_chains(before: ir.Predicate, after: ir.Predicate) -> None:
    assert str(merge_chains(before)) == str(after)


def test_and_of_chains_is_not_merged() -> None:
    """Two conditions on a chain may hold on two different referenced resources."""
    both = ir.And((chain(A), chain(B)))
    assert merge_chains(both) is both


@pytest.mark.parametrize("rewrite", [flatten, merge_chains])
def test_nothing_to_do_returns_the_same_object(rewrite: Any) -> None:
    query = hp.parse("Observation?subject:Patient.name=x&status=final,amended&_sort=date")
    assert rewrite(query) is query


def _answer(evaluator: Evaluator, query: ir.Query) -> Any:
    try:
        return [d.key for d in evaluator.select(query)]
    except InvalidSearch as exc:
        return type(exc)


@examples(40)
@given(world=gen.worlds(), data=st.data())
def test_passes_keep_the_answer(world: dict[str, Any], data: st.DataObject) -> None:
    stamped = [
        {**r, "meta": {"versionId": "1", "lastUpdated": "2024-01-01T00:00:00Z"}}
        for r in world["resources"]
    ]
    evaluator = Evaluator(stamped)
    ids: dict[str, list[str]] = {}
    for r in world["resources"]:
        ids.setdefault(r["resourceType"], []).append(r["id"])
    text = data.draw(gen_queries.queries(ids), "query")
    try:
        query = hp.parse(text)
    except InvalidSearch:
        return
    expected = _answer(evaluator, query)
    for rewrite in (flatten, merge_chains):
        assert _answer(evaluator, rewrite(query)) == expected, rewrite.__name__
