"""Terminology on every SQL backend: the closure table, ValueSet expansion and its cache.

The official R4 terminology bundles (``fhir-r4/v3-codesystems.json``, ``valuesets.json`` in
the shared data; skipped when absent) are bulk-loaded into each backend. Subsumption is
checked against a walk of each CodeSystem's JSON written here (nested ``concept`` trees and
``child`` properties), ``:below``/``:above`` searches against the same walk, and expansions
against what each ValueSet's compose says. Cache reuse and invalidation, the transaction the
closure is written in, tenant isolation and errors are checked on small resources.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import helios_persistence as hp
from helios_persistence.errors import HeliosError, TerminologyError
from helios_persistence.terminology import ResourceSource, expand

try:
    from tests.conformance.backends import STORES
except ImportError:  # plain `pytest`: tests/ itself is on sys.path
    from conformance.backends import STORES  # type: ignore[no-redef]


def _shared_data() -> Path:
    env = os.environ.get("HELIOS_SHARED_DATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


R4 = _shared_data() / "fhir-r4"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
HIERARCHICAL = (
    ACT_CODE,
    "http://terminology.hl7.org/CodeSystem/v3-RoleCode",
    "http://terminology.hl7.org/CodeSystem/v3-Race",
    "http://terminology.hl7.org/CodeSystem/v3-RouteOfAdministration",
)


def _bundle(name: str) -> list[dict[str, Any]]:
    path = R4 / name
    if not path.is_file():
        pytest.skip(
            f"{path} not found (the official R4 terminology bundle; set HELIOS_SHARED_DATA)"
        )
    data = json.loads(path.read_text(encoding="utf-8"))
    return [e["resource"] for e in data["entry"]]


def _backends() -> list[Any]:
    params = []
    for backend in STORES.values():
        if backend.name == "sqlite-file":
            continue
        reason = backend.unavailable()
        params.append(
            pytest.param(backend, marks=pytest.mark.skipif(bool(reason), reason=reason or ""))
        )
    return params


@pytest.fixture(params=_backends(), ids=lambda b: b.name)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    s = request.param.open(tmp_path)
    try:
        yield s
    finally:
        s.close()


CTX = hp.TenantContext.for_tenant("terminology")


@pytest.fixture(scope="module", params=_backends(), ids=lambda b: b.name)
def loaded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Any, list[dict[str, Any]]]]:
    """A store with both official terminology bundles bulk-loaded (CodeSystems last written
    win on an id shared by the two bundles, as in the store)."""
    resources: dict[tuple[str, str], dict[str, Any]] = {}
    for name in ("valuesets.json", "v3-codesystems.json"):
        for r in _bundle(name):
            resources[(r["resourceType"], r["id"])] = r
    s = request.param.open(tmp_path_factory.mktemp("terminology"))
    try:
        s.bulk_load(CTX, list(resources.values()), batch=200)
        yield s, list(resources.values())
    finally:
        s.close()


# -- an independent reading of a CodeSystem's hierarchy ----------------------------------------
def _parents(cs: dict[str, Any]) -> dict[str, set[str]]:
    """child → parents, from nesting and ``child``/``parent``/``subsumedBy`` properties."""
    parents: dict[str, set[str]] = {}
    codes: set[str] = set()

    def walk(concepts: list[dict[str, Any]], parent: str | None) -> None:
        for c in concepts:
            codes.add(c["code"])
            if parent is not None:
                parents.setdefault(c["code"], set()).add(parent)
            for p in c.get("property", []):
                value = p.get("valueCode")
                if p["code"] == "child" and value:
                    parents.setdefault(value, set()).add(c["code"])
                elif p["code"] in ("parent", "subsumedBy") and value:
                    parents.setdefault(c["code"], set()).add(value)
            walk(c.get("concept", []), c["code"])

    walk(cs.get("concept", []), None)
    return {c: {p for p in ps if p in codes and p != c} for c, ps in parents.items() if c in codes}


def _all_codes(cs: dict[str, Any]) -> list[str]:
    out: list[str] = []
    stack = list(cs.get("concept", []))
    while stack:
        c = stack.pop()
        out.append(c["code"])
        stack.extend(c.get("concept", []))
    return sorted(set(out))


def _above(parents: dict[str, set[str]], code: str) -> set[str]:
    seen, todo = {code}, [code]
    while todo:
        for p in parents.get(todo.pop(), ()):
            if p not in seen:
                seen.add(p)
                todo.append(p)
    return seen


def _codesystem(resources: list[dict[str, Any]], url: str) -> dict[str, Any]:
    return next(r for r in resources if r["resourceType"] == "CodeSystem" and r["url"] == url)


# -- real data ---------------------------------------------------------------------------------
@pytest.mark.parametrize("url", HIERARCHICAL)
def test_subsumes_matches_the_hierarchy_of_real_v3_codesystems(
    loaded: tuple[Any, list[dict[str, Any]]], url: str
) -> None:
    store, resources = loaded
    cs = _codesystem(resources, url)
    parents = _parents(cs)
    codes = _all_codes(cs)
    assert any(parents.values()), f"{url} should be hierarchical"
    rng = random.Random(url)
    pairs = [(rng.choice(codes), rng.choice(codes)) for _ in range(40)]
    # plus pairs that are related, which random pairs rarely are
    for child in rng.sample(sorted(parents), min(20, len(parents))):
        pairs.append((rng.choice(sorted(_above(parents, child))), child))
    for a, b in pairs:
        outcome = store.subsumes(CTX, url, a, b)["parameter"][0]["valueCode"]
        if a == b:
            expected = "equivalent"
        elif a in _above(parents, b):
            expected = "subsumes"
        elif b in _above(parents, a):
            expected = "subsumed-by"
        else:
            expected = "not-subsumed"
        assert outcome == expected, (a, b)


def test_below_and_above_searches_follow_real_act_code(
    loaded: tuple[Any, list[dict[str, Any]]],
) -> None:
    store, resources = loaded
    cs = _codesystem(resources, ACT_CODE)
    parents = _parents(cs)
    codes = _all_codes(cs)
    rng = random.Random(7)
    coded = rng.sample(codes, 150)
    ctx = hp.TenantContext.for_tenant("terminology-search")
    store.bulk_load(ctx, [cs])  # the closure of this tenant: only this CodeSystem
    store.bulk_load(
        ctx,
        [
            {"resourceType": "Encounter", "id": f"e{i}", "status": "finished",
             "class": {"system": ACT_CODE, "code": code}}
            for i, code in enumerate(coded)
        ],
    )  # fmt: skip
    for probe in rng.sample(sorted({p for ps in parents.values() for p in ps}), 8):
        below = store.search(ctx, f"Encounter?class:below={ACT_CODE}|{probe}&_count=500")
        want = {f"e{i}" for i, c in enumerate(coded) if probe in _above(parents, c)}
        assert {r["id"] for r in below.resources} == want, probe
        leaf = rng.choice(coded)
        above = store.search(ctx, f"Encounter?class:above={ACT_CODE}|{leaf}&_count=500")
        want = {f"e{i}" for i, c in enumerate(coded) if c in _above(parents, leaf)}
        assert {r["id"] for r in above.resources} == want, leaf


def _only_explicit(vs: dict[str, Any]) -> bool:
    compose = vs.get("compose") or {}
    entries = compose.get("include", []) + compose.get("exclude", [])
    return bool(entries) and all(
        e.get("concept") and not e.get("filter") and not e.get("valueSet") for e in entries
    )


def test_real_valuesets_expand_or_fail_clearly(loaded: tuple[Any, list[dict[str, Any]]]) -> None:
    """Every shared ValueSet expands, or fails with a TerminologyError naming it; explicit
    concept lists expand to exactly their codes; the store's (cached) expansion is the
    in-memory one."""
    store, resources = loaded
    valuesets = [r for r in resources if r["resourceType"] == "ValueSet" and r.get("url")]
    source = ResourceSource(resources)
    expanded = failed = 0
    for vs in valuesets:
        try:
            mine = expand(vs, source)
        except TerminologyError as exc:
            assert vs["url"] in str(exc)
            with pytest.raises(TerminologyError):
                store.expand(CTX, f"ValueSet/{vs['id']}")
            failed += 1
            continue
        expanded += 1
        got = {(c["system"], c["code"]) for c in mine["expansion"]["contains"]}
        assert mine["expansion"]["total"] == len(got)
        if _only_explicit(vs):
            want: set[tuple[str, str]] = set()
            for inc in vs["compose"].get("include", []):
                want |= {(inc["system"], c["code"]) for c in inc["concept"]}
            for exc_ in vs["compose"].get("exclude", []):
                want -= {(exc_["system"], c["code"]) for c in exc_["concept"]}
            assert got == want, vs["url"]
    assert expanded > 500 and failed < expanded, (expanded, failed)
    # the store agrees with the in-memory expansion on a sample (each cached on first use)
    for vs in random.Random(3).sample(valuesets, 25):
        try:
            want_codes = {
                (c["system"], c["code"]) for c in expand(vs, source)["expansion"]["contains"]
            }
        except TerminologyError:
            continue
        got = store.expand(CTX, f"ValueSet/{vs['id']}")
        assert {(c["system"], c["code"]) for c in got["expansion"]["contains"]} == want_codes


def test_is_a_valuesets_hold_exactly_the_descendants(
    loaded: tuple[Any, list[dict[str, Any]]],
) -> None:
    store, resources = loaded
    checked = 0
    for vs in resources:
        if vs["resourceType"] != "ValueSet":
            continue
        includes = (vs.get("compose") or {}).get("include", [])
        if len(includes) != 1 or (vs.get("compose") or {}).get("exclude"):
            continue
        inc = includes[0]
        filters = inc.get("filter", [])
        if len(filters) != 1 or filters[0]["op"] != "is-a" or inc.get("valueSet"):
            continue
        cs = next((r for r in resources if r["resourceType"] == "CodeSystem"
                   and r.get("url") == inc["system"]), None)  # fmt: skip
        if cs is None or cs.get("content") != "complete":
            continue
        parents = _parents(cs)
        root = filters[0]["value"]
        want = {c for c in _all_codes(cs) if root in _above(parents, c)}
        got = store.expand(CTX, vs["url"])
        assert {c["code"] for c in got["expansion"]["contains"]} == want, vs["url"]
        checked += 1
    assert checked >= 20


def test_lookup_real_code(loaded: tuple[Any, list[dict[str, Any]]]) -> None:
    store, resources = loaded
    cs = _codesystem(resources, ACT_CODE)
    parents = _parents(cs)
    code = sorted(c for c in parents if parents[c])[0]
    found = store.lookup(CTX, ACT_CODE, code)
    params = found["parameter"]
    assert found["resourceType"] == "Parameters"
    listed_parents = {
        p["part"][1]["valueCode"]
        for p in params
        if p["name"] == "property" and p["part"][0]["valueCode"] == "parent"
    }
    assert listed_parents == parents[code]
    with pytest.raises(TerminologyError, match="not a code"):
        store.lookup(CTX, ACT_CODE, "no-such-code")


# -- cache, transactions, tenants, errors --------------------------------------------------------
SYS = "http://example.org/cs/t"


def _cs(*tree: Any, id: str = "cs", url: str = SYS) -> dict[str, Any]:
    def concept(node: Any) -> dict[str, Any]:
        code, *children = node if isinstance(node, tuple) else (node,)
        out: dict[str, Any] = {"code": code}
        if children:
            out["concept"] = [concept(c) for c in children]
        return out

    return {"resourceType": "CodeSystem", "id": id, "url": url, "status": "active",
            "content": "complete", "concept": [concept(n) for n in tree]}  # fmt: skip


def _vs(id: str, include: list[dict[str, Any]]) -> dict[str, Any]:
    return {"resourceType": "ValueSet", "id": id, "url": f"http://example.org/vs/{id}",
            "status": "active", "compose": {"include": include}}  # fmt: skip


def _obs(id: str, code: str) -> dict[str, Any]:
    return {"resourceType": "Observation", "id": id, "status": "final",
            "code": {"coding": [{"system": SYS, "code": code}]}}  # fmt: skip


def _ids(store: Any, query: str, ctx: Any = CTX) -> list[str]:
    return sorted(r["id"] for r in store.search(ctx, query).resources)


def _expanded_at(store: Any, key: str) -> Any:
    with store.read_session(CTX) as s:
        rows = store._terminology(s.conn).rows(
            "SELECT expanded_at FROM term_expansion_state WHERE tenant = ? AND valueset = ?",
            (s.tenant, key),
        )
    return rows[0][0] if rows else None


def test_expansion_is_cached_and_dropped_when_what_it_used_changes(store: Any) -> None:
    store.update(CTX, _cs(("a", ("b", "c"))))
    store.update(CTX, _vs("under-b", [{"system": SYS, "filter": [
        {"property": "concept", "op": "is-a", "value": "b"}]}]))  # fmt: skip
    store.update(CTX, _vs("outer", [{"valueSet": ["http://example.org/vs/under-b"]}]))
    for code in ("a", "b", "c", "d"):
        store.update(CTX, _obs(code, code))
    assert _expanded_at(store, "ValueSet/outer") is None
    assert _ids(store, "Observation?code:in=http://example.org/vs/outer") == ["b", "c"]
    first = _expanded_at(store, "ValueSet/outer")
    assert first is not None
    assert _ids(store, "Observation?code:in=ValueSet/outer") == ["b", "c"]
    assert store.expand(CTX, "http://example.org/vs/outer")["expansion"]["total"] == 2
    assert _expanded_at(store, "ValueSet/outer") == first  # reused, not expanded again
    # the CodeSystem gains d under b: both expansions (outer through its import) are dropped
    store.update(CTX, _cs(("a", ("b", "c", "d"))))
    assert _expanded_at(store, "ValueSet/outer") is None
    assert _ids(store, "Observation?code:in=http://example.org/vs/outer") == ["b", "c", "d"]
    assert _ids(store, "Observation?code:below=http://example.org/cs/t|b") == ["b", "c", "d"]
    # the imported ValueSet changes: the importing one is dropped too
    store.update(CTX, _vs("under-b", [{"system": SYS, "concept": [{"code": "a"}]}]))
    assert _expanded_at(store, "ValueSet/outer") is None
    assert _ids(store, "Observation?code:in=http://example.org/vs/outer") == ["a"]
    # deleting the CodeSystem: its closure goes; an explicit list still expands
    store.delete(CTX, "CodeSystem", "cs")
    assert _ids(store, "Observation?code:below=http://example.org/cs/t|a") == ["a"]
    store.delete(CTX, "ValueSet", "under-b")
    with pytest.raises(TerminologyError, match="under-b"):
        store.search(CTX, "Observation?code:in=http://example.org/vs/outer")


def test_closure_is_written_in_the_transaction_of_the_codesystem(store: Any) -> None:
    store.update(CTX, _obs("o", "child"))

    def put(resource: dict[str, Any]) -> dict[str, Any]:
        url = f"{resource['resourceType']}/{resource['id']}"
        return {"resource": resource, "request": {"method": "PUT", "url": url}}

    invalid = {"resourceType": "Patient", "id": "bad id"}  # an id with a space
    entries = [put(_cs(("parent", "child"))), put(invalid)]
    with pytest.raises(HeliosError):
        store.transaction(CTX, {"resourceType": "Bundle", "type": "transaction", "entry": entries})
    assert _ids(store, f"Observation?code:below={SYS}|parent") == []
    store.transaction(CTX, {"resourceType": "Bundle", "type": "transaction", "entry": entries[:1]})
    assert _ids(store, f"Observation?code:below={SYS}|parent") == ["o"]


def test_terminology_is_per_tenant(store: Any) -> None:
    other = hp.TenantContext.for_tenant("terminology-other")
    store.update(CTX, _cs(("parent", "child")))
    store.update(CTX, _vs("all", [{"system": SYS}]))
    for ctx in (CTX, other):
        store.update(ctx, _obs("o", "child"))
    assert _ids(store, f"Observation?code:below={SYS}|parent") == ["o"]
    assert _ids(store, f"Observation?code:below={SYS}|parent", other) == []
    assert _ids(store, "Observation?code:in=http://example.org/vs/all") == ["o"]
    with pytest.raises(TerminologyError, match="not stored"):
        store.search(other, "Observation?code:in=http://example.org/vs/all")


def test_an_unexpandable_valueset_is_an_error_that_changes_nothing(store: Any) -> None:
    store.update(CTX, _vs("unknown", [{"system": "http://unknown.example.org"}]))
    with pytest.raises(TerminologyError) as raised:
        store.search(CTX, "Observation?code:in=http://example.org/vs/unknown")
    assert "http://example.org/vs/unknown" in str(raised.value)
    assert "http://unknown.example.org" in str(raised.value)
    outcome = raised.value.outcome
    assert outcome["issue"][0]["code"] == "not-found"
    assert _expanded_at(store, "ValueSet/unknown") is None
    with pytest.raises(TerminologyError, match="http://nowhere"):
        store.expand(CTX, "http://nowhere")


def test_a_batch_search_caches_the_expansion_it_needs(store: Any) -> None:
    store.update(CTX, _cs(("parent", "child")))
    store.update(CTX, _vs("all", [{"system": SYS}]))
    store.update(CTX, _obs("o", "child"))
    get = {"request": {"method": "GET", "url": "Observation?code:in=ValueSet/all"}}
    response = store.transaction(CTX, {"resourceType": "Bundle", "type": "batch", "entry": [get]})
    (entry,) = response["entry"]
    assert entry["response"]["status"] == "200 OK"
    assert [e["resource"]["id"] for e in entry["resource"]["entry"]] == ["o"]
    assert _expanded_at(store, "ValueSet/all") is not None


def test_concurrent_first_searches_cache_one_expansion(store: Any) -> None:
    from concurrent.futures import ThreadPoolExecutor

    store.update(CTX, _cs(("parent", "child", "other")))
    for i in range(3):
        store.update(CTX, _vs(f"v{i}", [{"system": SYS, "filter": [
            {"property": "concept", "op": "is-a", "value": "parent"}]}]))  # fmt: skip
    store.update(CTX, _obs("o", "child"))
    queries = [f"Observation?code:in=ValueSet/v{i % 3}" for i in range(12)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda q: _ids(store, q), queries))
    assert results == [["o"]] * len(queries)
    with store.read_session(CTX) as s:
        rows = store._terminology(s.conn).rows(
            "SELECT valueset, count(*) FROM term_expansion_state WHERE tenant = ? "
            "GROUP BY valueset ORDER BY valueset",
            (s.tenant,),
        )
    assert [tuple(r) for r in rows] == [("ValueSet/v0", 1), ("ValueSet/v1", 1), ("ValueSet/v2", 1)]


def test_a_repeated_search_follows_the_valueset_its_url_names_now(store: Any) -> None:
    """Run often enough to be a prepared statement on PostgreSQL (which resolves the url in
    the statement): replacing the ValueSet by another resource with the same url, or
    changing what it holds, changes the answer at once."""
    store.update(CTX, _cs(("a", ("b", "c"))))
    for code in ("a", "b", "c"):
        store.update(CTX, _obs(code, code))
    store.update(CTX, _vs("first", [{"system": SYS, "concept": [{"code": "b"}]}]))
    query = "Observation?code:in=http://example.org/vs/first"
    for _ in range(8):
        assert _ids(store, query) == ["b"]
    store.delete(CTX, "ValueSet", "first")
    second = _vs("second", [{"system": SYS, "concept": [{"code": "c"}]}])
    second["url"] = "http://example.org/vs/first"
    store.update(CTX, second)
    for _ in range(3):
        assert _ids(store, query) == ["c"]
    second["compose"]["include"][0]["concept"] = [{"code": "a"}]
    store.update(CTX, second)
    assert _ids(store, query) == ["a"]
    store.delete(CTX, "ValueSet", "second")
    with pytest.raises(TerminologyError, match="not stored"):
        store.search(CTX, query)
