"""Terminology worlds and queries: random CodeSystem hierarchies, ValueSets over them, and
Observations coded against them, for ``:below``, ``:above``, ``:in``, ``:not-in`` and
``_filter`` ``sb``/``ss``/``in``/``ni``.

A hierarchy is a random DAG over a handful of codes, written either as nested ``concept``
trees (first parent) plus ``parent``/``child``/``subsumedBy`` properties (the others), or
flat with properties only. A second CodeSystem reuses some code names (codes without a
system must consider both). ValueSets mix ``is-a``, ``descendent-of``, ``is-not-a``, ``in``,
``regex``, explicit codes (also of a system no CodeSystem describes), imports and excludes;
some name unknown systems or import missing ValueSets (errors on both sides). Updates change a
CodeSystem's hierarchy or a ValueSet's compose; deletes remove either.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

A, B, NOWHERE = "http://example.org/cs/a", "http://example.org/cs/b", "http://nowhere.example"
CODES = [f"c{i}" for i in range(5)]
VS = "http://example.org/vs/"


@st.composite
def hierarchies(draw: Any, codes: list[str]) -> dict[str, list[str]]:
    """code → parents (earlier codes only: no cycles)."""
    out: dict[str, list[str]] = {}
    for i, code in enumerate(codes):
        options = codes[:i]
        out[code] = (
            draw(st.lists(st.sampled_from(options), max_size=2, unique=True)) if options else []
        )
    return out


@st.composite
def codesystems(draw: Any, id: str, url: str) -> dict[str, Any]:
    codes = draw(st.lists(st.sampled_from(CODES), min_size=3, max_size=5, unique=True))
    parents = draw(hierarchies(codes))
    nested = draw(st.booleans())
    concepts: dict[str, dict[str, Any]] = {}
    for code in codes:
        concepts[code] = {"code": code, "display": f"{code} of {id}"}
        if draw(st.booleans()):
            concepts[code]["property"] = [
                {"code": "kind", "valueString": draw(st.sampled_from(["x", "y"]))}
            ]
    roots = []
    for code in codes:
        ps = parents[code]
        if nested and ps:  # under its first parent; any others by property
            concepts[ps[0]].setdefault("concept", []).append(concepts[code])
            ps = ps[1:]
        else:
            roots.append(concepts[code])
        for p in ps:
            how = draw(st.sampled_from(["parent", "subsumedBy", "child"]))
            if how == "child":
                concepts[p].setdefault("property", []).append({"code": "child", "valueCode": code})
            else:
                concepts[code].setdefault("property", []).append({"code": how, "valueCode": p})
    return {"resourceType": "CodeSystem", "id": id, "url": url, "status": "active",
            "content": "complete", "concept": roots}  # fmt: skip


@st.composite
def includes(draw: Any, vs_ids: list[str]) -> dict[str, Any]:
    kind = draw(
        st.sampled_from(["filter"] * 4 + ["concepts", "concepts", "system", "import", "nowhere"])
    )
    system = draw(st.sampled_from([A, A, B]))
    if kind == "filter":
        op = draw(st.sampled_from(["is-a", "descendent-of", "is-not-a", "in", "regex", "="]))
        prop = "concept"
        if op == "in":
            value = ",".join(draw(st.lists(st.sampled_from(CODES), min_size=1, max_size=3)))
        elif op == "regex":
            value = draw(st.sampled_from(["c[0-2]", "c.*", "c1|c4"]))
        elif op == "=":
            prop, value = "kind", draw(st.sampled_from(["x", "y"]))
        else:
            value = draw(st.sampled_from(CODES))
        return {"system": system, "filter": [{"property": prop, "op": op, "value": value}]}
    if kind == "concepts":
        system = draw(st.sampled_from([A, A, B, NOWHERE]))
        codes = draw(st.lists(st.sampled_from(CODES), min_size=1, max_size=3, unique=True))
        return {"system": system, "concept": [{"code": c} for c in codes]}
    if kind == "system":
        return {"system": system}
    if kind == "import" and vs_ids:
        return {"valueSet": [VS + draw(st.sampled_from(vs_ids))]}
    return {"system": "http://unknown.example.org"} if kind == "nowhere" else {"system": system}


@st.composite
def valuesets(draw: Any, id: str, earlier: list[str]) -> dict[str, Any]:
    compose: dict[str, Any] = {"include": draw(st.lists(includes(earlier), min_size=1, max_size=2))}
    if draw(st.integers(0, 2)) == 0:
        compose["exclude"] = [draw(includes([]))]
    return {"resourceType": "ValueSet", "id": id, "url": VS + id, "status": "active",
            "compose": compose}  # fmt: skip


@st.composite
def codings(draw: Any) -> dict[str, Any]:
    system = draw(st.sampled_from([A, A, A, B, None, NOWHERE]))
    coding = {"code": draw(st.sampled_from(CODES))}
    if system is not None:
        coding["system"] = system
    return coding


@st.composite
def terminology_worlds(draw: Any) -> dict[str, Any]:
    resources: list[dict[str, Any]] = [draw(codesystems("cs-a", A)), draw(codesystems("cs-b", B))]
    vs_ids: list[str] = []
    for i in range(draw(st.integers(2, 4))):
        resources.append(draw(valuesets(f"vs{i}", list(vs_ids))))
        vs_ids.append(f"vs{i}")
    for i in range(draw(st.integers(2, 8))):
        obs: dict[str, Any] = {"resourceType": "Observation", "id": f"o{i}", "status": "final"}
        found = draw(st.lists(codings(), max_size=2))
        obs["code"] = {"coding": found} if found else {"text": "no coding"}
        resources.append(obs)
    updates: list[dict[str, Any]] = []
    if draw(st.booleans()):
        updates.append(draw(codesystems("cs-a", A)))
    if draw(st.booleans()):
        updates.append(draw(valuesets("vs0", [])))
    removable = ["CodeSystem/cs-a", *(f"ValueSet/{v}" for v in vs_ids)]
    deletes = draw(st.lists(st.sampled_from(removable), max_size=1)) if draw(st.booleans()) else []
    return {"resources": resources, "updates": updates, "deletes": deletes}


@st.composite
def terminology_queries(draw: Any) -> str:
    def one() -> str:
        system = draw(st.sampled_from([f"{A}|", f"{A}|", f"{B}|", "", "|", f"{NOWHERE}|"]))
        return system + draw(st.sampled_from(CODES))

    def valueset() -> str:
        vs = draw(st.sampled_from(["vs0", "vs1", "vs1", "vs2", "vs3"]))
        return draw(st.sampled_from([VS + vs, f"ValueSet/{vs}"]))

    form = draw(st.sampled_from(["below", "above", "in", "not-in", "filter", "and"]))
    if form in ("below", "above"):
        values = ",".join(one() for _ in range(draw(st.integers(1, 2))))
        return f"Observation?code:{form}={values}"
    if form in ("in", "not-in"):
        return f"Observation?code:{form}={valueset()}"
    if form == "filter":
        op = draw(st.sampled_from(["sb", "ss", "in", "ni"]))
        value = valueset() if op in ("in", "ni") else one()
        return f"Observation?_filter=code {op} {value}"
    return f"Observation?code:in={valueset()}&code:below={one()}"
