"""Property tests of isolation (issue 12): a restricted context sees only what it may.

Each example generates a world, a restricted context (a subset of the resource types, maybe a
Patient compartment, maybe read-only) and queries from the shared query strategies. Every
resource a search returns or includes must be one the context may see; every error message
names only such resources; a ``PermissionDenied`` must be justified by a type or compartment
the query touches, and such a query must be refused. Otherwise the answer must be exactly the
reference evaluator's over the permitted data only (page, includes, total, every following
page): nothing outside the context shows through a chain, ``_has``, a total or a short page.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helios_persistence.authorization import touched_types
from helios_persistence.conformance.evaluator import Evaluator
from helios_persistence.errors import HeliosError, PermissionDenied
from helios_persistence.indexing.rows import ReferenceRow
from helios_persistence.parsing import parse
from helios_persistence.tenancy import Operation, Permissions, TenantContext, compartment_params
from helios_persistence.testing import queries as gen_queries
from helios_persistence.testing import resources as gen
from helios_persistence.testing.differential import agree

try:
    from tests.property.support import REGISTRY, describe, examples, loaded_stores
except ImportError:  # plain `pytest`: tests/ itself is on sys.path
    from property.support import (  # type: ignore[no-redef]
        REGISTRY,
        describe,
        examples,
        loaded_stores,
    )

TYPES = ["Patient", "Practitioner", "Organization", "Encounter", "Condition", "Observation",
         "RiskAssessment"]  # fmt: skip


@st.composite
def permissions(draw: Any, patients: list[str]) -> Permissions:
    types = draw(st.one_of(st.none(), st.frozensets(st.sampled_from(TYPES), min_size=1)))
    compartment = None
    if patients and draw(st.integers(0, 2)) == 0:
        compartment = ("Patient", draw(st.sampled_from([*patients, "nobody"])))
    ops = Operation.read_only() if draw(st.booleans()) else Operation.all()
    return Permissions(ops, types, compartment)


def _in_compartment(doc: Any, compartment: tuple[str, str]) -> bool:
    kind, owner = compartment
    if doc["resourceType"] == kind and doc["id"] == owner:
        return True
    links = compartment_params(kind, doc["resourceType"])
    rows = Evaluator([doc], registry=REGISTRY)._docs[(doc["resourceType"], doc["id"])].rows
    return any(
        isinstance(row, ReferenceRow) and row.url is None and
        (row.target_type, row.target_id) == (kind, owner)
        for param in links for row in rows.get(param, ())
    )  # fmt: skip


def visible(resources: list[dict[str, Any]], perms: Permissions) -> list[dict[str, Any]]:
    """What a context with ``perms`` may see of ``resources``."""
    return [
        r
        for r in resources
        if perms.allows(Operation.SEARCH, r["resourceType"])
        and (perms.compartment is None or _in_compartment(r, perms.compartment))
    ]


def justified(query: str, perms: Permissions) -> bool:
    """Whether refusing ``query`` is right: it names or reads a type the context may not see."""
    try:
        q = parse(query, registry=REGISTRY)
    except HeliosError:
        return False
    named = [q.resource_type] if q.resource_type else list(q.types)
    touched = [*named, *(t for t, _ in touched_types(q.where))]
    restricted = perms.resource_types is not None or perms.compartment is not None
    if q.resource_type is None and restricted and (not q.types or perms.compartment):
        return True  # a restricted context searches named types, in a compartment one type
    if not perms.allows(Operation.SEARCH):
        return True
    if any(not perms.allows(Operation.SEARCH, t) for t in touched):
        return True
    if perms.compartment is not None:
        kind = perms.compartment[0]
        return any(t != kind and not compartment_params(kind, t) for t in touched)
    return False


def _keys(resources: Any) -> set[str]:
    return {f"{r['resourceType']}/{r['id']}" for r in resources}


def check(store: Any, ctx: TenantContext, everything: list[dict[str, Any]], query: str) -> None:
    perms = ctx.permissions
    seen = visible(everything, perms)
    allowed, hidden = _keys(seen), _keys(everything) - _keys(seen)
    permitted = Evaluator(seen, registry=REGISTRY)
    try:
        result = store.search(ctx, query)
    except HeliosError as exc:
        leaked = [k for k in hidden if k in str(exc) or k in str(exc.outcome)]
        assert not leaked, f"{query}: the error names hidden resources {leaked}: {exc}"
        if isinstance(exc, PermissionDenied):
            assert justified(query, perms), f"{query}: refused without reason: {exc}"
        return
    assert not justified(query, perms), f"{query}: a forbidden type was not refused"
    pages = [result]
    while pages[-1].next is not None and len(pages) < 30:
        pages.append(store.search(ctx, pages[-1].next))
    for page in pages:
        shown = _keys(page.resources) | _keys(page.included or [])
        assert shown <= allowed, f"{query}: shows {sorted(shown - allowed)}"
    agree("restricted", store, ctx, permitted, query)


@examples(25)
@given(world=gen.worlds(), data=st.data())
def test_restricted_contexts_see_only_what_they_may(world: dict[str, Any], data: Any) -> None:
    describe(world)
    ids: dict[str, list[str]] = {}
    for r in world["resources"]:
        ids.setdefault(r["resourceType"], []).append(r["id"])
    perms = data.draw(permissions(ids.get("Patient", [])), "permissions")
    query = st.one_of(gen_queries.queries(ids), gen_queries.queries(ids),
                      gen_queries.system_queries(ids))  # fmt: skip
    queries = data.draw(st.lists(query, min_size=1, max_size=4), "queries")
    with loaded_stores(world) as loaded:
        for _name, store, admin, evaluator in loaded:
            if not hasattr(store, "create"):  # read-only analytics stores: not this suite's
                continue
            ctx = admin.with_permissions(perms)
            for query in queries:
                check(store, ctx, evaluator.resources, query)
            if not perms.allows(Operation.CREATE, "Patient"):
                with pytest.raises(PermissionDenied):
                    store.create(ctx, {"resourceType": "Patient"})
