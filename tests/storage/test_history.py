from __future__ import annotations

from typing import Any

import pytest

from helios_persistence.errors import InvalidResource, NotFound
from helios_persistence.storage.types import datetime_to_micros, format_instant
from helios_persistence.tenancy import TenantContext

from .helpers import observation, patient


def _etags(bundle: dict) -> list[str]:
    return [f"{e['fullUrl']}@{e['response']['etag']}" for e in bundle["entry"]]


def test_instance_history(store: Any, ctx: TenantContext) -> None:
    store.update(ctx, patient(id="p1"))
    store.update(ctx, patient(id="p1", family="B"))
    store.delete(ctx, "Patient", "p1")
    store.update(ctx, patient(id="p1", family="C"))
    bundle = store.history(ctx, "Patient", "p1")
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "history"
    assert bundle["total"] == 4
    e = bundle["entry"]
    assert [x["request"]["method"] for x in e] == ["PUT", "DELETE", "PUT", "PUT"]
    assert [x["response"]["status"] for x in e] == [
        "200 OK",
        "204 No Content",
        "200 OK",
        "201 Created",
    ]
    assert [x["response"]["etag"] for x in e] == ['W/"4"', 'W/"3"', 'W/"2"', 'W/"1"']
    assert "resource" not in e[1]
    assert e[0]["resource"]["name"][0]["family"] == "C"
    assert e[0]["response"]["location"] == "Patient/p1/_history/4"
    with pytest.raises(NotFound):
        store.history(ctx, "Patient", "nope")


def test_type_and_system_history(store: Any, ctx: TenantContext) -> None:
    store.update(ctx, patient(id="p1"))
    store.update(ctx, observation("Patient/p1", id="o1"))
    store.update(ctx, patient(id="p2"))
    store.create(ctx, patient())
    typed = store.history(ctx, "Patient")
    assert typed["total"] == 3
    assert all(x["resource"]["resourceType"] == "Patient" for x in typed["entry"])
    assert typed["entry"][0]["request"] == {"method": "POST", "url": "Patient"}
    system = store.history(ctx)
    assert system["total"] == 4
    assert [x["resource"]["resourceType"] for x in system["entry"]] == [
        "Patient",
        "Patient",
        "Observation",
        "Patient",
    ]
    stamps = [x["response"]["lastModified"] for x in system["entry"]]
    assert stamps == sorted(stamps, reverse=True)


def test_since_at_and_count(store: Any, ctx: TenantContext) -> None:
    v1 = store.update(ctx, patient(id="p1"))
    v2 = store.update(ctx, patient(id="p1", family="B"))
    v3 = store.update(ctx, patient(id="p1", family="C"))
    other = store.update(ctx, patient(id="p2"))
    since = store.history(ctx, "Patient", "p1", since=v2.last_updated)
    assert [x["response"]["etag"] for x in since["entry"]] == ['W/"3"', 'W/"2"']
    since_text = store.history(ctx, since=format_instant(datetime_to_micros(v3.last_updated)))
    assert since_text["total"] == 2  # v3 and p2
    # at: the version current at that instant
    at = store.history(ctx, "Patient", "p1", at=v2.last_updated)
    assert [x["response"]["etag"] for x in at["entry"]] == ['W/"2"']
    at_v1 = store.history(ctx, "Patient", "p1", at=v1.last_updated)
    assert [x["response"]["etag"] for x in at_v1["entry"]] == ['W/"1"']
    # a whole-year range covers every version
    year = str(v1.last_updated.year)
    assert store.history(ctx, "Patient", "p1", at=year)["total"] == 3
    assert store.history(ctx, "Patient", "p1", at="1999")["total"] == 0
    # an instant after everything: only the current versions
    later = store.history(ctx, at=other.last_updated)
    assert sorted(x["response"]["etag"] for x in later["entry"]) == ['W/"1"', 'W/"3"']
    page = store.history(ctx, "Patient", "p1", count=2)
    assert page["total"] == 3 and len(page["entry"]) == 2
    page2 = store.history(ctx, "Patient", "p1", count=2, offset=2)
    assert [x["response"]["etag"] for x in page2["entry"]] == ['W/"1"']
    assert store.history(ctx, "Patient", "p1", count=0)["entry"] == []
    with pytest.raises(InvalidResource):
        store.history(ctx, since="yesterday")
    with pytest.raises(InvalidResource):
        store.history(ctx, count=-1)
