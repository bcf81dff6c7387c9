"""The document layout of mapping version 2: a parameter's only quantity, composite
repetition or text value is written in plain fields, several are ``nested`` documents; the
values of a resource never mix either way, and an index of version 1 (everything nested) is
upgraded on open and still answers."""

from __future__ import annotations

import uuid
from typing import Any

from helios_persistence import TenantContext, open_store
from helios_persistence.backends.elasticsearch.documents import doc_id
from helios_persistence.backends.elasticsearch.mapping import alias_name, index_body
from helios_persistence.conformance.evaluator import Evaluator
from helios_persistence.storage.sync import replicate

UCUM = "http://unitsofmeasure.org"


def _quantity(value: float, unit: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": UCUM, "code": unit}


def _component(code: str, value: float, unit: str) -> dict[str, Any]:
    return {"code": {"coding": [{"system": "http://loinc.org", "code": code}]},
            "valueQuantity": _quantity(value, unit)}  # fmt: skip


def _observation(oid: str, **fields: Any) -> dict[str, Any]:
    return {"resourceType": "Observation", "id": oid, "status": "final", **fields}


RESOURCES = [
    _observation("one", valueQuantity=_quantity(5, "mg"),
                 code={"coding": [{"code": "x", "display": "heart pulse"}]}),
    _observation("two", component=[_component("A", 5, "g"), _component("B", 7, "mg")],
                 code={"coding": [{"code": "x", "display": "heart"},
                                  {"code": "y", "display": "pulse"}]}),
    _observation("three", component=[_component("A", 5, "mg"), _component("B", 7, "g")]),
    _observation("four", component=[_component("A", 5, "mg")]),
]  # fmt: skip

#: query → the ids it must find (also checked against the reference evaluator)
EXPECTED = {
    f"Observation?value-quantity=5|{UCUM}|mg": ["one"],
    f"Observation?value-quantity=5000|{UCUM}|ug": ["one"],  # (UCUM canonical)
    f"Observation?component-value-quantity=5|{UCUM}|mg": ["four", "three"],
    f"Observation?component-value-quantity=5000|{UCUM}|ug": ["four", "three"],
    "Observation?component-value-quantity=7": ["three", "two"],
    f"Observation?component-code-value-quantity=http://loinc.org|A$5|{UCUM}|mg": [
        "four", "three",
    ],
    "Observation?component-code-value-quantity=http://loinc.org|B$5": [],
    "Observation?component-code-value-quantity=http://loinc.org|B$7": ["three", "two"],
    "Observation?code:text-advanced=heart pulse": ["one"],
    "Observation?code:text-advanced=pulse": ["one", "two"],
}  # fmt: skip


def test_one_value_is_plain_several_are_nested_and_values_never_mix(
    es_store: Any, primary: Any, ctx: TenantContext
) -> None:
    for resource in RESOURCES:
        primary.update(ctx, resource)
    report, _ = replicate(primary, es_store, ctx)
    assert report.failed == [] and report.applied == len(RESOURCES)

    def source(oid: str) -> dict[str, Any]:
        key = doc_id(es_store.tenant_of(ctx), "Observation", oid)
        found: dict[str, Any] = es_store.client.get(index=es_store.alias, id=key)["_source"]
        return found

    # both layouts are exercised: one value each in "one" and "four", several in "two"
    assert not {"qty", "comp", "ptext"} & set(source("one")) and "pt.code" in source("one")
    assert not {"qty", "comp"} & set(source("four")) and "q_u" in source("four")
    assert {"comp", "ptext"} <= set(source("two"))

    stored = [primary.read(ctx, "Observation", r["id"]).resource for r in RESOURCES]
    evaluator = Evaluator(stored)
    for query, ids in EXPECTED.items():
        want = [f"Observation/{i}" for i in ids]
        assert sorted(es_store.search(ctx, query).ids) == want, query
        assert sorted(evaluator.search(query).ids) == want, query


def _version_1_body() -> dict[str, Any]:
    """The index body of mapping version 1 (version 2 only added the plain fields)."""
    body = index_body()
    mappings = body["mappings"]
    mappings["_meta"]["version"] = 1
    for properties in (mappings["properties"], mappings["properties"]["comp"]["properties"]):
        for name in ("q_s", "q_c", "q_u", "q_cu", "nc", "pt"):
            properties.pop(name, None)
    mappings["dynamic_templates"] = [
        t for t in mappings["dynamic_templates"] if "texts" not in t
    ]  # fmt: skip
    return body


def _version_1_document(tenant: str) -> dict[str, Any]:
    """An Observation as version 1 wrote it: every quantity, composite repetition and
    text value nested."""
    qty = {"p": "value-quantity", "v": 5.0, "s": UCUM, "c": "mg", "u": "mg",
           "cv": 0.005, "cu": "g"}  # fmt: skip
    component = {"p": "component-code-value-quantity",
                 "tok_sc": ["component-code-value-quantity$0\x1fhttp://loinc.org\x1fA"],
                 "qty": [{**qty, "p": "component-code-value-quantity$1"}],
                 "n.component-code-value-quantity$1": [5.0]}  # fmt: skip
    return {
        "tenant": tenant, "type": "Observation", "id": "old", "version": 1, "deleted": False,
        "lu": {"gte": 0, "lte": 0}, "lus": 0,
        "params": ["code", "component-code-value-quantity", "value-quantity"],
        "resource": {"resourceType": "Observation", "id": "old"},
        "qty": [qty], "n.value-quantity": [5.0], "comp": [component],
        "ptext": [{"p": "code", "w": "heart rate"}],
    }  # fmt: skip


def test_a_version_1_index_is_upgraded_on_open_and_still_answers(
    es_url: str, ctx: TenantContext
) -> None:
    from elasticsearch import Elasticsearch

    prefix = f"test-v1-{uuid.uuid4().hex[:8]}"
    alias = alias_name(prefix)
    client = Elasticsearch(es_url.replace("elasticsearch", "http", 1))
    try:
        client.indices.create(index=f"{alias}-v1", aliases={alias: {}}, **_version_1_body())
        client.index(index=alias, id="old", document=_version_1_document("acme"),
                     refresh=True)  # fmt: skip
        store = open_store(f"{es_url}?prefix={prefix}")
        try:
            mapping = client.indices.get_mapping(index=alias)[f"{alias}-v1"]["mappings"]
            assert mapping["_meta"]["version"] == 2 and "q_s" in mapping["properties"]
            for query in (
                f"Observation?value-quantity=5|{UCUM}|mg",
                f"Observation?value-quantity=5000|{UCUM}|ug",
                f"Observation?component-code-value-quantity=http://loinc.org|A$5|{UCUM}|mg",
                "Observation?code:text-advanced=heart rate",
            ):
                assert store.search(ctx, query).ids == ["Observation/old"], query
            assert store.search(ctx, "Observation?value-quantity=6").ids == []
        finally:
            store.drop()
            store.close()
    finally:
        client.options(ignore_status=404).indices.delete(index=f"{alias}-v*")
        client.close()
