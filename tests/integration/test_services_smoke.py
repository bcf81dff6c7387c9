"""Smoke tests against the real servers that ``scripts/services up`` starts.

One test per server, each exercising the feature the backend relies on: JSONB containment on a
GIN index plus pg_trgm/unaccent (PostgreSQL), nodes and relationships over Bolt (Neo4j), and a
keyword+text mapping searched with a bool query (Elasticsearch). Without a server the test is
skipped, or failed when HELIOS_REQUIRE_SERVICES is set (see tests/services.py).
"""

from __future__ import annotations

import uuid

import pytest

pytestmark = pytest.mark.services

FHIR_DOCS = [
    {
        "resourceType": "Patient",
        "id": "p1",
        "gender": "female",
        "name": [{"family": "Müller", "given": ["Anna"]}],
    },
    {
        "resourceType": "Patient",
        "id": "p2",
        "gender": "male",
        "name": [{"family": "Smith", "given": ["John"]}],
    },
    {
        "resourceType": "Observation",
        "id": "o1",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
        "subject": {"reference": "Patient/p1"},
    },
    {
        "resourceType": "Observation",
        "id": "o2",
        "status": "preliminary",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
        "subject": {"reference": "Patient/p2"},
    },
    {
        "resourceType": "Observation",
        "id": "o3",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9"}]},
        "subject": {"reference": "Patient/p2"},
    },
]


def test_postgres_jsonb_gin_containment(postgres_url: str) -> None:
    import psycopg
    from psycopg.types.json import Jsonb

    with psycopg.connect(postgres_url, connect_timeout=5) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        conn.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
        folded = conn.execute("SELECT lower(unaccent(%s))", ("Müller",)).fetchone()
        assert folded == ("muller",)
        sim = conn.execute("SELECT similarity('smith', 'smyth') > 0.2").fetchone()
        assert sim == (True,)

        conn.execute(
            "CREATE TEMP TABLE smoke_resource (id text PRIMARY KEY, res jsonb NOT NULL)"
            " ON COMMIT DROP"
        )
        conn.execute(
            "CREATE INDEX smoke_resource_res_gin ON smoke_resource USING gin (res jsonb_path_ops)"
        )
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO smoke_resource (id, res) VALUES (%s, %s)",
                [(doc["id"], Jsonb(doc)) for doc in FHIR_DOCS],
            )

        def ids(pattern: dict[str, object]) -> list[str]:
            rows = conn.execute(
                "SELECT id FROM smoke_resource WHERE res @> %s ORDER BY id", (Jsonb(pattern),)
            ).fetchall()
            return [row[0] for row in rows]

        assert ids({"resourceType": "Patient", "gender": "female"}) == ["p1"]
        loinc_hr = {"code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]}}
        assert ids(loinc_hr) == ["o1", "o2"]
        assert ids({**loinc_hr, "status": "final"}) == ["o1"]
        assert ids({"subject": {"reference": "Patient/p2"}}) == ["o2", "o3"]
        assert ids({"resourceType": "Encounter"}) == []

        # The containment query can be answered from the GIN index.
        conn.execute("SET LOCAL enable_seqscan = off")
        plan = "\n".join(
            row[0]
            for row in conn.execute(
                "EXPLAIN SELECT id FROM smoke_resource WHERE res @> %s",
                (Jsonb({"status": "final"}),),
            ).fetchall()
        )
        assert "smoke_resource_res_gin" in plan, plan
        conn.rollback()


def test_neo4j_nodes_and_relationship(neo4j_url: str) -> None:
    from neo4j import GraphDatabase

    try:
        from tests.services import split_neo4j_auth
    except ImportError:
        from services import split_neo4j_auth  # type: ignore[no-redef]

    url, auth = split_neo4j_auth(neo4j_url)
    tag = f"smoke-{uuid.uuid4().hex}"
    with GraphDatabase.driver(url, auth=auth) as driver:
        try:
            driver.execute_query(
                "CREATE (p:SmokePatient {id: 'p1', family: 'Smith', tag: $tag})"
                " <-[:SUBJECT {path: 'Observation.subject'}]-"
                " (o:SmokeObservation {id: 'o1', code: '8867-4', tag: $tag})",
                tag=tag,
            )
            records = driver.execute_query(
                "MATCH (o:SmokeObservation {tag: $tag})-[r:SUBJECT]->(p:SmokePatient {tag: $tag})"
                " RETURN o.id AS obs, o.code AS code, type(r) AS rel, r.path AS path,"
                " p.id AS patient, p.family AS family",
                tag=tag,
            ).records
            assert [record.data() for record in records] == [
                {
                    "obs": "o1",
                    "code": "8867-4",
                    "rel": "SUBJECT",
                    "path": "Observation.subject",
                    "patient": "p1",
                    "family": "Smith",
                }
            ]
            # No edge the other way round.
            reverse = driver.execute_query(
                "MATCH (:SmokePatient {tag: $tag})-[r]->(:SmokeObservation {tag: $tag})"
                " RETURN count(r) AS n",
                tag=tag,
            ).records
            assert reverse[0]["n"] == 0
        finally:
            driver.execute_query("MATCH (n {tag: $tag}) DETACH DELETE n", tag=tag)
        left = driver.execute_query("MATCH (n {tag: $tag}) RETURN count(n) AS n", tag=tag).records
        assert left[0]["n"] == 0


def test_elasticsearch_mapping_and_bool_query(elasticsearch_url: str) -> None:
    from elasticsearch import Elasticsearch

    index = f"helios-smoke-{uuid.uuid4().hex[:12]}"
    docs = {
        "o1": {"resourceType": "Observation", "status": "final", "text": "Heart rate at rest"},
        "o2": {"resourceType": "Observation", "status": "preliminary", "text": "Heart rate"},
        "o3": {"resourceType": "Observation", "status": "final", "text": "Blood pressure"},
        "c1": {"resourceType": "Condition", "status": "final", "text": "Heart failure"},
    }
    es = Elasticsearch(elasticsearch_url, request_timeout=30)
    try:
        es.indices.create(
            index=index,
            settings={"number_of_shards": 1, "number_of_replicas": 0},
            mappings={
                "dynamic": "strict",
                "properties": {
                    "resourceType": {"type": "keyword"},
                    "status": {"type": "keyword"},
                    "text": {"type": "text"},
                },
            },
        )
        mapping = es.indices.get_mapping(index=index)[index]["mappings"]["properties"]
        assert mapping["resourceType"]["type"] == "keyword"
        assert mapping["text"]["type"] == "text"

        for doc_id, doc in docs.items():
            es.index(index=index, id=doc_id, document=doc)
        es.indices.refresh(index=index)
        assert es.count(index=index)["count"] == len(docs)

        resp = es.search(
            index=index,
            query={
                "bool": {
                    "must": [{"match": {"text": "heart"}}],
                    "filter": [
                        {"term": {"resourceType": "Observation"}},
                        {"term": {"status": "final"}},
                    ],
                }
            },
        )
        hits = resp["hits"]["hits"]
        assert [hit["_id"] for hit in hits] == ["o1"]
        assert resp["hits"]["total"]["value"] == 1
        assert hits[0]["_source"] == docs["o1"]

        # A keyword field matches exactly: no analysis, case-sensitive.
        resp = es.search(index=index, query={"term": {"resourceType": "observation"}})
        assert resp["hits"]["total"]["value"] == 0
    finally:
        es.options(ignore_status=404).indices.delete(index=index)
        es.close()
