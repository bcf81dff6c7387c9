"""store.reindex: custom parameters reach resources written before them; resumable."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import helios_persistence as hp

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


def test_a_write_during_reindex_is_not_overwritten(store: Any) -> None:
    """A resource updated between the scan and the rewrite keeps the index of its new version."""
    ctx = hp.TenantContext.for_tenant("t")
    _patients(store, ctx, 3)

    from helios_persistence.backends.sqlite.reindex_target import SQLiteReindex

    scan = SQLiteReindex.scan

    def scan_then_write(self: SQLiteReindex, after: Any, batch: int) -> Any:
        found = scan(self, after, batch)
        if found[0]:
            store.update(
                ctx, {"resourceType": "Patient", "id": "p001", "name": [{"family": "Zed"}]}
            )
        return found

    SQLiteReindex.scan = scan_then_write  # type: ignore[method-assign]
    try:
        progress = store.reindex(ctx, "Patient")
    finally:
        SQLiteReindex.scan = scan  # type: ignore[method-assign]
    assert progress.finished
    assert store.search(ctx, "Patient?family=zed").ids == ["Patient/p001"]
    assert store.search(ctx, "Patient?family=fam1").ids == []
