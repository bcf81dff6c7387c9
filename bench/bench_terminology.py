"""Terminology benchmark: ``:below`` and ``:in`` against hand-written SQL, ValueSet expansion.

    python -m bench.bench_terminology [--patients 4000] [--backend sqlite|postgres|both]

* **Searches**: the generated data (5,000 patients: about 106,000 resources) plus a
  hierarchical ``http://loinc.org`` CodeSystem of 1,600 concepts (the data's LOINC codes under
  a ``vitals`` and a ``labs`` group, and 1,500 more in ten groups) and a ValueSet of over
  1,000 codes (seven of those groups by ``is-a``, plus heart rate). For ``:below``, ``:above``,
  ``:in`` and ``:not-in`` (a page of 50, and ``_summary=count``), the median time of
  ``store.search`` (parse, resolve the ValueSet, compile — cached by shape —, execute, decode)
  as a ratio to a hand-written query over the same ``term_closure`` / ``term_expansion``
  tables decoding the same rows. Goal: within 1.5×.
* **Expansion**: the largest ValueSet of the official R4 bundles in ``../shared/data``
  (skipped when absent), loaded with every CodeSystem and ValueSet of both bundles: the time
  of the first ``store.expand`` (expansion and writing the cache) and of the next ones (the
  cached expansion read back; the cache row's timestamp is checked to be unchanged).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import helios_persistence as hp
from bench.harness import Measurement, median_seconds, report
from helios_persistence.errors import TerminologyError
from helios_persistence.generator import LOINC, generate
from helios_persistence.terminology import ResourceSource, expand_valueset

TENANT = "bench"
VS_URL = "http://example.org/fhir/ValueSet/bench-1000"
FILLER_GROUPS, FILLER_PER_GROUP, VS_GROUPS = 10, 150, 7
SHARED = Path(
    os.environ.get("HELIOS_SHARED_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data"
)


def terminology(resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The benchmark's LOINC CodeSystem (replacing the generator's fragment) and ValueSet."""
    vital, lab = set(), set()
    for r in resources:
        if r["resourceType"] != "Observation":
            continue
        kinds = {c.get("code") for cat in r.get("category", []) for c in cat.get("coding", [])}
        for coding in r["code"].get("coding", []):
            if coding.get("system") == LOINC:
                (vital if "vital-signs" in kinds else lab).add(coding["code"])
    lab -= vital

    def group(code: str, members: list[str]) -> dict[str, Any]:
        return {"code": code, "concept": [{"code": m} for m in sorted(members)]}

    groups = [group("vitals", sorted(vital)), group("labs", sorted(lab))]
    groups += [
        group(f"filler-{g}", [f"F{g}-{n}" for n in range(FILLER_PER_GROUP)])
        for g in range(FILLER_GROUPS)
    ]
    cs = {"resourceType": "CodeSystem", "id": "loinc-fragment", "url": LOINC, "status": "active",
          "content": "fragment", "concept": [{"code": "root", "concept": groups}]}  # fmt: skip
    includes = [
        {"system": LOINC, "filter": [{"property": "concept", "op": "is-a", "value": f"filler-{g}"}]}
        for g in range(VS_GROUPS)
    ]
    includes.append({"system": LOINC, "concept": [{"code": "8867-4"}]})
    vs = {"resourceType": "ValueSet", "id": "bench-1000", "url": VS_URL, "status": "active",
          "compose": {"include": includes}}  # fmt: skip
    return [cs, vs]


def _handwritten(placeholder: Callable[[str], str]) -> dict[str, str]:
    """The hand-written SQL of each case (``placeholder('t')``: the tenant)."""
    t = placeholder("t")
    token = (
        f"SELECT i.id FROM idx_token i {{join}} WHERE i.tenant = {t} AND i.type = 'Observation' "
        "AND i.param = 'code' AND {cond}"
    )
    below = token.format(
        join="JOIN term_closure c ON c.tenant = i.tenant AND c.system = i.system "
        "AND c.descendant = i.code",
        cond=f"c.system = '{LOINC}' AND c.ancestor = 'vitals'",
    )
    above = token.format(
        join="JOIN term_closure c ON c.tenant = i.tenant AND c.system = i.system "
        "AND c.ancestor = i.code",
        cond=f"c.system = '{LOINC}' AND c.descendant = '8867-4'",
    )
    member = token.format(
        join="JOIN term_expansion e ON e.tenant = i.tenant AND e.system = i.system "
        "AND e.code = i.code",
        cond="e.valueset = 'ValueSet/bench-1000'",
    )
    page = (
        f"SELECT r.json FROM resources r WHERE r.tenant = {t} AND r.type = 'Observation' "
        "AND r.deleted = 0 AND r.id {op} ({sub}) ORDER BY r.type, r.id LIMIT 51"
    )
    count = (
        f"SELECT count(*) FROM resources r WHERE r.tenant = {t} AND r.type = 'Observation' "
        "AND r.deleted = 0 AND r.id {op} ({sub})"
    )
    out = {}
    for name, sub, op in (("below", below, "IN"), ("above", above, "IN"),
                          ("in", member, "IN"), ("not-in", member, "NOT IN")):  # fmt: skip
        out[name] = page.format(op=op, sub=sub)
        out[f"{name}, count"] = count.format(op=op, sub=sub)
    return out


QUERIES = {
    "below": f"Observation?code:below={LOINC}|vitals&_count=50",
    "above": f"Observation?code:above={LOINC}|8867-4&_count=50",
    "in": f"Observation?code:in={VS_URL}&_count=50",
    "not-in": f"Observation?code:not-in={VS_URL}&_count=50",
}


def paired(ours: Callable[[], Any], hand: Callable[[], Any], repeat: int) -> tuple[float, float]:
    """Median ms of each, run in alternation (so load from other processes on a shared
    machine falls on both alike)."""
    for _ in range(2):
        ours(), hand()
    times: tuple[list[float], list[float]] = ([], [])
    for i in range(repeat):
        order = ((0, ours), (1, hand)) if i % 2 == 0 else ((1, hand), (0, ours))
        for slot, fn in order:
            start = time.perf_counter()
            fn()
            times[slot].append(time.perf_counter() - start)
    return statistics.median(times[0]) * 1000, statistics.median(times[1]) * 1000


class _Backend:
    """A store and a plain connection to the same database (for the hand-written SQL)."""

    def __init__(self, name: str, folder: Path, url: str | None) -> None:
        self.name = name
        if name == "sqlite":
            import apsw

            self.path = folder / "terminology.db"
            self.store = hp.open_store(f"sqlite:///{self.path}")
            self.placeholder: Callable[[str], str] = lambda n: f":{n}"
            self._open = lambda: apsw.Connection(str(self.path), flags=apsw.SQLITE_OPEN_READONLY)
        else:
            import uuid

            import psycopg

            assert url is not None
            self.schema = f"bench_term_{uuid.uuid4().hex[:8]}"
            self.url = url
            self.store = hp.open_store(f"{url}?schema={self.schema}&pool_size=4")
            self.placeholder = lambda n: f"%({n})s"

            def connect() -> Any:
                conn = psycopg.connect(url, autocommit=True)
                conn.execute("SELECT set_config('search_path', %s, false)", [self.schema])
                return conn

            self._open = connect
        self.conn: Any = None

    def rows(self, sql: str) -> list[Any]:
        if self.conn is None:
            self.conn = self._open()
        return list(self.conn.execute(sql, {"t": TENANT}).fetchall())

    def decode(self, value: Any) -> dict[str, Any]:
        return value if isinstance(value, dict) else json.loads(value)

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
        self.store.close()
        if self.name == "postgres":
            import psycopg
            from psycopg import sql

            with psycopg.connect(self.url, autocommit=True) as conn:
                conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
                    sql.Identifier(self.schema)))  # fmt: skip


def searches(backend: _Backend, resources: list[dict[str, Any]], repeat: int) -> list[Measurement]:
    ctx = hp.TenantContext.for_tenant(TENANT)
    start = time.perf_counter()
    backend.store.bulk_load(ctx, resources)
    loaded = time.perf_counter() - start
    extra = terminology(resources)
    start = time.perf_counter()
    for r in extra:
        backend.store.update(ctx, r)
    closure_ms = (time.perf_counter() - start) * 1000
    backend.store.optimize(ctx)
    size = backend.store.expand(ctx, VS_URL)["expansion"]["total"]
    print(f"{backend.name}: {len(resources):,} resources loaded in {loaded:.0f} s; CodeSystem "
          f"(1,600 concepts) and ValueSet written in {closure_ms:.0f} ms; ValueSet: {size:,} "
          "codes")  # fmt: skip
    assert size >= 1000
    hand = _handwritten(backend.placeholder)
    out = []
    for name, query in QUERIES.items():
        for counted in (False, True):
            case = f"{name}, count" if counted else name
            q = query.replace("&_count=50", "&_summary=count") if counted else query
            ours = backend.store.search(ctx, q)
            rows = backend.rows(hand[case])
            if counted:
                assert ours.total == int(rows[0][0]), case
                note = f"{ours.total:,} matches"
            else:
                got = sorted(r["id"] for r in ours.resources)
                want = sorted(backend.decode(r[0])["id"] for r in rows)[: len(got)]
                assert got == want, f"{case}: the library and the hand-written SQL disagree"
                note = f"{len(got)} rows"

            def library(q: str = q) -> None:
                backend.store.search(ctx, q)

            def handwritten(sql: str = hand[case], counted: bool = counted) -> None:
                for row in backend.rows(sql):
                    if not counted:
                        backend.decode(row[0])

            t_ours, t_hand = paired(library, handwritten, repeat)
            out.append(Measurement(f"{backend.name} {case}", t_ours, t_hand, "ms", note))
    return out


def largest_expansion(backend: _Backend, repeat: int) -> list[Measurement]:
    """Cold and cached ``store.expand`` of the largest shared ValueSet (see the docstring)."""
    resources: dict[tuple[str, str], dict[str, Any]] = {}
    for name in ("valuesets.json", "v3-codesystems.json"):
        path = SHARED / "fhir-r4" / name
        if not path.is_file():
            print(f"skipped: {path} not found (set HELIOS_SHARED_DATA)")
            return []
        for e in json.loads(path.read_text(encoding="utf-8"))["entry"]:
            resources[(e["resource"]["resourceType"], e["resource"]["id"])] = e["resource"]
    source = ResourceSource(resources.values())
    sizes = []
    for (rtype, _), r in resources.items():
        if rtype == "ValueSet" and r.get("url"):
            with contextlib.suppress(TerminologyError):
                sizes.append((len(expand_valueset(r, source).codes), r["id"], r["url"]))
    total, vs_id, url = max(sizes)
    ctx = hp.TenantContext.for_tenant("bench-valuesets")
    backend.store.bulk_load(ctx, list(resources.values()))
    start = time.perf_counter()
    first = backend.store.expand(ctx, url)
    cold = (time.perf_counter() - start) * 1000
    assert first["expansion"]["total"] == total

    def stamp() -> Any:
        with backend.store.read_session(ctx) as s:
            return backend.store._terminology(s.conn).rows(
                "SELECT expanded_at FROM term_expansion_state WHERE tenant = ? AND valueset = ?",
                (s.tenant, f"ValueSet/{vs_id}"),
            )

    before = stamp()
    warm = median_seconds(lambda: backend.store.expand(ctx, url), repeat=repeat) * 1000
    assert stamp() == before, "the cached expansion was not reused"
    note = f"{url} ({total:,} codes): cached vs first (expand + cache write)"
    return [Measurement(f"{backend.name} expand, cached", warm, cold, "ms", note)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--patients", type=int, default=5000, help="5,000: about 106,000 resources")
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="sqlite")
    parser.add_argument("--url", default=os.environ.get("HELIOS_TEST_POSTGRES",
                        "postgresql://helios:helios@127.0.0.1:5432/helios_test"))  # fmt: skip
    parser.add_argument("--repeat", type=int, default=21)
    args = parser.parse_args(argv)
    resources = list(generate(patients=args.patients, seed=7))
    print(f"{len(resources):,} resources from {args.patients:,} patients")
    names = ("sqlite", "postgres") if args.backend == "both" else (args.backend,)
    rows: list[Measurement] = []
    expansion: list[Measurement] = []
    folder = Path(tempfile.mkdtemp(prefix="helios-bench-terminology-"))
    try:
        for name in names:
            backend = _Backend(name, folder, args.url)
            try:
                rows += searches(backend, resources, args.repeat)
                expansion += largest_expansion(backend, args.repeat)
            finally:
                backend.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    report("terminology searches", rows, goal=1.5, extra={"resources": len(resources)})
    if expansion:
        report("terminology expansion", expansion)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
