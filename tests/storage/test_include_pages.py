"""Each page's ``_include``/``_revinclude`` follow that page's matches, whatever the paging:
``_offset``, a keyset cursor, the last page (PostgreSQL answers them in the page statement)."""

from __future__ import annotations

from typing import Any

import pytest

from helios_persistence.tenancy import TenantContext

CTX = TenantContext.for_tenant("pages")


@pytest.mark.parametrize("paging", ["_offset", "next"])
def test_every_page_includes_what_its_own_matches_reference(store: Any, paging: str) -> None:
    for i in range(3):
        store.update(CTX, {"resourceType": "Patient", "id": f"p{i}"})
        store.update(
            CTX,
            {"resourceType": "Encounter", "id": f"e{i}", "status": "finished",
             "subject": {"reference": f"Patient/p{i}"}},
        )  # fmt: skip
        store.update(
            CTX,
            {"resourceType": "Condition", "id": f"c{i}", "subject": {"reference": f"Patient/p{i}"},
             "encounter": {"reference": f"Encounter/e{i}"}},
        )  # fmt: skip
    query = "Encounter?_count=1&_include=Encounter:subject&_revinclude=Condition:encounter"
    seen = []
    page = store.search(CTX, query)
    for i in range(3):
        assert page.ids == [f"Encounter/e{i}"]
        assert sorted(f"{r['resourceType']}/{r['id']}" for r in page.included) == [
            f"Condition/c{i}", f"Patient/p{i}",
        ]  # fmt: skip
        seen.append(page.ids[0])
        if i < 2:
            following = f"{query}&_offset={i + 1}" if paging == "_offset" else page.next
            page = store.search(CTX, following)
    assert page.next is None and seen == ["Encounter/e0", "Encounter/e1", "Encounter/e2"]
