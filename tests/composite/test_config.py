"""Composite configuration: the builder, dict and URL forms agree, and every invalid
configuration is refused with a clear InvalidComposite (a ValueError and a HeliosError)."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helios_persistence.composite import (
    CompositeConfig,
    HealthSettings,
    InvalidComposite,
    SyncSettings,
)
from helios_persistence.errors import HeliosError

try:
    from tests.composite.replica import Replica, TextReplicaCompiler
except ImportError:  # plain `pytest`: tests/ itself is on sys.path
    from composite.replica import Replica, TextReplicaCompiler  # type: ignore[no-redef]

PG = "postgresql://u@127.0.0.1/db"


def _url(**parts: str) -> str:
    return "composite://?" + "&".join(f"{k}={quote(v, safe='')}" for k, v in parts.items())


def test_builder_dict_and_url_forms_are_the_same_configuration() -> None:
    built = (
        CompositeConfig.builder()
        .primary("sqlite:///x.db")
        .sync("async")
        .options(max_ids=500, health=HealthSettings(interval=3, timeout=1))
        .build()
    )
    from_dict = CompositeConfig.from_dict(
        {"primary": "sqlite:///x.db", "sync": "async", "max_ids": 500,
         "health": {"interval": 3, "timeout": 1}}
    )  # fmt: skip
    from_url = CompositeConfig.from_url(
        _url(primary="sqlite:///x.db", sync="async", max_ids="500", interval="3", timeout="1")
    )
    assert built == from_dict == from_url
    assert CompositeConfig.from_dict(built.to_dict()) == built


@given(
    mode=st.sampled_from(["sync", "async", "hybrid"]),
    batch=st.integers(1, 10_000),
    max_ids=st.integers(1, 100_000),
    trim=st.booleans(),
)
def test_url_and_dict_round_trip(mode: str, batch: int, max_ids: int, trim: bool) -> None:
    config = CompositeConfig.from_url(
        _url(primary=PG, sync=mode, batch=str(batch), max_ids=str(max_ids), trim=str(trim))
    )
    assert config.sync == mode and config.max_ids == max_ids
    assert config.sync_settings == SyncSettings(batch=batch, trim=trim)
    assert CompositeConfig.from_dict(config.to_dict()) == config


def test_hybrid_makes_search_synchronous_and_graph_asynchronous() -> None:
    search, graph = Replica(TextReplicaCompiler), Replica()
    try:
        config = CompositeConfig.from_dict(
            {"primary": PG, "search": search, "graph": graph, "sync": "hybrid"}
        )
        modes = {s.role: s.mode for s in config.secondaries}
        assert modes == {"search": "sync", "graph": "async"}
        override = CompositeConfig.from_dict(
            {"primary": PG, "search": {"store": search, "sync": "async"}, "sync": "sync"}
        )
        assert override.secondaries[0].mode == "async"
    finally:
        search.close()
        graph.close()


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({}, "needs one primary"),
        ({"primary": "mysql://x/y"}, "must be SQLite or PostgreSQL"),
        ({"primary": PG, "search": "sqlite:///other.db"}, "a composite has one primary"),
        ({"primary": PG, "graph": PG}, "a composite has one primary"),
        ({"primary": PG, "sync": "eventually"}, "sync must be one of"),
        ({"primary": PG, "max_ids": 0}, "max_ids must be a positive integer"),
        ({"primary": PG, "on_bound": "drop"}, "on_bound and on_failure"),
        ({"primary": PG, "analytics": "x"}, "unknown composite option"),
        ({"primary": PG, "health": {"interval": 0}}, "must be positive"),
        ({"primary": PG, "health": {"failure_threshold": 0}}, "at least 1"),
        ({"primary": PG, "health": {"every": 3}}, "unknown HealthSettings option"),
        ({"primary": PG, "sync_settings": {"batch": 0}}, "batch must be at least 1"),
        ({"primary": PG, "sync_settings": {"trim": "maybe"}}, "true or false"),
        ({"primary": PG, "search": "mongodb://x"}, "no engine opens"),
        ({"primary": PG, "search": ""}, "names no store"),
    ],
)
def test_invalid_configurations_are_refused_clearly(config: dict, message: str) -> None:
    with pytest.raises(InvalidComposite, match=message) as info:
        CompositeConfig.from_dict(config)
    assert isinstance(info.value, HeliosError) and isinstance(info.value, ValueError)
    assert info.value.outcome["issue"][0]["code"] == "invalid"


def test_two_primaries_are_refused_in_every_form() -> None:
    with pytest.raises(InvalidComposite, match="two primaries"):
        CompositeConfig.from_url(_url(primary=PG) + "&primary=" + quote("sqlite://", safe=""))
    with pytest.raises(InvalidComposite, match="two primaries"):
        CompositeConfig.builder().primary(PG).primary("sqlite://").build()
    with pytest.raises(InvalidComposite, match="two search secondaries"):
        CompositeConfig.from_url(_url(primary=PG, search="x://a") + "&search=y")
    with pytest.raises(InvalidComposite, match="composite://"):
        CompositeConfig.from_url("postgresql://x/y")


def test_a_secondary_object_must_declare_what_its_role_needs() -> None:
    text_only = Replica(TextReplicaCompiler)
    try:
        with pytest.raises(InvalidComposite, match=r"cannot serve its role.*Chain, Has"):
            CompositeConfig.from_dict({"primary": PG, "graph": text_only})
        assert CompositeConfig.from_dict({"primary": PG, "search": text_only}).secondaries
        with pytest.raises(InvalidComposite, match="has no apply"):
            CompositeConfig.from_dict({"primary": PG, "search": text_only.store})
        with pytest.raises(InvalidComposite, match="two search secondaries"):
            CompositeConfig.builder().primary(PG).search(text_only).search(text_only).build()
    finally:
        text_only.close()


def test_the_seeds_configurations_and_no_others() -> None:
    es, neo = "elasticsearch://127.0.0.1:9200", "neo4j://127.0.0.1:7687"
    valid = [
        {"primary": "sqlite://"},
        {"primary": "sqlite://", "search": es},
        {"primary": PG, "graph": neo},
        {"primary": PG, "graph": "bolt://127.0.0.1:7687", "search": es},
        {"primary": PG, "search": es},
    ]
    for config in valid:
        assert CompositeConfig.from_dict(config).primary == config["primary"]
    with pytest.raises(InvalidComposite, match="graph secondary needs a postgres primary"):
        CompositeConfig.from_dict({"primary": "sqlite:///x.db", "graph": neo})
    with pytest.raises(InvalidComposite, match=r"Neo4j cannot be the search secondary.*graph"):
        CompositeConfig.from_dict({"primary": PG, "search": neo})
    with pytest.raises(InvalidComposite, match="Elasticsearch cannot be the graph secondary"):
        CompositeConfig.from_dict({"primary": PG, "graph": es})
    with pytest.raises(InvalidComposite, match="must be SQLite or PostgreSQL"):
        CompositeConfig.from_dict({"primary": es})
