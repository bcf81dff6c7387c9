"""Property: any sequence of writes keeps the history consistent with a simple model."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helios_persistence.errors import Gone, NotFound
from helios_persistence.tenancy import TenantContext

from .helpers import count_rows

IDS = ["a", "b", "c"]
ops = st.lists(
    st.tuples(
        st.sampled_from(["update", "delete", "patch", "delete_history"]),
        st.sampled_from(IDS),
        st.text(alphabet="abcxyz", min_size=1, max_size=5),
    ),
    max_size=25,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops)
def test_history_matches_model(shared_store: Any, sequence: list[tuple[str, str, str]]) -> None:
    store = shared_store
    ctx = TenantContext.for_tenant(f"t{uuid.uuid4().hex}")
    # model: id -> {version: family or None (deletion)}, and the highest version
    versions: dict[str, dict[int, str | None]] = {i: {} for i in IDS}
    last: dict[str, int] = dict.fromkeys(IDS, 0)
    for op, rid, family in sequence:
        current = versions[rid].get(last[rid]) if last[rid] else None
        if op == "update":
            store.update(ctx, {"resourceType": "Patient", "id": rid, "name": [{"family": family}]})
        elif op == "delete":
            result = store.delete(ctx, "Patient", rid)
            if current is None:
                assert result is None
                continue
        elif op == "patch":
            if current is None:
                with pytest.raises((NotFound, Gone)):
                    store.patch(ctx, "Patient", rid, [])
                continue
            store.patch(
                ctx, "Patient", rid, [{"op": "replace", "path": "/name/0/family", "value": family}]
            )
        else:
            if not last[rid]:
                with pytest.raises(NotFound):
                    store.delete_history(ctx, "Patient", rid)
            else:
                dropped = store.delete_history(ctx, "Patient", rid)
                assert dropped == len(versions[rid]) - 1
                versions[rid] = {last[rid]: versions[rid][last[rid]]}
            continue
        last[rid] += 1
        versions[rid][last[rid]] = None if op == "delete" else family

    for rid in IDS:
        if not last[rid]:
            with pytest.raises(NotFound):
                store.read(ctx, "Patient", rid)
            continue
        kept = sorted(versions[rid])
        assert kept == list(range(kept[0], last[rid] + 1))  # contiguous, ending at the last
        bundle = store.history(ctx, "Patient", rid)
        assert [e["response"]["etag"] for e in bundle["entry"]] == [
            f'W/"{v}"' for v in reversed(kept)
        ]
        for v in kept:
            family = versions[rid][v]
            if family is None:
                with pytest.raises(Gone):
                    store.vread(ctx, "Patient", rid, str(v))
            else:
                assert (
                    store.vread(ctx, "Patient", rid, str(v)).resource["name"][0]["family"] == family
                )
        final = versions[rid][last[rid]]
        if final is None:
            with pytest.raises(Gone):
                store.read(ctx, "Patient", rid)
            assert count_rows(store, ctx, "idx_string", tenant=ctx.tenant_key, id=rid) == 0
        else:
            read = store.read(ctx, "Patient", rid)
            assert read.version_id == str(last[rid])
            assert read.resource["name"][0]["family"] == final
        stamps = [e["response"]["lastModified"] for e in bundle["entry"]]
        assert stamps == sorted(stamps, reverse=True) and len(set(stamps)) == len(stamps)
    system = store.history(ctx)
    assert system["total"] == sum(len(v) for v in versions.values())
