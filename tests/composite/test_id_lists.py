"""Long ``_id`` alternative lists (the merger's id sets) compile to one bound id list on the
SQL dialects: the same answers as the short form, for every length around the threshold."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import helios_persistence as hp
from helios_persistence import ir
from helios_persistence.compilers.sql_predicates import ID_LIST_MIN
from helios_persistence.composite.merger import id_predicate

PATIENTS = [
    {"resourceType": "Patient", "id": f"p{i:02d}", "gender": "male" if i % 3 else "female"}
    for i in range(40)
]
CTX = hp.TenantContext.for_tenant("ids")


@pytest.fixture(scope="module")
def store():
    s = hp.open_store("sqlite://")
    s.bulk_load(CTX, PATIENTS)
    yield s
    s.close()


@settings(max_examples=20, deadline=None)
@given(
    ids=st.sets(st.sampled_from([p["id"] for p in PATIENTS] + ["nope", "a%b", "x_y"]),
                max_size=40),
    gender=st.sampled_from(["male", "female", None]),
)  # fmt: skip
def test_id_lists_match_exactly_the_listed_resources(store, ids: set[str], gender) -> None:
    where: ir.Predicate = id_predicate(ids)
    if gender is not None:
        where = ir.And((where, ir.TokenMatch("gender", ir.TokenOp.EQ, None, gender)))
    got = store.search(
        CTX, ir.Query("Patient", where=where, count=100, total=ir.TotalMode.ACCURATE)
    )
    want = sorted(p["id"] for p in PATIENTS if p["id"] in ids and gender in (None, p["gender"]))
    assert sorted(r["id"] for r in got.resources) == want and got.total == len(want)


def test_the_long_form_binds_one_list() -> None:
    short = id_predicate({f"id-{i}" for i in range(ID_LIST_MIN - 1)})
    long = id_predicate({f"id-{i}" for i in range(ID_LIST_MIN)})
    for dialect in ("sqlite", "postgres", "duckdb"):
        a = hp.compile(ir.Query("Patient", where=short), dialect)
        b = hp.compile(ir.Query("Patient", where=long), dialect)
        assert len(a.params) > ID_LIST_MIN and len(b.params) < 8, dialect
        assert "id-1" not in b.text  # values stay bound
