"""PostgreSQL search specifics: same answers as SQLite on generated data, prepared statements
per query shape, the trigram and full-text indexes, PostgreSQL's storage limits."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest
from sqlite_helpers import patient

import helios_persistence as hp
from helios_persistence.errors import InvalidResource
from helios_persistence.generator import generate
from helios_persistence.tenancy import TenantContext

CTX = TenantContext.for_tenant("gen")

#: queries over the generator's data: every parameter type, modifiers, chains, _has,
#: includes, sorting, paging, totals, full text
QUERIES = [
    "Patient?name=gar", "Patient?name=iba%C3%B1ez", "Patient?name:exact=Smith",
    "Patient?name:contains=ll", "Patient?family=smith&_sort=birthdate,_id",
    "Patient?birthdate=ge1980&birthdate=lt1990&_sort=-birthdate", "Patient?gender=female&_count=7",
    "Patient?address-city:contains=a&_total=accurate", "Patient?_text=asthma",
    "Patient?_content=smith", "Observation?code=http://loinc.org|8867-4&_count=25",
    "Observation?code=8480-6,8462-4&_sort=-date&_count=30", "Observation?date=2020",
    "Observation?date=ge2019-06&date=lt2020-02&_sort=date", "Observation?value-quantity=gt70",
    "Observation?value-quantity=gt50|http://unitsofmeasure.org|kg&_count=500",
    "Observation?value-quantity=ap100", "Observation?component-code=8480-6",
    "Observation?code-value-quantity=http://loinc.org|8867-4$gt60",
    "Observation?subject:Patient.name=smith&_count=40",
    "Observation?subject:Patient.gender=male&category=vital-signs&_count=40",
    "Observation?code:text=blood&_count=20", "Observation?code:text-advanced=pressure&_count=20",
    "Observation?status:not=amended&_count=10", "Observation?encounter:missing=false&_count=9",
    "Observation?_lastUpdated=gt2000&_count=5&_sort=-_lastUpdated",
    "Patient?_has:Condition:patient:code=http://snomed.info/sct|44054006",
    "Encounter?status=finished&_include=Encounter:subject&_count=20",
    "Patient?_revinclude=Condition:patient&_count=5&name=a",
    "Encounter?_include=Encounter:subject&_include:iterate=Patient:organization&_count=10",
    "Condition?_filter=code eq http://snomed.info/sct|44054006 or patient.name co 'mi'",
    "Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|&_summary=count",
    "Organization?_id=org-001,org-002", "?_type=Patient,Practitioner&_sort=_id&_count=15",
]  # fmt: skip


@pytest.fixture(scope="module")
def loaded(pg_url: str, pg_db: Any) -> Iterator[tuple[Any, Any]]:
    """The same generated data in SQLite and in PostgreSQL."""
    import uuid

    from pg_helpers import drop_schemas

    resources = list(generate(patients=30, seed=11))
    schema = f"g{uuid.uuid4().hex[:10]}"
    sqlite = hp.open_store("sqlite://")
    pg = hp.open_store(f"{pg_url}?schema={schema}")
    for i in range(0, len(resources), 200):
        sqlite.bulk_update(CTX, resources[i : i + 200])
        pg.bulk_update(CTX, resources[i : i + 200])
    pg.optimize(CTX)
    try:
        yield sqlite, pg
    finally:
        sqlite.close()
        pg.close()
        drop_schemas(pg_db, schema)


def _pages(store: Any, query: str) -> tuple[list[list[str]], list[str], int | None]:
    result = store.search(CTX, query)
    pages, total = [result.ids], result.total
    included = sorted(f"{r['resourceType']}/{r['id']}" for r in result.included)
    while result.next is not None and len(pages) < 40:
        result = store.search(CTX, result.next)
        pages.append(result.ids)
    return pages, included, total


@pytest.mark.parametrize("query", QUERIES)
def test_same_answers_as_sqlite(loaded: tuple[Any, Any], query: str) -> None:
    sqlite, pg = loaded
    expected = _pages(sqlite, query)
    assert _pages(pg, query) == expected
    assert expected[0][0] or expected[2], f"{query} matches nothing: a weak case"


def test_read_back_equals_what_was_written(loaded: tuple[Any, Any]) -> None:
    sqlite, pg = loaded
    for rtype, rid in (("Patient", "p-000003"), ("Observation", "obs-000003-002")):
        mine, theirs = pg.read(CTX, rtype, rid), sqlite.read(CTX, rtype, rid)
        assert mine.resource == {**theirs.resource, "meta": mine.resource["meta"]}


def test_statements_are_prepared_per_query_shape(make_store: Any) -> None:
    store = make_store("pool_size=1&pool_min=1&prepare_threshold=2")
    for i in range(5):
        store.update(CTX, patient(id=f"p{i}", family=f"Family{i}"))
    texts = set()
    for i in range(4):  # one shape, different values
        result = store.search(CTX, f"Patient?name=family{i}&gender=female")
        texts.add(result.compiled)
    assert len(texts) == 1
    with store.read_session(CTX) as s:  # the single pooled connection
        names = s.conn.execute(
            "SELECT statement FROM pg_prepared_statements WHERE statement LIKE %s",
            ["%FROM resources AS r%idx_string%idx_token%"],
        ).fetchall()
    assert len(names) == 1  # prepared once, reused for every value


def test_contains_uses_the_trigram_index(loaded: tuple[Any, Any]) -> None:
    _, pg = loaded
    compiled = hp.compile(hp.parse("Patient?name:contains=mit"), dialect="postgres")
    with pg.read_session(CTX) as s:  # (on 30 patients the planner would rather scan)
        s.conn.execute("SET LOCAL enable_seqscan = off")
        s.conn.execute("SET LOCAL enable_indexscan = off")
        s.conn.execute("SET LOCAL enable_indexonlyscan = off")
        plan = "\n".join(
            r[0]
            for r in s.conn.execute(
                "EXPLAIN " + compiled.text, {**compiled.params, "tenant": "gen"}
            )
        )
    assert "idx_string_trgm" in plan


def test_text_uses_the_gin_index(loaded: tuple[Any, Any]) -> None:
    _, pg = loaded
    compiled = hp.compile(hp.parse("Patient?_content=smith"), dialect="postgres")
    with pg.read_session(CTX) as s:
        s.conn.execute("SET LOCAL enable_seqscan = off")
        plan = "\n".join(
            r[0]
            for r in s.conn.execute(
                "EXPLAIN " + compiled.text, {**compiled.params, "tenant": "gen"}
            )
        )
    assert "resource_text_content" in plan


def test_long_values_are_stored_and_found_by_prefix(store: Any) -> None:
    rng = random.Random(3)
    long = "Ab" + "".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=5000))
    store.update(CTX, patient(id="long", family=long))
    assert store.search(CTX, "Patient?name=ab").ids == ["Patient/long"]
    assert store.search(CTX, f"Patient?name:exact={long}").ids == ["Patient/long"]
    assert store.read(CTX, "Patient", "long").resource["name"][0]["family"] == long


def test_nul_characters_are_refused(store: Any) -> None:
    with pytest.raises(InvalidResource, match="U\\+0000"):
        store.update(CTX, patient(id="nul", family="a\x00b"))
    store.update(CTX, patient(id="ok", family="a\\u0000b"))  # a backslash, then text
    assert store.read(CTX, "Patient", "ok").resource["name"][0]["family"] == "a\\u0000b"


def test_huge_narratives(store: Any) -> None:
    words = " ".join(f"w{i % 500} filler" for i in range(20000))
    text = {"status": "generated", "div": f"<div>{words} needle</div>"}
    store.update(CTX, patient(id="big", text=text))
    assert store.search(CTX, "Patient?_text=needle").ids == ["Patient/big"]
    assert store.search(CTX, "Patient?_text=w499").ids == ["Patient/big"]


def test_compile_for_postgres_binds_every_value() -> None:
    q = hp.parse("Patient?name:contains=o'brien%25&_text=heart OR lung&birthdate=ge2001")
    compiled = hp.compile(q, dialect="postgres")
    assert "brien" not in compiled.text and "heart" not in compiled.text
    assert "2001" not in compiled.text and "Patient" not in compiled.text
    assert "%(p" in compiled.text and "CAST(%(" in compiled.text
    assert "('heart' | 'lung')" in compiled.params.values()
