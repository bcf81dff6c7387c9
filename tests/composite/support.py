"""Shared by the composite tests: a composite over a primary and replica secondaries, and a
comparison of its answers with the primary's own."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import helios_persistence as hp
from helios_persistence.composite import CompositeStore, HealthSettings, SyncSettings

try:
    from tests.composite.replica import CHEAP, Replica, TextReplicaCompiler
except ImportError:  # plain `pytest`: tests/ itself is on sys.path
    from composite.replica import CHEAP, Replica, TextReplicaCompiler  # type: ignore[no-redef]

#: the seed's polyglot query, over the generator's data (its Patients have narratives)
POLYGLOT = [
    "Observation?patient.name:contains=ar&_content=glucose&code=http://loinc.org|2339-0"
    "&_include=Observation:patient&_count=7&_total=accurate",
    "Patient?_text=diabetes&gender=male&_count=3&_total=accurate&_sort=-birthdate",
    "Patient?_text=asthma&_has:Observation:patient:code=http://loinc.org|2339-0"
    "&_revinclude=Observation:patient&_count=4",
    "Observation?patient.name:contains=ar&_count=10&_sort=_id",
    "Encounter?subject.gender=female&_content=ambulatory&_count=5&_total=accurate",
    "Patient?name=harris&_text=diabetes",
    "Patient?_content=nothing-has-this-word",
]


@contextmanager
def composite_over(
    primary: Any, *, mode: str = "sync", start: bool = False, **options: Any
) -> Iterator[tuple[CompositeStore, Replica, Replica]]:
    """A composite over ``primary`` with a text-only search replica and a graph replica
    (costs: secondaries cheaper for everything but plain parts); the caller closes
    ``primary``."""
    search, graph = Replica(TextReplicaCompiler), Replica()
    options.setdefault("health", HealthSettings(interval=3600, failure_threshold=2,
                                                success_threshold=2))  # fmt: skip
    options.setdefault("sync_settings", SyncSettings(poll=0.05, backoff=0.05, backoff_max=0.2))
    store = hp.composite(
        primary=primary, search=search, graph=graph, sync=mode, costs=CHEAP, start=start,
        **options,
    )  # fmt: skip
    try:
        yield store, search, graph
    finally:
        store.close()
        search.close()
        graph.close()


def pages(store: Any, ctx: hp.TenantContext, query: str) -> list[tuple[Any, ...]]:
    """Every page of ``query``: ids, included ids, total, next link."""
    out = []
    result = store.search(ctx, query)
    while True:
        out.append((result.ids, sorted(r["id"] for r in result.included), result.total,
                    result.next))  # fmt: skip
        if result.next is None or len(out) > 20:
            return out
        result = store.search(ctx, result.next)
