"""``replicate``, ``compare`` and ``rebuild`` (storage/sync.py) on every primary backend.

The secondary here is :class:`VersionTable`, the smallest correct :class:`SecondaryStore`
(a dict of the newest version per resource): what is under test is the primary's outbox and
current-resource reads and the sync algorithm over them; the real secondaries (Neo4j,
Elasticsearch) run the same functions in their own suites.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helios_persistence.errors import Gone, NotFound
from helios_persistence.storage.sync import (
    ApplyReport,
    Change,
    SecondaryStore,
    compare,
    rebuild,
    replicate,
)
from helios_persistence.tenancy import TenantContext


class VersionTable:
    """``{(tenant, type, id): (version, deleted)}``, applied idempotently by version; a change
    whose id is in ``refuse`` fails (to exercise the resume position)."""

    def __init__(self, refuse: frozenset[str] = frozenset()) -> None:
        self.rows: dict[tuple[str, str, str], tuple[int, bool]] = {}
        self.refuse = refuse

    def apply(self, ctx: TenantContext, changes: Sequence[Change]) -> ApplyReport:
        report = ApplyReport()
        for c in changes:
            if c.id in self.refuse:
                report.failed.append((c, "refused"))
                continue
            key = (ctx.tenant_key, c.resource_type, c.id)
            held = self.rows.get(key)
            if held is not None and held[0] >= c.version:
                report.stale += 1
                continue
            self.rows[key] = (c.version, c.operation == "delete")
            report.applied += 1
        return report

    def versions(self, ctx: TenantContext) -> dict[tuple[str, str], int]:
        return {
            (t, i): v
            for (tenant, t, i), (v, deleted) in self.rows.items()
            if tenant == ctx.tenant_key and not deleted
        }


def _current(store: Any, ctx: TenantContext, ids: set[str]) -> dict[tuple[str, str], int]:
    out = {}
    for i in ids:
        try:
            out[("Patient", i)] = int(store.read(ctx, "Patient", i).version_id)
        except (Gone, NotFound):
            continue
    return out


#: a write: (id, delete?)
WRITES = st.lists(st.tuples(st.sampled_from("abcdef"), st.booleans()), min_size=1, max_size=25)


def _write(store: Any, ctx: TenantContext, writes: list[tuple[str, bool]]) -> set[str]:
    for rid, delete in writes:
        if delete:
            store.delete(ctx, "Patient", rid)
        else:
            store.update(ctx, {"resourceType": "Patient", "id": rid, "active": True})
    return {rid for rid, _ in writes}


def test_the_protocol_is_met() -> None:
    assert isinstance(VersionTable(), SecondaryStore)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(writes=WRITES, batch=st.integers(1, 7), tenant=st.uuids())
def test_replicating_the_outbox_in_any_batch_size_converges(
    shared_store: Any, writes: list[tuple[str, bool]], batch: int, tenant: Any
) -> None:
    ctx = TenantContext.for_tenant(f"t{tenant.hex[:12]}")
    _write(shared_store, ctx, writes)  # (a tenant may repeat across examples)
    secondary = VersionTable()
    report, position = replicate(shared_store, secondary, ctx, batch=batch)
    assert not report.failed
    outbox = shared_store.read_outbox(ctx, limit=10_000)
    assert position == (outbox[-1].seq if outbox else 0)
    assert secondary.versions(ctx) == _current(shared_store, ctx, set("abcdef"))
    again, same = replicate(shared_store, secondary, ctx, after=0, batch=batch)
    assert again.applied == 0 and same == position  # replaying is a no-op
    assert compare(shared_store, secondary, ctx).clean


def test_a_failed_change_holds_the_position_before_it(store: Any, ctx: TenantContext) -> None:
    _write(store, ctx, [("a", False), ("b", False), ("c", False)])
    seq_b = next(c.seq for c in store.read_outbox(ctx) if c.id == "b")
    secondary = VersionTable(refuse=frozenset({"b"}))
    report, position = replicate(store, secondary, ctx, batch=10)
    assert [c.id for c, _ in report.failed] == ["b"] and position == seq_b - 1
    secondary.refuse = frozenset()
    report, position = replicate(store, secondary, ctx, after=position)
    assert not report.failed and compare(store, secondary, ctx).clean


def test_compare_names_missing_extra_and_stale_and_rebuild_mends_them(
    store: Any, ctx: TenantContext
) -> None:
    _write(store, ctx, [("a", False), ("b", False), ("b", False), ("c", False)])
    secondary = VersionTable()
    other = TenantContext.for_tenant("someone-else")
    secondary.apply(ctx, [Change(0, ctx.tenant_key, "Patient", "b", 1, "upsert", 0),
                          Change(0, ctx.tenant_key, "Patient", "zz", 4, "upsert", 0)])  # fmt: skip
    secondary.apply(other, [Change(0, other.tenant_key, "Patient", "a", 1, "upsert", 0)])
    drift = compare(store, secondary, ctx)
    assert drift.missing == [("Patient", "a"), ("Patient", "c")]
    assert drift.extra == [("Patient", "zz")]
    assert drift.stale == [("Patient", "b")]
    report = rebuild(store, secondary, ctx, batch=2)
    assert not report.failed
    assert compare(store, secondary, ctx).clean
    assert secondary.versions(other) == {("Patient", "a"): 1}  # another tenant is untouched
