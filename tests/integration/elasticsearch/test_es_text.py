"""Full text on Elasticsearch answers as the reference evaluator (SQLite FTS5's semantics):
random narratives over a small vocabulary (so that queries match), random text queries with
words, prefixes, phrases, NEAR, OR and NOT, on ``_text``, ``_content`` and
``:text-advanced``."""

from __future__ import annotations

import uuid
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helios_persistence import TenantContext, open_store
from helios_persistence.conformance.evaluator import Evaluator
from helios_persistence.errors import InvalidSearch
from helios_persistence.storage.sync import Change

WORDS = ["heart", "hearts", "cardiac", "attack", "lung", "lungs", "Müller", "fibrillation",
         "acute", "chronic", "stroke", "the", "of"]  # fmt: skip

texts = st.lists(st.sampled_from(WORDS), min_size=1, max_size=12).map(" ".join)
term = st.one_of(
    st.sampled_from(WORDS),
    st.sampled_from(WORDS).map(lambda w: w[:3] + "*"),
    st.lists(st.sampled_from(WORDS), min_size=2, max_size=3).map(lambda w: f'"{" ".join(w)}"'),
)  # fmt: skip
near = st.tuples(st.lists(st.sampled_from(WORDS), min_size=2, max_size=3),
                 st.integers(0, 4)).map(lambda t: f"NEAR({' '.join(t[0])}, {t[1]})")  # fmt: skip
query_text = st.one_of(
    term,
    near,
    st.tuples(term, term).map(" ".join),
    st.tuples(term, term).map(" OR ".join),
    st.tuples(term, term).map(lambda t: f"{t[0]} -{t[1]}"),
)


def _patient(i: int, narrative: str, family: str) -> dict[str, Any]:
    div = f'<div xmlns="http://www.w3.org/1999/xhtml">{narrative}</div>'
    return {
        "resourceType": "Patient", "id": f"p{i}", "text": {"status": "generated", "div": div},
        "name": [{"family": family}],
        "maritalStatus": {"text": narrative},
        "meta": {"versionId": "1", "lastUpdated": "2024-01-01T00:00:00Z"},
    }  # fmt: skip


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    narratives=st.lists(st.tuples(texts, texts), min_size=3, max_size=8),
    queries=st.lists(query_text, min_size=1, max_size=4),
)
def test_full_text_agrees_with_the_evaluator(
    es_url: str, es_index: str, narratives: list[tuple[str, str]], queries: list[str]
) -> None:
    resources = [_patient(i, n, f) for i, (n, f) in enumerate(narratives)]
    ctx = TenantContext.for_tenant("text")
    store = open_store(f"{es_url}?prefix={es_index}&namespace={uuid.uuid4().hex[:12]}&refresh=true")
    try:
        changes = [Change(0, "text", "Patient", r["id"], 1, "upsert", 0, r) for r in resources]
        assert store.apply(ctx, changes).failed == []
        evaluator = Evaluator(resources)
        for text in queries:
            for param in (
                "_text",
                "_content",
                "marital-status:text-advanced",
                "family:text-advanced",
            ):
                query = f"Patient?{param}={text}"
                try:
                    expected = evaluator.search(query).ids
                except InvalidSearch:
                    continue
                try:
                    got = store.search(ctx, query).ids
                except InvalidSearch as exc:
                    assert exc.issue_code == "not-supported" and "NEAR" in str(exc), query
                    continue
                assert got == expected, query
    finally:
        store.drop()
        store.close()
