"""PostgreSQL write path: binary COPY types, binary tsvectors, and planner statistics after
bulk loads (a query right after a load must not be planned on missing statistics)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from psycopg import sql
from sqlite_helpers import patient

from helios_persistence.backends.postgres import statistics, text
from helios_persistence.backends.postgres.schema import migrate
from helios_persistence.backends.postgres.tx import _COLUMNS, TYPES, adapt
from helios_persistence.generator import generate
from helios_persistence.indexing.text_tokens import words_of
from helios_persistence.tenancy import TenantContext

#: texts for the tsvector checks: ASCII and not, repeats, long words, many words
TEXTS = [
    "",
    "   ",
    "Blood pressure panel with all children optional",
    "Søren White, male, born 1992-02-20. History of asthma.",
    "ÉCOLE straße ﬁne naïve café Œuvre",
    "the the the the running runs ran",
    "x" * 600 + " short " + "é" * 1100,
    " ".join(f"w{i % 37}" for i in range(300)),
    " ".join(["same"] * 400),
    " ".join(f"word{i}" for i in range(17000)),
    "日本語のテキスト and mixed 123 numbers 4.5 / 6_7",
]


@pytest.fixture(scope="module")
def conn(pg_url: str) -> Any:
    with psycopg.connect(pg_url, autocommit=True) as c:
        adapt(c)
        yield c


def test_copy_types_are_the_schema_column_types(pg_db: Any) -> None:
    """Binary COPY applies no casts: every declared type must be the column's own."""
    schema = f"t{uuid.uuid4().hex[:10]}"
    migrate(pg_db, schema)
    try:
        for table, columns in _COLUMNS.items():
            found = dict(
                pg_db.execute(
                    "SELECT a.attname, format_type(a.atttypid, NULL) FROM pg_attribute a "
                    "WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped",
                    [f'"{schema}".{table}'],
                ).fetchall()
            )
            declared = [
                {"int4": "integer", "int8": "bigint", "int2": "smallint",
                 "float8": "double precision"}.get(t, t)
                for t in TYPES[table]
            ]  # fmt: skip
            assert [found[c] for c in columns] == declared, table
    finally:
        pg_db.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


@pytest.mark.parametrize("value", TEXTS)
def test_binary_tsvector_is_the_literal(conn: Any, value: str) -> None:
    """The binary tsvector and the text literal of the same words are the same value."""
    binary, literal = conn.execute(
        "SELECT %s::text, %s::tsvector::text", [text.tsvector(value), text.literal(value)]
    ).fetchone()
    assert binary == literal
    assert text.tsvector(value) == text.tsvector(value)  # memoised or not


def test_binary_tsvector_matches_the_stems(conn: Any) -> None:
    value = "Running runners ran; the RUNNER's run"
    got = conn.execute("SELECT %s::text", [text.tsvector(value)]).fetchone()[0]
    assert got == "'ran':3 'run':1,7 'runner':2,5 's':6 'the':4"  # no stop words
    assert [w.split(":")[0].strip("'") for w in text.literal(value).split()] == list(
        dict.fromkeys(words_of(value))
    )


def test_long_values_by_copy(store: Any) -> None:
    """A bulk load large enough for COPY cuts long indexed values as the small path does."""
    ctx = TenantContext.for_tenant("long")
    long = "Ab" + "é" * 3000
    code = "c" * 3000
    patients = [
        patient(id=f"p{i}", family=f"{long}{i}", identifier=[{"system": "s", "value": code}])
        for i in range(80)
    ]
    store.bulk_update(ctx, patients)
    assert len(store.search(ctx, "Patient?name=ab&_count=100").ids) == 80
    assert store.search(ctx, f"Patient?name:exact={long}7").ids == ["Patient/p7"]
    assert store.read(ctx, "Patient", "p7").resource["name"][0]["family"] == f"{long}7"
    assert len(store.search(ctx, "Patient?identifier=s|&_count=100").ids) == 80


# -- planner statistics after bulk loads ---------------------------------------------------------
SLOW_PLAN_QUERY = "Observation?subject.family=Smith&_count=0&_total=accurate"


def _bounded_search(store: Any, ctx: TenantContext, query: str) -> Any:
    """``query``'s result; a plan made on default estimates ran for minutes here, and fails
    the test with ``QueryTimeout`` (a guard, not a timing: ``bench/`` measures speed)."""
    return store.search(ctx, query, timeout_ms=20_000)


def _reltuples(pg_db: Any, schema: str, table: str) -> float:
    row = pg_db.execute(
        "SELECT c.reltuples FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relname = %s",
        [schema, table],
    ).fetchone()
    return float(row[0])


def test_queries_after_a_bulk_load_have_statistics(
    make_store: Callable[..., Any], pg_db: Any
) -> None:
    """2,400 Observations bulk-loaded into a new schema, queried at once (no optimize(), no
    autovacuum yet): the chained count ran for minutes on the default estimates."""
    schema = f"s{uuid.uuid4().hex[:10]}"
    store = make_store(schema=schema)
    ctx = TenantContext.for_tenant("load")
    resources = list(generate(patients=170, seed=7))
    for i in range(0, len(resources), 1000):
        store.bulk_update(ctx, resources[i : i + 1000])
    for table in ("resources", "idx_reference", "idx_string", "idx_token"):
        assert _reltuples(pg_db, schema, table) > 0, f"{table} was not analysed"
    assert _bounded_search(store, ctx, SLOW_PLAN_QUERY).total > 100
    query = "Observation?code=8867-4&_count=1000&_total=accurate"
    assert _bounded_search(store, ctx, query).total > 100


def test_a_new_tenant_is_analysed(make_store: Callable[..., Any], pg_db: Any) -> None:
    """A tenant loaded into shared tables whose statistics predate it: the planner would
    take it for empty (one row per table), so its first large write analyses them."""
    schema = f"s{uuid.uuid4().hex[:10]}"
    store = make_store(schema=schema)
    first, second = TenantContext.for_tenant("first"), TenantContext.for_tenant("second")
    store.bulk_update(first, list(generate(patients=120, seed=3)))
    store.optimize(first)  # fresh statistics, with only the first tenant in them
    resources = list(generate(patients=170, seed=7))
    for i in range(0, len(resources), 1000):
        store.bulk_update(second, resources[i : i + 1000])
    estimate = statistics._estimate(pg_db, schema, "second", "Observation")
    assert estimate is not None and estimate > 500
    assert _bounded_search(store, second, SLOW_PLAN_QUERY).total > 100


def test_small_writes_do_not_analyse(make_store: Callable[..., Any], pg_db: Any) -> None:
    """Below ``MIN_ROWS`` written rows, no statistics are checked (nor tables analysed)."""
    schema = f"s{uuid.uuid4().hex[:10]}"
    store = make_store(schema=schema)
    ctx = TenantContext.for_tenant("few")
    store.bulk_update(ctx, list(generate(patients=1, seed=5))[:3])
    assert _reltuples(pg_db, schema, "resources") < 0  # never analysed
    assert statistics.MIN_ROWS > 100


def test_multi_column_statistics_are_mcv_lists(pg_db: Any) -> None:
    """Migration 005: no functional dependencies (most of ANALYZE's cost), MCV lists kept."""
    schema = f"t{uuid.uuid4().hex[:10]}"
    migrate(pg_db, schema)
    try:
        kinds = pg_db.execute(
            "SELECT s.stxname, s.stxkind::text FROM pg_statistic_ext s "
            "JOIN pg_namespace n ON n.oid = s.stxnamespace WHERE n.nspname = %s",
            [schema],
        ).fetchall()
        assert len(kinds) == 8
        assert {kind for _, kind in kinds} == {"{m}"}
    finally:
        pg_db.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


def test_statistics_failures_do_not_fail_committed_writes(caplog: Any) -> None:
    """The writes are committed when the statistics are checked: errors are only logged."""
    from contextlib import contextmanager

    @contextmanager
    def broken(tenant: str) -> Any:
        raise psycopg.OperationalError("server gone")
        yield

    stats = statistics.Statistics(broken)
    stats.written("t", {"idx_token": statistics.MIN_ROWS - 1}, {"Observation": 10})
    stats.written("t", {"idx_token": 1}, {})  # reaches MIN_ROWS: checks, fails, logs
    assert "server gone" in caplog.text
