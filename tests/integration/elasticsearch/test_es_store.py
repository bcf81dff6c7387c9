"""The Elasticsearch store as a search secondary: apply (idempotent by version, deletes as
versions), versions, search after replication, tenant isolation, rebuild and compare, and
the search-only refusal of writes. The conformance suite (tests/conformance) runs every case
on it too."""

from __future__ import annotations

from typing import Any

import pytest

from helios_persistence import TenantContext, open_store
from helios_persistence.backends.elasticsearch.store import SearchOnly
from helios_persistence.conformance.evaluator import Evaluator
from helios_persistence.errors import InvalidSearch, OperationNotSupported
from helios_persistence.storage.sync import Change, compare, rebuild, replicate
from helios_persistence.tenancy import Permissions


def _patient(pid: str, family: str, text: str = "", **extra: Any) -> dict[str, Any]:
    resource: dict[str, Any] = {"resourceType": "Patient", "id": pid, "name": [{"family": family}]}
    if text:
        div = f'<div xmlns="http://www.w3.org/1999/xhtml">{text}</div>'
        resource["text"] = {"status": "generated", "div": div}
    resource.update(extra)
    return resource


def _change(resource: dict[str, Any], version: int, tenant: str = "acme") -> Change:
    meta = {"versionId": str(version), "lastUpdated": "2024-01-02T03:04:05Z"}
    body = {**resource, "meta": meta}
    return Change(0, tenant, resource["resourceType"], resource["id"], version, "upsert", 0, body)


def _delete(rtype: str, rid: str, version: int, tenant: str = "acme") -> Change:
    return Change(0, tenant, rtype, rid, version, "delete", 0)


def test_apply_keeps_the_newest_version_whatever_the_order(es_store: Any, ctx: Any) -> None:
    v1 = _change(_patient("p1", "Older"), 1)
    v2 = _change(_patient("p1", "Newer"), 2)
    report = es_store.apply(ctx, [v2, v1, v2])
    assert (report.applied, report.stale, report.failed) == (1, 2, [])
    assert es_store.versions(ctx) == {("Patient", "p1"): 2}
    assert es_store.search(ctx, "Patient?name=newer").ids == ["Patient/p1"]
    assert es_store.search(ctx, "Patient?name=older").ids == []
    # a deletion is a version: an older upsert replayed afterwards does not bring it back
    assert es_store.apply(ctx, [_delete("Patient", "p1", 3)]).applied == 1
    assert es_store.apply(ctx, [v2]).stale == 1
    assert es_store.versions(ctx) == {}
    assert es_store.search(ctx, "Patient?name=newer").ids == []
    # ... and a newer version after the deletion does
    assert es_store.apply(ctx, [_change(_patient("p1", "Again"), 4)]).applied == 1
    assert es_store.search(ctx, "Patient").ids == ["Patient/p1"]


def test_a_resource_that_cannot_be_indexed_is_reported_not_dropped(es_store: Any, ctx: Any) -> None:
    bad = _change({"resourceType": "Patient", "id": "bad", "birthDate": {"not": "a date"}}, 1)
    good = _change(_patient("good", "Fine"), 1)
    report = es_store.apply(ctx, [bad, good])
    assert report.applied == 1
    assert [c.id for c, _ in report.failed] == ["bad"]
    assert "cannot index" in report.failed[0][1]
    other = _change(_patient("x", "Y"), 1, tenant="someone-else")
    assert [c.id for c, _ in es_store.apply(ctx, [other]).failed] == ["x"]


def test_an_apply_in_several_requests_is_searchable_when_it_returns(
    es_store: Any, ctx: Any
) -> None:
    es_store.request_size = 2  # (five changes: three pipelined requests)
    changes = [_change(_patient(f"p{i}", "Piped"), 1) for i in range(4)]
    # the last request has nothing to write: an integer JSON cannot carry is refused
    huge = _change(_patient("huge", "Piped", multipleBirthInteger=2**70), 1)
    report = es_store.apply(ctx, [*changes, huge])
    assert report.applied == 4 and [c.id for c, _ in report.failed] == ["huge"]
    assert "cannot index" in report.failed[0][1]
    found = es_store.search(ctx, "Patient?name=piped&_total=accurate")
    assert found.total == 4  # (refreshed although the last request was never sent)


def _index_settings(store: Any) -> tuple[str, str]:
    found = store.client.indices.get_settings(index=store.alias, include_defaults=True)
    (entry,) = found.values()
    merged = {**entry["defaults"]["index"], **entry["settings"]["index"]}
    translog = merged["translog"]["durability"]
    return merged["refresh_interval"], translog


def test_a_rebuild_loads_with_bulk_settings_then_restores_them(
    es_store: Any, primary: Any, ctx: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(3):
        primary.update(ctx, _patient(f"r{i}", "Rebuilt"))
    seen: list[tuple[str, str]] = []
    apply = es_store.apply
    monkeypatch.setattr(es_store, "apply", lambda c, ch: (seen.append(_index_settings(es_store)),
                                                          apply(c, ch))[1])  # fmt: skip
    assert rebuild(primary, es_store, ctx).applied == 3
    assert seen and set(seen) == {("30s", "async")}
    assert _index_settings(es_store) == ("1s", "request")
    assert len(es_store.search(ctx, "Patient?name=rebuilt").ids) == 3


def test_tenants_never_see_each_other(es_store: Any) -> None:
    acme, other = TenantContext.for_tenant("acme"), TenantContext.for_tenant("other")
    es_store.apply(acme, [_change(_patient("p1", "Shared", "cardiac"), 1)])
    es_store.apply(other, [_change(_patient("p1", "Shared", "cardiac"), 1, "other"),
                           _change(_patient("p2", "Shared"), 1, "other")])  # fmt: skip
    assert es_store.search(acme, "Patient?name=shared&_total=accurate").total == 1
    assert es_store.search(other, "Patient?name=shared&_total=accurate").total == 2
    assert es_store.versions(acme) == {("Patient", "p1"): 1}
    assert es_store.search(acme, "Patient?_text=cardiac").ids == ["Patient/p1"]


def test_search_after_replication_equals_the_reference_evaluator(
    es_store: Any, primary: Any, ctx: Any
) -> None:
    resources = [
        _patient("a", "Müller", "Cardiac arrest in 2019", birthDate="1970-02-03", gender="male"),
        _patient("b", "Muller", "heart attacks and strokes", birthDate="1980", gender="female"),
        _patient("c", "Smith", "no cardiac history", birthDate="1990-05"),
        {"resourceType": "Observation", "id": "o1", "status": "final",
         "subject": {"reference": "Patient/a"}, "effectiveDateTime": "2020-01-01T10:00:00Z",
         "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4",
                              "display": "Heart rate"}]},
         "valueQuantity": {"value": 72, "unit": "/min", "system": "http://unitsofmeasure.org",
                           "code": "/min"}},
    ]  # fmt: skip
    for r in resources:
        primary.update(ctx, r)
    report, _ = replicate(primary, es_store, ctx)
    assert report.failed == [] and report.applied == len(resources)
    evaluator = Evaluator([primary.read(ctx, r["resourceType"], r["id"]).resource
                           for r in resources])  # fmt: skip
    queries = [
        "Patient?name=muller",
        "Patient?name:exact=Müller",
        "Patient?name:contains=ULL",
        "Patient?birthdate=ge1980",
        "Patient?birthdate=1970",
        "Patient?gender=female,male",
        "Patient?_text=cardiac",
        "Patient?_text=heart*",
        "Patient?_text=-stroke cardiac",
        "Patient?_content=%22cardiac history%22",
        "Patient?_sort=-birthdate,name",
        "Observation?code=http://loinc.org|8867-4",
        "Observation?code:text=heart",
        "Observation?value-quantity=72",
        "Observation?value-quantity=gt71||/min",
        "Observation?date=2020-01-01",
        "Observation?subject=Patient/a",
        "Observation?code:text-advanced=rate",
        "Patient?birthdate:missing=true",
    ]
    for q in queries:
        assert es_store.search(ctx, q).ids == evaluator.search(q).ids, q


def test_paging_continues_with_search_after(es_store: Any, ctx: Any) -> None:
    patients = [_patient(f"p{i:02d}", f"Name{i % 3}", birthDate=f"19{50 + i}") for i in range(25)]
    es_store.apply(ctx, [_change(p, 1) for p in patients])
    evaluator = Evaluator([_change(p, 1).resource for p in patients])  # type: ignore[misc]
    query = "Patient?_sort=name,-birthdate&_count=4"
    seen: list[str] = []
    page = es_store.search(ctx, query)
    while True:
        seen.extend(page.ids)
        if page.next is None:
            break
        page = es_store.search(ctx, page.next)
    assert seen == evaluator.search(query).all_ids


def test_compartment_contexts_see_only_their_compartment(es_store: Any, ctx: Any) -> None:
    obs = [
        {"resourceType": "Observation", "id": f"o{p}", "status": "final", "code": {"text": "x"},
         "subject": {"reference": f"Patient/{p}"}}
        for p in "ab"
    ]  # fmt: skip
    es_store.apply(ctx, [_change(r, 1) for r in [*obs, _patient("a", "A"), _patient("b", "B")]])
    confined = ctx.with_permissions(Permissions(compartment=("Patient", "a")))
    assert es_store.search(confined, "Observation").ids == ["Observation/oa"]
    result = es_store.search(confined, "Observation?_include=Observation:subject")
    assert [r["id"] for r in result.included] == ["a"]


def test_rebuild_and_compare(es_store: Any, primary: Any, ctx: Any) -> None:
    for i in range(5):
        primary.update(ctx, _patient(f"p{i}", "Same"))
    es_store.apply(ctx, [_change(_patient("stray", "Gone"), 7)])
    drift = compare(primary, es_store, ctx)
    assert drift.missing == [("Patient", f"p{i}") for i in range(5)]
    assert drift.extra == [("Patient", "stray")]
    report = rebuild(primary, es_store, ctx)
    assert report.failed == []
    assert compare(primary, es_store, ctx).clean
    primary.update(ctx, _patient("p0", "Changed"))
    assert compare(primary, es_store, ctx).stale == [("Patient", "p0")]


def test_standalone_writes_are_refused(es_store: Any, ctx: Any) -> None:
    with pytest.raises(OperationNotSupported, match="search secondary") as refused:
        es_store.create(ctx, _patient("p", "X"))
    assert refused.value.outcome["issue"][0]["code"] == "not-supported"
    with pytest.raises(SearchOnly):  # (the former name, kept: the same error)
        es_store.delete(ctx, "Patient", "p")


NICKNAME_URL = "http://example.org/fhir/SearchParameter/nickname"


def _nickname(status: str = "active") -> dict[str, Any]:
    return {
        "resourceType": "SearchParameter", "id": "nickname", "url": NICKNAME_URL,
        "name": "nickname", "status": status, "code": "nickname", "base": ["Patient"],
        "type": "string", "expression": "Patient.name.where(use='nickname').given",
        "description": "nickname",
    }  # fmt: skip


def test_a_tenants_custom_search_parameter_is_honoured_as_on_its_primary(
    es_store: Any, es_url: str, es_index: str, primary: Any
) -> None:
    a, b = TenantContext.for_tenant("acme"), TenantContext.for_tenant("other")
    bobby = {"name": [{"family": "Smith", "use": "nickname", "given": ["Bobby"]}]}
    primary.update(a, _nickname())
    for ctx in (a, b):
        primary.update(ctx, _patient("p", "Smith", **bobby))
        replicate(primary, es_store, ctx)
    query = "Patient?nickname=bob"
    assert es_store.search(a, query).ids == primary.search(a, query).ids == ["Patient/p"]
    for store in (es_store, primary):  # the other tenant has no such parameter
        with pytest.raises(InvalidSearch):
            store.search(b, query)
    # a store opened on the same index reads the tenant's parameters from it
    url = f"{es_url}?prefix={es_index}&namespace={es_store.namespace}&refresh=true"
    with open_store(url) as reopened:
        assert reopened.search(a, query).ids == ["Patient/p"]
        assert reopened.registry_for(b).get("Patient", "nickname") is None
    # retired: unregistered; the active version replayed late changes nothing
    active = _change(_nickname(), 1)
    retired = _change(_nickname("retired"), 2)
    assert es_store.apply(a, [retired, active]).stale == 1
    with pytest.raises(InvalidSearch):
        es_store.search(a, query)
    # active again, then deleted
    es_store.apply(a, [_change(_nickname(), 3)])
    assert es_store.search(a, query).ids == ["Patient/p"]
    es_store.apply(a, [_delete("SearchParameter", "nickname", 4)])
    assert es_store.registry_for(a).get("Patient", "nickname") is None
