"""The Neo4j store as a secondary: versions applied idempotently (any order, any repetition,
deletions are versions too), rebuilt from a primary, searched; standalone it refuses CRUD."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import helios_persistence as hp
from helios_persistence.errors import InvalidStoreURL, OperationNotSupported, Unavailable
from helios_persistence.storage.sync import ApplyReport, Change, compare, rebuild, replicate

try:
    from tests.integration.neo4j.conftest import neo4j_url
    from tests.storage.test_sync_helpers import VersionTable
except ImportError:  # plain `pytest`: tests/ itself is on sys.path
    from integration.neo4j.conftest import neo4j_url  # type: ignore[no-redef]
    from storage.test_sync_helpers import VersionTable  # type: ignore[no-redef]

pytestmark = pytest.mark.services

CTX = hp.TenantContext.for_tenant("acme")


def patient(pid: str, family: str, version: int = 1, **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Patient", "id": pid, "name": [{"family": family}],
        "meta": {"versionId": str(version), "lastUpdated": "2024-01-02T03:04:05Z"}, **extra,
    }  # fmt: skip


def upsert(pid: str, version: int, family: str | None = None) -> Change:
    resource = patient(pid, family or f"v{version}", version)
    return Change(0, "acme", "Patient", pid, version, "upsert", 0, resource)


def delete(pid: str, version: int) -> Change:
    return Change(0, "acme", "Patient", pid, version, "delete", 0)


def families(graph: Any, query: str = "Patient?_sort=_id") -> list[str]:
    return [r["name"][0]["family"] for r in graph.search(CTX, query).resources]


def test_apply_is_idempotent_by_version(graph: Any) -> None:
    report = graph.apply(CTX, [upsert("a", 2), upsert("a", 1), upsert("b", 1)])
    assert (report.applied, report.stale, report.failed) == (2, 1, [])
    assert graph.versions(CTX) == {("Patient", "a"): 2, ("Patient", "b"): 1}
    again = graph.apply(CTX, [upsert("a", 2), upsert("b", 1)])
    assert (again.applied, again.stale) == (0, 2)
    assert families(graph) == ["v2", "v1"]
    assert families(graph, "Patient?family=v2") == ["v2"]
    assert families(graph, "Patient?family=v1") == ["v1"]  # b's, not a's old values


def test_a_deletion_is_a_version(graph: Any) -> None:
    graph.apply(CTX, [upsert("a", 1), delete("a", 2)])
    assert graph.versions(CTX) == {}
    late = graph.apply(CTX, [upsert("a", 1)])  # an older version arriving late
    assert (late.applied, late.stale) == (0, 1)
    assert graph.search(CTX, "Patient?family=v1").resources == []
    graph.apply(CTX, [upsert("a", 3, "back")])
    assert families(graph) == ["back"]


def test_tenants_do_not_see_each_other(graph: Any) -> None:
    other = hp.TenantContext.for_tenant("other")
    graph.apply(CTX, [upsert("a", 1, "mine")])
    graph.apply(other, [upsert("a", 5, "theirs")])
    assert families(graph) == ["mine"]
    assert graph.versions(other) == {("Patient", "a"): 5}


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.tuples(st.sampled_from("xyz"), st.integers(1, 5), st.booleans()), min_size=1, max_size=12
    ),
    st.integers(1, 4),
    st.integers(1, 3),
)
def test_any_order_ends_at_the_newest_version(
    graph: Any, steps: list, split: int, batch: int
) -> None:
    """Batches in any order and any repetition leave each resource at its newest version
    (deleted when that version is a deletion), as a version table would; also when one
    ``apply`` writes several batches (each written while the next is extracted)."""
    ctx = hp.TenantContext.for_tenant(f"t{uuid.uuid4().hex[:8]}")  # a fresh tenant each
    graph.batch_size = batch
    changes = [delete(pid, v) if gone else upsert(pid, v) for pid, v, gone in steps]
    total = ApplyReport()
    for start in range(0, len(changes), split):
        total.add(graph.apply(ctx, changes[start : start + split]))
    newest: dict[str, Change] = {}
    for c in changes:
        if c.id not in newest or c.version > newest[c.id].version:
            newest[c.id] = c
    want = {("Patient", c.id): c.version for c in newest.values() if c.operation == "upsert"}
    assert graph.versions(ctx) == want
    table = VersionTable()
    expected = ApplyReport()
    for start in range(0, len(changes), split):
        expected.add(table.apply(ctx, changes[start : start + split]))
    assert (total.applied, total.stale, total.failed) == (expected.applied, expected.stale, [])


def test_replicate_then_rebuild_from_a_primary(primary: Any, graph: Any) -> None:
    primary.update(CTX, {"resourceType": "Organization", "id": "o", "name": "Acme"})
    primary.update(CTX, patient("p", "Smith", managingOrganization={"reference": "Organization/o"}))
    report, position = replicate(primary, graph, CTX)
    assert report.applied == 2 and not report.failed and position > 0
    assert compare(primary, graph, CTX).clean
    assert [r["id"] for r in graph.search(CTX, "Patient?organization.name=acme")] == ["p"]
    # the graph drifts (a resource it never got, one it should not have), rebuild mends it
    primary.update(CTX, patient("q", "Jones"))
    graph.apply(CTX, [Change(0, "acme", "Patient", "ghost", 1, "upsert", 0, patient("ghost", "X"))])
    drift = compare(primary, graph, CTX)
    assert drift.missing == [("Patient", "q")] and drift.extra == [("Patient", "ghost")]
    rebuild(primary, graph, CTX)
    assert compare(primary, graph, CTX).clean
    assert families(graph) == ["Smith", "Jones"]


def test_a_standalone_graph_store_is_search_only(graph: Any) -> None:
    for call in (
        lambda: graph.create(CTX, patient("a", "x")),
        lambda: graph.read(CTX, "Patient", "a"),
        lambda: graph.update(CTX, patient("a", "x")),
        lambda: graph.delete(CTX, "Patient", "a"),
        lambda: graph.history(CTX, "Patient", "a"),
    ):
        with pytest.raises(OperationNotSupported) as caught:
            call()
        assert caught.value.outcome["issue"][0]["code"] == "not-supported"
        assert "primary" in str(caught.value)


def test_unreachable_server_is_unavailable() -> None:
    with pytest.raises(Unavailable):
        hp.open_store("bolt://127.0.0.1:1?connect_timeout=1")


def test_bad_url_options_are_refused() -> None:
    with pytest.raises(InvalidStoreURL):
        hp.open_store("neo4j://127.0.0.1:7687?colour=blue")
    with pytest.raises(InvalidStoreURL):
        hp.open_store("neo4j://127.0.0.1:7687?timeout=soon")


def test_schema_is_applied_once_and_idempotently(graph: Any) -> None:
    from helios_persistence.backends.neo4j.schema import SCHEMA_VERSION, migrate

    with graph._session() as session:
        assert migrate(session) == SCHEMA_VERSION  # already there: nothing to do
        names = {r["name"] for r in session.run("SHOW CONSTRAINTS YIELD name")}
    assert "helios_resource_key" in names


def test_a_statement_over_its_timeout_is_a_query_timeout(graph: Any) -> None:
    from helios_persistence.errors import QueryTimeout

    with pytest.raises(QueryTimeout):
        graph.run(
            "UNWIND range(1, 200000000) AS x WITH x WHERE x < 0 RETURN count(x)", {}, timeout=0.3
        )


@pytest.mark.slow
def test_a_search_over_the_store_timeout_is_a_query_timeout(primary: Any) -> None:
    """The store's ``timeout`` bounds each search statement."""
    from helios_persistence.errors import QueryTimeout

    with hp.open_store(neo4j_url(timeout="0.001")) as graph:
        graph.apply(CTX, [upsert(f"p{i}", 1) for i in range(400)])
        deadline = time.monotonic() + 60
        with pytest.raises(QueryTimeout):
            # (the server's transaction monitor checks deadlines every few seconds, so a
            # statement is caught over its 1 ms when it runs during a check: searched until
            # one is, a minute at most)
            while time.monotonic() < deadline:
                graph.search(CTX, "Patient?family:contains=v&_sort=family&_total=accurate")


def test_unsupported_features_are_not_supported_errors(graph: Any) -> None:
    from helios_persistence.errors import InvalidSearch

    graph.apply(CTX, [upsert("a", 1)])
    with pytest.raises(InvalidSearch) as caught:
        graph.search(CTX, "Patient?_text=heart")
    assert caught.value.issue_code == "not-supported"


def test_a_graph_written_by_schema_version_1_is_mended_by_a_rebuild(
    primary: Any, graph: Any
) -> None:
    """A node as version 1 wrote it (``versionId``, its values as ``IDX`` value nodes) counts
    as unversioned: the check reports it stale, a rebuild re-applies it and deletes its
    value nodes."""
    primary.update(CTX, patient("p", "Smith"))
    replicate(primary, graph, CTX)
    tenant = graph.tenant_key(CTX)
    graph.run(
        "MATCH (r:Resource {tenant: $tenant, id: 'p'}) REMOVE r.version SET r.versionId = 1 "
        "CREATE (r)-[:IDX]->(:Str {tenant: $tenant, param: 'family', norm: 'smith'})",
        {"tenant": tenant},
    )
    assert compare(primary, graph, CTX).stale == [("Patient", "p")]
    report = rebuild(primary, graph, CTX)
    assert report.applied == 1 and compare(primary, graph, CTX).clean
    assert graph.run("MATCH (v:Str {tenant: $tenant}) RETURN v", {"tenant": tenant}) == []
    assert families(graph, "Patient?family=smith") == ["Smith"]


def observation(oid: str, subject: str, version: int = 1) -> Change:
    resource = {
        "resourceType": "Observation", "id": oid, "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
        "subject": {"reference": f"Patient/{subject}"},
        "meta": {"versionId": str(version), "lastUpdated": "2024-01-02T03:04:05Z"},
    }  # fmt: skip
    return Change(0, "acme", "Observation", oid, version, "upsert", 0, resource)


def node_count(graph: Any, **match: str) -> int:
    where = "".join(f" AND r.{k} = ${k}" for k in match)
    records = graph.run(
        f"MATCH (r:Resource) WHERE r.tenant = $tenant{where} RETURN count(r) AS n",
        {"tenant": graph.tenant_key(CTX), **match},
    )
    return int(records[0]["n"])


def test_references_meet_one_node_per_resource_in_any_arrival_order(graph: Any) -> None:
    """A reference to a resource not yet applied makes a stub that the resource's arrival
    fills (in a later batch, or later in the same batch: the new nodes are created before
    the batch's targets are merged); each resource stays one node."""
    graph.batch_size = 2
    report = graph.apply(  # batches [o1, o2] [o3, q] [p]: p's stub filled, q new with o3
        CTX, [observation("o1", "p"), observation("o2", "p"), observation("o3", "q"),
              upsert("q", 1, "Jones"), upsert("p", 1, "Smith")]
    )  # fmt: skip
    assert (report.applied, report.stale, report.failed) == (5, 0, [])
    assert node_count(graph) == 5
    assert node_count(graph, id="p") == node_count(graph, id="q") == 1
    graph.apply(CTX, [observation("o4", "p")])
    found = graph.search(CTX, "Observation?subject:Patient.family=smith&_sort=_id")
    assert found.ids == ["Observation/o1", "Observation/o2", "Observation/o4"]
    assert graph.search(CTX, "Observation?subject:Patient.family=jones").ids == ["Observation/o3"]
    # a stub never applied is no resource
    graph.apply(CTX, [observation("o5", "ghost")])
    assert ("Patient", "ghost") not in graph.versions(CTX)
    assert graph.search(CTX, "Patient?_id=ghost").ids == []


def test_a_node_created_by_another_writer_since_the_read_falls_back_to_the_guard(
    graph: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The version read that routes new nodes to ``CREATE`` can miss a node another writer
    created meanwhile: the unique constraint refuses the creation and the batch is written
    by the guarded statement, still idempotent by version."""
    from helios_persistence.backends.neo4j import store as module

    graph.apply(CTX, [upsert("a", 2, "kept"), upsert("b", 1)])
    blind = "UNWIND $keys AS k WITH k WHERE false RETURN k[0] AS type, k[1] AS id, 0 AS version"
    monkeypatch.setattr(module, "HELD_STATEMENT", blind)  # (reads nothing: every row "new")
    report = graph.apply(CTX, [upsert("a", 1, "older"), upsert("b", 2, "newer"), upsert("c", 1)])
    assert (report.applied, report.stale, report.failed) == (2, 1, [])
    assert families(graph) == ["kept", "newer", "v1"]
    assert node_count(graph) == 3


def test_a_tenants_custom_search_parameter_is_honoured_as_on_its_primary(
    primary: Any, graph: Any
) -> None:
    """A SearchParameter version from the outbox changes its tenant's registry
    (``TenantRegistries``) before the later changes are indexed; a store opened on the same
    graph reads it; a retired or deleted one is unregistered, an older one replayed late
    changes nothing."""
    from helios_persistence.errors import InvalidSearch

    url = "http://example.org/fhir/SearchParameter/nickname"
    nickname = {
        "resourceType": "SearchParameter", "id": "nickname", "url": url, "name": "nickname",
        "status": "active", "code": "nickname", "base": ["Patient"], "type": "string",
        "expression": "Patient.name.where(use='nickname').given", "description": "nickname",
    }  # fmt: skip
    other = hp.TenantContext.for_tenant("other")
    bobby = {"name": [{"family": "Smith", "use": "nickname", "given": ["Bobby"]}]}
    primary.update(CTX, nickname)
    for ctx in (CTX, other):
        primary.update(ctx, {**patient("p", "Smith"), **bobby})
        replicate(primary, graph, ctx)
    query = "Patient?nickname=bob"
    assert graph.search(CTX, query).ids == primary.search(CTX, query).ids == ["Patient/p"]
    for store in (graph, primary):
        with pytest.raises(InvalidSearch):
            store.search(other, query)
    with hp.open_store(f"{graph.uri}?namespace={graph.namespace}") as reopened:
        assert reopened.search(CTX, query).ids == ["Patient/p"]
        assert reopened.registry_for(other).get("Patient", "nickname") is None

    def sp(version: int, status: str) -> Change:
        resource = {**nickname, "status": status}
        return Change(0, "acme", "SearchParameter", "nickname", version, "upsert", 0, resource)

    assert graph.apply(CTX, [sp(3, "retired"), sp(2, "active")]).stale == 1
    assert graph.registry_for(CTX).get("Patient", "nickname") is None
    graph.apply(CTX, [sp(4, "active")])
    assert graph.search(CTX, query).ids == ["Patient/p"]
    graph.apply(CTX, [Change(0, "acme", "SearchParameter", "nickname", 5, "delete", 0)])
    assert graph.registry_for(CTX).get("Patient", "nickname") is None


def test_drop_namespace_deletes_a_dense_node_in_slices(
    graph: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Relationships go first, then nodes, a bounded slice per transaction (a practitioner
    referenced 6,000 times overran the transaction memory when its node went in one); another
    namespace keeps everything."""
    from helios_persistence.backends.neo4j import store as neo4j_store

    other = hp.open_store(neo4j_url())
    try:
        doctor = {"resourceType": "Practitioner", "id": "dr", "meta": {"versionId": "1"}}
        changes = [Change(0, "acme", "Practitioner", "dr", 1, "upsert", 0, doctor)]
        for i in range(40):
            seen = {
                "resourceType": "Encounter", "id": f"e{i}", "status": "finished",
                "meta": {"versionId": "1"},
                "participant": [{"individual": {"reference": "Practitioner/dr"}}],
            }  # fmt: skip
            changes.append(Change(0, "acme", "Encounter", f"e{i}", 1, "upsert", 0, seen))
        for store in (graph, other):
            assert store.apply(CTX, changes).applied == 41
        monkeypatch.setattr(neo4j_store, "_DROP_BATCH", 7)
        graph.drop_namespace()
        with graph._session() as session:
            count = "MATCH (r:Resource) WHERE r.tenant STARTS WITH $prefix RETURN count(r)"
            assert session.run(count, prefix=f"{graph.namespace}/").single()[0] == 0
        assert len(other.search(CTX, "Encounter?participant=Practitioner/dr&_count=100").ids) == 40
    finally:
        other.close()
