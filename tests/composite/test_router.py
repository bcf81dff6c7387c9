"""The analyzer and the router over real compilers' declarations and bound IR."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import helios_persistence as hp
from helios_persistence import ir
from helios_persistence.compilers import get_compiler
from helios_persistence.composite import DEFAULT_COSTS, CostModel, analyze, route
from helios_persistence.composite.analyzer import FEATURES, conjuncts, feature_of
from helios_persistence.composite.router import Candidate, involved_types
from helios_persistence.passes import flatten
from helios_persistence.storage.sync import Change
from helios_persistence.testing.ir_strategies import queries

try:
    from tests.composite.replica import CHEAP, ReplicaCompiler, TextReplicaCompiler
except ImportError:  # plain `pytest`: tests/ itself is on sys.path
    from composite.replica import (  # type: ignore[no-redef]
        CHEAP,
        ReplicaCompiler,
        TextReplicaCompiler,
    )

SEED = (
    "Observation?patient.name:contains=smith&_text=cardiac"
    "&code:below=http://loinc.org|8867-4&_include=Observation:patient"
)
SEARCH = Candidate("search", "replica-text", TextReplicaCompiler)
GRAPH = Candidate("graph", "replica", ReplicaCompiler)


def test_features_of_the_seed_query() -> None:
    f = analyze(hp.parse(SEED))
    assert (f.chains, f.chain_depth, f.text, f.terminology, f.includes) == (1, 1, 1, 1, 1)
    assert f.kinds == ("chain", "text", "terminology", "include", "plain")
    assert f.parts == 3
    plain = analyze(hp.parse("Observation?code=http://loinc.org|8867-4"))
    assert plain.kinds == ("plain",) and plain.complexity == 1
    assert f.complexity > plain.complexity
    deeper = analyze(hp.parse("Observation?patient.organization.name=x"))
    assert deeper.chain_depth == 2
    has = analyze(hp.parse("Patient?_has:Observation:patient:code=1234&_sort=-birthdate"))
    assert (has.has, has.sort, has.kinds) == (1, 1, ("has", "sort", "plain"))
    assert analyze(hp.parse("Patient")).complexity == 0


@settings(max_examples=25, deadline=None)
@given(
    q=queries(),
    extra=st.sampled_from(["_text=cardiac", "gender=male", "general-practitioner.name=x"]),
)
def test_complexity_grows_with_every_condition(q: ir.Query, extra: str) -> None:
    if q.resource_type != "Patient":
        return
    more = hp.parse(f"Patient?{extra}").where
    assert more is not None
    where = more if q.where is None else ir.And((q.where, more))
    assert (
        analyze(ir.Query("Patient", where=where)).complexity
        > analyze(ir.Query("Patient", where=q.where)).complexity
    )


def test_the_seed_query_is_split_by_capability_and_cost() -> None:
    q = flatten(hp.parse(SEED))
    r = route(q, "postgres", [SEARCH, GRAPH], CHEAP)
    where = {p.feature: p.backend for p in r.parts}
    assert where == {"chain": "graph", "text": "search", "terminology": "search"}
    assert r.strategy == "primary-enriched"
    # the search secondary declares chains unsupported: with it alone they stay home
    alone = route(q, "postgres", [SEARCH], CHEAP)
    chain = next(p for p in alone.parts if p.feature == "chain")
    assert chain.backend == "primary" and "does not support Chain" in chain.reason
    assert alone.strategy == "intersection"


def test_cost_decides_between_supporting_backends() -> None:
    q = hp.parse("Patient?_text=diabetes&gender=male")
    r = route(q, "sqlite", [SEARCH], CHEAP)
    assert [p.backend for p in r.parts] == ["search", "primary"]  # plain: primary cheaper
    dear = CostModel(cost={"sqlite": {"text": 1.0}, "replica-text": {"text": 5.0}})
    r = route(q, "sqlite", [SEARCH], dear)
    assert r.strategy == "primary-only"
    assert "the primary is cheaper for text" in r.parts[0].reason
    # unknown costs never route: an engine's missing feature is an infinite cost
    assert route(q, "sqlite", [SEARCH], CostModel()).strategy == "primary-only"
    assert math.isinf(CostModel().secondary("replica-text", "text"))


def test_real_compilers_declarations_route() -> None:
    """The real secondaries' compilers: the seed's query puts its chain on Neo4j, its full
    text on Elasticsearch, and keeps terminology (which neither lowers) on the primary."""
    es = Candidate("search", "elasticsearch", type(get_compiler("elasticsearch")))
    neo = Candidate("graph", "cypher", type(get_compiler("cypher")))
    costs = CostModel(cost={"postgres": dict.fromkeys(FEATURES, 9.0),
                            "elasticsearch": dict.fromkeys(FEATURES, 1.0),
                            "cypher": dict.fromkeys(FEATURES, 1.0)})  # fmt: skip
    r = route(hp.parse(SEED), "postgres", [neo, es], costs)
    by_feature = {p.feature: p for p in r.parts}
    assert by_feature["chain"].backend == "graph"
    assert by_feature["text"].backend == "search"
    assert by_feature["terminology"].backend == "primary"
    assert "search does not support Terminology" in by_feature["terminology"].reason
    assert "the ValueSet expansions" in by_feature["terminology"].reason  # cypher's reason
    assert r.strategy == "intersection"
    # a date search is a declared inexact part on Elasticsearch: never routed there, however cheap
    dated = route(hp.parse("Observation?date=ge2020&_text=y"), "postgres", [es], costs)
    by_feature = {p.feature: p for p in dated.parts}
    assert by_feature["text"].backend == "search"
    date_part = next(p for p in dated.parts if p.feature != "text")
    assert date_part.backend == "primary"
    assert "search is not exact here: a Period whose start is after its end" in date_part.reason


def test_disjunctions_stay_whole_or_become_a_union() -> None:
    chain = hp.parse("Patient?general-practitioner.name=x").where
    text = hp.parse("Patient?_text=y").where
    assert chain is not None and text is not None
    q = ir.Query("Patient", where=ir.Or((chain, text)))
    # the graph lowers both alternatives: the Or goes to it whole
    both = route(q, "sqlite", [SEARCH, GRAPH], CHEAP)
    assert [p.backend for p in both.parts] == ["graph"]
    # nobody lowers it whole, each alternative has a secondary: union
    text_only_graph = Candidate("graph", "replica", TextReplicaCompiler)
    chain_only = Candidate("search", "replica", _ChainOnly)
    union = route(q, "sqlite", [text_only_graph, chain_only], CHEAP)
    assert union.strategy == "union"
    assert sorted(b for _, b in union.parts[0].alternatives) == ["graph", "search"]
    # an alternative no secondary answers: the whole Or stays on the primary
    mixed = flatten(hp.parse("Patient?_filter=" + "general-practitioner.name eq x or gender eq m"))
    assert route(mixed, "sqlite", [SEARCH], CHEAP).strategy == "primary-only"


class _ChainOnly(ReplicaCompiler):
    dialect = "replica"
    UNSUPPORTED = frozenset({ir.Text})


def test_system_searches_and_no_secondaries_stay_on_the_primary() -> None:
    r = route(hp.parse("?_type=Patient&_text=x"), "sqlite", [SEARCH], CHEAP)
    assert r.strategy == "primary-only" and "system search" in r.notes[0]
    assert route(hp.parse("Patient?_text=x"), "sqlite", [], CHEAP).strategy == "primary-only"


def _change(rtype: str, rid: str) -> Change:
    return Change(1, "t", rtype, rid, 2, "upsert", 0, {})


def test_lag_routes_around_what_it_touches() -> None:
    q = flatten(hp.parse("Observation?patient.name=smith&_text=cardiac"))
    # pending Observation changes: both parts still routed, those ids rechecked on the primary
    lagging = Candidate(
        "graph", "replica", ReplicaCompiler, pending=(_change("Observation", "o1"),)
    )
    r = route(q, "sqlite", [lagging], CHEAP)
    assert all(p.backend == "graph" and p.recheck == {"o1"} for p in r.parts)
    # a pending Patient change: the chain (it reads Patients) goes to the primary, text stays
    patient = Candidate("graph", "replica", ReplicaCompiler, pending=(_change("Patient", "p1"),))
    r = route(q, "sqlite", [patient], CHEAP)
    assert {p.feature: p.backend for p in r.parts} == {"chain": "primary", "text": "graph"}
    assert "unapplied changes of Patient" in r.parts[0].reason
    # too many pending, or unhealthy: nothing routed
    assert route(q, "sqlite", [Candidate("g", "replica", ReplicaCompiler, pending=None)],
                 CHEAP).strategy == "primary-only"  # fmt: skip
    sick = Candidate("graph", "replica", ReplicaCompiler, unusable="graph is unhealthy (x)")
    r = route(q, "sqlite", [sick], CHEAP)
    assert r.strategy == "primary-only" and "unhealthy" in r.parts[0].reason


def test_involved_types_follow_chains_and_has() -> None:
    q = hp.parse("Patient?_has:Observation:patient:performer:Practitioner.name=x")
    assert involved_types(q.where, "Patient") == {"Patient", "Observation", "Practitioner"}


@settings(max_examples=60, deadline=None)
@given(q=queries())
def test_the_parts_partition_the_conjunction(q: ir.Query) -> None:
    """Whatever the query, the router assigns every conjunct exactly once, never splits an
    Or across the primary and a secondary, and sends a secondary only what it supports."""
    q = flatten(q)
    r = route(q, "sqlite", [SEARCH, GRAPH], CHEAP)
    assert tuple(p.predicate for p in r.parts) == conjuncts(q.where)
    compilers = {"search": TextReplicaCompiler, "graph": ReplicaCompiler}
    for p in r.parts:
        assert p.feature == feature_of(p.predicate)
        if p.backend in compilers:
            assert compilers[p.backend].supports(ir.Query(q.resource_type, where=p.predicate))
        if p.backend == "union":
            assert isinstance(p.predicate, ir.Or)
            for alternative, role in p.alternatives:
                assert compilers[role].supports(ir.Query(q.resource_type, where=alternative))
    if q.resource_type is None:
        assert r.strategy == "primary-only"


def test_default_costs_cover_every_engine_of_the_table() -> None:
    from helios_persistence.engines import ENGINES

    for name in ENGINES:
        if name == "duckdb":  # analytics: never a composite member
            continue
        assert DEFAULT_COSTS.cost[name], name
    assert DEFAULT_COSTS.part("sqlite", "plain") < DEFAULT_COSTS.secondary("elasticsearch", "plain")


def test_with_benchmarks_reads_the_bench_json(tmp_path) -> None:
    import json

    (tmp_path / "other.json").write_text(json.dumps({"title": "x", "rows": []}))
    (tmp_path / "composite.json").write_text(json.dumps({"title": "composite", "costs": {
        "cost": {"postgres": {"text": 7.5, "bogus": 1}, "elasticsearch": {"text": 0.5}},
        "call": {"elasticsearch": 0.25}, "per_id": {"elasticsearch": 0.001}}}))  # fmt: skip
    model = DEFAULT_COSTS.with_benchmarks(tmp_path)
    assert model.part("postgres", "text") == 7.5
    assert model.part("postgres", "chain") == DEFAULT_COSTS.part("postgres", "chain")
    assert model.secondary("elasticsearch", "text") == pytest.approx(0.5 + 0.25 + 0.2)
    assert "composite.json" in model.source and "bogus" not in model.cost["postgres"]
    with pytest.raises(ValueError, match="no benchmark costs"):
        DEFAULT_COSTS.with_benchmarks(tmp_path / "other.json")
