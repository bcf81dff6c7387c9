"""IR nodes: frozen, hashable, deterministic S-expressions, and value-insensitive shapes."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from helios_persistence import ir

CODE = ir.TokenMatch("code", ir.TokenOp.EQ, "http://loinc.org", "8867-4")
DATE = ir.DateMatch("date", ir.Prefix.GE, 1577836800000000, 1609459200000000, "2020")
NAME = ir.StringMatch("name", ir.StringOp.STARTS, "smith")
QUERY = ir.Query(
    "Observation",
    ir.And((CODE, DATE, ir.Chain("subject", ("Patient",), NAME))),
    sort=(ir.SortKey("date", "date", True),),
    count=10,
    include=(ir.Include("Observation", "subject", "Patient"),),
)

NODES = [
    CODE,
    DATE,
    NAME,
    ir.NumberMatch("probability", ir.Prefix.GT, Decimal("0.8"), Decimal("0.75"), Decimal("0.85")),
    ir.QuantityMatch("value-quantity", ir.Prefix.LT, Decimal(5), Decimal("4.5"), Decimal("5.5")),
    ir.ReferenceMatch("subject", ir.ReferenceOp.EQ, "Patient", "1"),
    ir.UriMatch("url", ir.UriOp.BELOW, "http://x"),
    ir.Missing("name", "string", True),
    ir.Text(ir.TextKind.NARRATIVE, "cancer"),
    ir.Terminology("code", ir.TerminologyOp.IN, None, "http://vs"),
    ir.Composite("code-value-quantity", (CODE, DATE)),
    ir.Has("Observation", "subject", CODE),
    ir.Not(CODE),
    ir.Or((CODE, NAME)),
    QUERY,
]


@pytest.mark.parametrize("node", NODES, ids=lambda n: type(n).__name__)
def test_nodes_are_frozen_slotted_and_hashable(node: ir.Node) -> None:
    field = dataclasses.fields(node)[0].name
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(node, field, None)
    assert not hasattr(node, "__dict__")
    assert hash(node) == hash(dataclasses.replace(node))
    assert {node, dataclasses.replace(node)} == {node}


@pytest.mark.parametrize("node", NODES, ids=lambda n: type(n).__name__)
def test_children_are_tuples_and_operators_enums(node: ir.Node) -> None:
    for f in dataclasses.fields(node):
        value = getattr(node, f.name)
        assert not isinstance(value, list | dict | set)
        if f.name in ("op", "prefix"):
            assert isinstance(value, ir.Prefix | ir.StringOp | ir.TokenOp | ir.ReferenceOp
                              | ir.UriOp | ir.TerminologyOp)  # fmt: skip


def test_s_expressions() -> None:
    assert str(CODE) == '(TokenMatch code eq system="http://loinc.org" code="8867-4")'
    assert str(DATE) == '(DateMatch date ge "2020")'
    assert str(ir.Not(ir.Or((CODE, NAME)))) == (
        '(Not (Or (TokenMatch code eq system="http://loinc.org" code="8867-4") '
        '(StringMatch name starts value="smith")))'
    )
    assert str(QUERY) == (
        '(Query Observation (And (TokenMatch code eq system="http://loinc.org" code="8867-4") '
        '(DateMatch date ge "2020") (Chain subject target_types=("Patient") '
        '(StringMatch name starts value="smith"))) (SortKey date date descending=true) '
        'count=10 (Include Observation subject target_type="Patient"))'
    )
    # None, () and False are left out; strings are quoted with escapes
    assert str(ir.TokenMatch("code", ir.TokenOp.EQ, None, 'a"b\\c')) == (
        '(TokenMatch code eq code="a\\"b\\\\c")'
    )
    assert str(ir.Missing("name", "string", False)) == "(Missing name string)"
    assert str(ir.Query(None, types=("Patient", "Group"))) == '(Query types=("Patient" "Group"))'


def test_s_expressions_are_deterministic() -> None:
    rebuilt = dataclasses.replace(QUERY, where=dataclasses.replace(QUERY.where))
    assert rebuilt == QUERY and rebuilt is not QUERY
    assert str(rebuilt) == str(QUERY) == str(QUERY)


# -- shape keys ------------------------------------------------------------------------------


def token(system: str | None, code: str | None) -> ir.Query:
    return ir.Query("Observation", ir.TokenMatch("code", ir.TokenOp.EQ, system, code))


def test_shape_key_ignores_values() -> None:
    assert ir.shape_key(token("http://a", "1")) == ir.shape_key(token("http://b", "2"))
    assert ir.values(token("http://a", "1")) == ["http://a", "1"]
    assert ir.values(token("http://b", "2")) == ["http://b", "2"]
    other_date = ir.DateMatch("date", ir.Prefix.GE, 0, 86_400_000_000, "1970-01-01")
    assert ir.shape_key(other_date) == ir.shape_key(DATE)
    assert ir.shape_key(dataclasses.replace(QUERY, count=99)) == ir.shape_key(QUERY)


def test_shape_key_tells_none_empty_and_present_apart() -> None:
    """ "Any system" (None), "no system" ("") and "this system" compile differently."""
    shapes = {ir.shape_key(token(s, "1")) for s in (None, "", "http://a")}
    assert len(shapes) == 3
    assert ir.shape_key(token("http://a", None)) != ir.shape_key(token("http://a", "1"))
    assert ir.values(token("", "1")) == ["1"]  # blank values are not bound
    assert ir.shape_key(dataclasses.replace(QUERY, count=None)) != ir.shape_key(QUERY)


@pytest.mark.parametrize(
    "change",
    [
        lambda q: dataclasses.replace(q, resource_type="Encounter"),
        lambda q: dataclasses.replace(q, where=ir.Or(q.where.children)),
        lambda q: dataclasses.replace(q, where=ir.And(q.where.children[:2])),
        lambda q: dataclasses.replace(
            q, where=ir.And((dataclasses.replace(CODE, param="category"), *q.where.children[1:]))
        ),
        lambda q: dataclasses.replace(
            q, where=ir.And((dataclasses.replace(DATE, prefix=ir.Prefix.LT), *q.where.children[1:]))
        ),
        lambda q: dataclasses.replace(q, sort=()),
        lambda q: dataclasses.replace(q, include=()),
        lambda q: dataclasses.replace(q, total=ir.TotalMode.ACCURATE),
    ],
)
def test_shape_key_sees_everything_but_values(change) -> None:  # type: ignore[no-untyped-def]
    assert ir.shape_key(change(QUERY)) != ir.shape_key(QUERY)


def test_shape_keys_are_hashable_and_stable() -> None:
    key = ir.shape_key(QUERY)
    assert hash(key) == hash(ir.shape_key(dataclasses.replace(QUERY)))
    assert {key: 1}[ir.shape_key(dataclasses.replace(QUERY, count=3))] == 1


def test_value_index_positions_follow_values() -> None:
    index = ir.ValueIndex(QUERY)
    assert index.values == ir.values(QUERY)
    assert index.values[index.index(CODE, "system")] == "http://loinc.org"
    assert index.values[index.index(DATE, "low")] == DATE.low
    with pytest.raises(KeyError):
        index.index(CODE, "value")  # blank: not bound
    assert index.cacheable
    shared = ir.Query("Observation", ir.And((CODE, CODE)))
    assert not ir.ValueIndex(shared).cacheable  # one node object twice: positions ambiguous
