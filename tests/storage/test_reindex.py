"""store.reindex: custom parameters reach resources written before them; resumable."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

import helios_persistence as hp
from helios_persistence.indexing.reindex_plan import Progress

NICKNAME = {
    "resourceType": "SearchParameter",
    "id": "patient-nickname",
    "url": "http://example.org/SearchParameter/patient-nickname",
    "name": "nickname",
    "status": "active",
    "description": "Patient nickname (HumanName with use=nickname)",
    "code": "nickname",
    "base": ["Patient"],
    "type": "string",
    "expression": "Patient.name.where(use='nickname').given",
}


def _patients(store: Any, ctx: hp.TenantContext, n: int) -> None:
    for i in range(n):
        store.update(
            ctx,
            {
                "resourceType": "Patient",
                "id": f"p{i:03d}",
                "name": [{"family": f"Fam{i}"}, {"use": "nickname", "given": [f"Nick{i}"]}],
            },
        )


@pytest.fixture
def store() -> Iterator[Any]:
    with hp.open_store("sqlite://") as s:
        yield s


def test_custom_parameter_needs_reindex_for_old_resources(store: Any) -> None:
    ctx = hp.TenantContext.for_tenant("t")
    _patients(store, ctx, 5)
    store.update(ctx, NICKNAME)
    assert store.search(ctx, "Patient?nickname=nick3").resources == []
    progress = store.reindex(ctx, "Patient", ["nickname"])
    assert progress.finished and progress.done == 5 and progress.failed == 0
    assert [r["id"] for r in store.search(ctx, "Patient?nickname=nick3").resources] == ["p003"]
    # the other parameters and the full text are untouched by a per-parameter reindex
    assert store.search(ctx, "Patient?family=fam3").ids == ["Patient/p003"]
    assert store.search(ctx, "Patient?_content=fam3").ids == ["Patient/p003"]


def test_full_reindex_is_idempotent(store: Any) -> None:
    ctx = hp.TenantContext.for_tenant("t")
    _patients(store, ctx, 7)
    before = store.search(ctx, "Patient?family=fam&_total=accurate").total
    store.reindex(ctx)
    store.reindex(ctx)
    assert store.search(ctx, "Patient?family=fam&_total=accurate").total == before == 7
    assert store.search(ctx, "Patient?_text=fam6").total is None


def test_cancel_then_resume_covers_everything_once(store: Any) -> None:
    ctx = hp.TenantContext.for_tenant("t")
    _patients(store, ctx, 12)
    store.update(ctx, NICKNAME)
    cancel = threading.Event()
    seen: list[Progress] = []

    def stop_after_first_batch(p: Progress) -> None:
        seen.append(p)
        cancel.set()

    first = store.reindex(ctx, "Patient", ["nickname"], batch=5, cancel=cancel,
                          on_progress=stop_after_first_batch)  # fmt: skip
    assert not first.finished and first.last_key is not None
    assert first.done == 5
    rest = store.reindex(ctx, "Patient", ["nickname"], batch=5, after=first.last_key)
    assert rest.finished and rest.done == 7
    found = store.search(ctx, "Patient?nickname=nick&_count=50").ids
    assert len(found) == 12


def test_reindex_needs_update_permission(store: Any) -> None:
    reader = hp.TenantContext(
        hp.TenantId("t"), hp.Permissions(operations=hp.Operation.READ | hp.Operation.SEARCH)
    )
    with pytest.raises(hp.errors.PermissionDenied):
        store.reindex(reader)
