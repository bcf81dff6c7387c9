"""Accent folding of letters that do not decompose (``ł``, ``ø``, ``æ``, ``ß``, ``đ``, ``þ``,
``œ``): string search and full text find them by their base letters, on every engine (the
PostgreSQL module runs these same tests)."""

from __future__ import annotations

import uuid
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helios_persistence.fhir_values import UNDECOMPOSED, fold
from helios_persistence.tenancy import TenantContext

#: letters FHIR names are written with: ASCII, decomposable accents, and the undecomposed ones
_LETTERS = (
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    + "áéíóúüñçšžčćőŕ"
    + "".join(chr(cp) for cp in UNDECOMPOSED)
)
_WORDS = st.text(alphabet=_LETTERS, min_size=2, max_size=12)


def test_lukasiewicz_is_found_by_its_base_letters(store: Any, ctx: TenantContext) -> None:
    store.update(
        ctx,
        {
            "resourceType": "Patient",
            "id": "l",
            "name": [{"family": "Łukasiewicz"}],
            "text": {"status": "generated", "div": "<div>Jan Łukasiewicz</div>"},
        },
    )
    store.update(
        ctx,
        {
            "resourceType": "Patient",
            "id": "o",
            "name": [
                {"family": "Øster"},
                {"given": ["Æsa", "Þóra"]},
                {"family": "Straße"},
                {"family": "Đorđe"},
            ],
        },
    )
    store.update(ctx, {"resourceType": "Patient", "id": "x", "name": [{"family": "Lukas"}]})

    def ids(query: str) -> list[str]:
        return sorted(r["id"] for r in store.search(ctx, query).resources)

    assert ids("Patient?name=lukasiewicz") == ["l"]
    assert ids("Patient?name=ŁUKASIEWICZ") == ["l"]
    assert ids("Patient?name=luka") == ["l", "x"]
    assert ids("Patient?name:exact=Łukasiewicz") == ["l"]
    assert ids("Patient?name:exact=Lukasiewicz") == []
    for word in ("oster", "aesa", "thora", "strasse", "dorde"):
        assert ids(f"Patient?name={word}") == ["o"], word
    assert ids("Patient?_text=lukasiewicz") == ["l"]
    assert ids("Patient?_content=Łukasiewicz") == ["l"]
    assert ids("Patient?_content=strasse") == ["o"]
    store.update(
        ctx,
        {
            "resourceType": "Observation",
            "id": "b",
            "status": "final",
            "code": {"text": "Łódź blood count"},
        },
    )
    assert ids("Observation?code:text-advanced=lodz") == ["b"]
    assert ids("Observation?code:text=lodz") == ["b"]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(word=_WORDS)
def test_any_name_is_found_by_its_folded_form(store: Any, ctx: TenantContext, word: str) -> None:
    rid = uuid.uuid4().hex
    store.update(
        ctx,
        {
            "resourceType": "Patient",
            "id": rid,
            "name": [{"family": word}],
            "text": {"status": "generated", "div": f"<div>{word}</div>"},
        },
    )
    folded = fold(word)
    for query in (
        f"name={folded}",
        f"name:contains={folded[1:]}",
        f"_content={folded}",
        f"_text={word}",
        f"name={word.swapcase()}",
    ):
        found = {r["id"] for r in store.search(ctx, f"Patient?_id={rid}&{query}").resources}
        assert found == {rid}, query
