"""SQL-on-FHIR views on DuckDB: against hand-written DuckDB SQL and against fhir4ds 0.5.1.

    python -m bench.bench_views [--patients 5000] [--repeat 5] [--no-fhir4ds] [--no-synthea]

Two data sets, each written as an NDJSON export (one file per type) and read once into a
DuckDB table with ``read_json_objects`` (the load is not timed):

* **Synthea**: the 78 patients and 2 information Bundles of ``../shared/data/synthea``
  (45,874 resources; ``urn:uuid:`` references rewritten to ``Type/id``, as a transaction
  would). Synthea has no resource with nested items, so one QuestionnaireResponse per
  Encounter is added, derived deterministically (3 groups × 2 questions, each answer holding
  one follow-up item).
* **Generated**: ``helios_persistence.generator`` with ``--patients`` patients (5,000 give
  about 103,000 resources), plus the same derived QuestionnaireResponses.

Five views (``VIEWS``): flat patient demographics; Observation components (``forEach``);
a ``unionAll`` of telecom and address; a ``repeat`` over nested items; a reference-key join
of Observations to Patients (two views joined on ``getReferenceKey(Patient)`` =
``getResourceKey()``). For each, the median time of ``hp.views.run`` (compile, execute,
Arrow) against

* the hand-written DuckDB query (``HAND``) producing the same rows (checked, as multisets)
  on the same table — goal: at most 1.5×;
* fhir4ds 0.5.1, installed by this benchmark into a throw-away virtual environment and run in
  a subprocess over the same resources in its own DuckDB database — goal: at least 5× faster
  (fhir4ds runs ``INSTALL json``, which would download; the worker hands it a connection on
  which that statement becomes ``LOAD json``, the extension being built in).

Rows/s is the view's output rows divided by its median time.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from bench.harness import Measurement, median_seconds, report
from helios_persistence.generator import generate
from helios_persistence.views import run
from helios_persistence.views.sources import DuckDBSource

SHARED = Path(
    os.environ.get("HELIOS_SHARED_DATA")
    or Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
)
SYNTHEA = SHARED / "synthea"
FHIR4DS = "fhir4ds==0.5.1"

DEMOGRAPHICS = {
    "resourceType": "ViewDefinition",
    "name": "patient_demographics",
    "resource": "Patient",
    "select": [
        {
            "column": [
                {"name": "id", "path": "getResourceKey()"},
                {"name": "gender", "path": "gender"},
                {"name": "birth_date", "path": "birthDate", "type": "date"},
                {"name": "family", "path": "name.where(use = 'official').family.first()"},
                {"name": "given", "path": "name.where(use = 'official').given.first()"},
                {"name": "city", "path": "address.city.first()"},
                {"name": "deceased", "path": "deceased.ofType(dateTime)", "type": "dateTime"},
            ]
        }
    ],
}
COMPONENTS = {
    "resourceType": "ViewDefinition",
    "name": "observation_components",
    "resource": "Observation",
    "select": [
        {
            "column": [
                {"name": "id", "path": "getResourceKey()"},
                {"name": "patient", "path": "subject.getReferenceKey(Patient)"},
                {"name": "effective", "path": "effective.ofType(dateTime)", "type": "dateTime"},
            ]
        },
        {
            "forEach": "component",
            "column": [
                {"name": "code", "path": "code.coding.first().code"},
                {"name": "value", "path": "value.ofType(Quantity).value", "type": "decimal"},
                {"name": "unit", "path": "value.ofType(Quantity).unit"},
            ],
        },
    ],
}
CONTACTS = {
    "resourceType": "ViewDefinition",
    "name": "patient_contacts",
    "resource": "Patient",
    "select": [
        {"column": [{"name": "id", "path": "getResourceKey()"}]},
        {
            "unionAll": [
                {
                    "forEach": "telecom",
                    "column": [
                        {"name": "kind", "path": "'telecom'"},
                        {"name": "system", "path": "system"},
                        {"name": "value", "path": "value"},
                    ],
                },
                {
                    "forEach": "address",
                    "column": [
                        {"name": "kind", "path": "'address'"},
                        {"name": "system", "path": "use"},
                        {"name": "value", "path": "city"},
                    ],
                },
            ]
        },
    ],
}
ITEMS = {
    "resourceType": "ViewDefinition",
    "name": "questionnaire_items",
    "resource": "QuestionnaireResponse",
    "select": [
        {"column": [{"name": "id", "path": "getResourceKey()"}]},
        {
            "repeat": ["item", "answer.item"],
            "column": [
                {"name": "link_id", "path": "linkId"},
                {"name": "text", "path": "text"},
                {"name": "answer", "path": "answer.value.ofType(string).first()"},
            ],
        },
    ],
}
OBS_KEYS = {
    "resourceType": "ViewDefinition",
    "name": "observation_keys",
    "resource": "Observation",
    "select": [
        {
            "column": [
                {"name": "id", "path": "getResourceKey()"},
                {"name": "patient", "path": "subject.getReferenceKey(Patient)"},
                {"name": "code", "path": "code.coding.first().code"},
                {"name": "value", "path": "value.ofType(Quantity).value", "type": "decimal"},
            ]
        }
    ],
}
PATIENT_KEYS = {
    "resourceType": "ViewDefinition",
    "name": "patient_keys",
    "resource": "Patient",
    "select": [
        {
            "column": [
                {"name": "pid", "path": "getResourceKey()"},
                {"name": "gender", "path": "gender"},
            ]
        }
    ],
}
VIEWS = {
    "demographics (flat)": [DEMOGRAPHICS],
    "components (forEach)": [COMPONENTS],
    "telecom ∪ address (unionAll)": [CONTACTS],
    "nested items (repeat)": [ITEMS],
    "Observation→Patient (reference keys)": [OBS_KEYS, PATIENT_KEYS],
}
JOIN = 'SELECT o.*, p.gender FROM "0" o JOIN "1" p ON o.patient = p.pid'

# what a DuckDB user would write by hand for the same rows ({t}: the resource table)
HAND = {
    "demographics (flat)": """
        SELECT json ->> '$.id' AS id, json ->> '$.gender' AS gender,
               json ->> '$.birthDate' AS birth_date,
               list_filter(CAST(json -> '$.name' AS JSON[]),
                           lambda n: n ->> '$.use' = 'official')[1] ->> '$.family' AS family,
               list_filter(CAST(json -> '$.name' AS JSON[]),
                           lambda n: n ->> '$.use' = 'official')[1] ->> '$.given[0]' AS given,
               json ->> '$.address[0].city' AS city,
               json ->> '$.deceasedDateTime' AS deceased
        FROM {t} WHERE type = 'Patient'""",
    "components (forEach)": """
        SELECT r.json ->> '$.id' AS id,
               CASE WHEN r.json ->> '$.subject.reference' LIKE 'Patient/%'
                    THEN split_part(r.json ->> '$.subject.reference', '/', 2) END AS patient,
               r.json ->> '$.effectiveDateTime' AS effective,
               c.value ->> '$.code.coding[0].code' AS code,
               CAST(c.value ->> '$.valueQuantity.value' AS DOUBLE) AS value,
               c.value ->> '$.valueQuantity.unit' AS unit
        FROM {t} r, json_each(r.json -> '$.component') c WHERE r.type = 'Observation'""",
    "telecom ∪ address (unionAll)": """
        SELECT r.json ->> '$.id' AS id, 'telecom' AS kind, e.value ->> '$.system' AS system,
               e.value ->> '$.value' AS value
        FROM {t} r, json_each(r.json -> '$.telecom') e WHERE r.type = 'Patient'
        UNION ALL
        SELECT r.json ->> '$.id', 'address', e.value ->> '$.use', e.value ->> '$.city'
        FROM {t} r, json_each(r.json -> '$.address') e WHERE r.type = 'Patient'""",
    "nested items (repeat)": """
        WITH RECURSIVE nodes(id, node) AS (
            SELECT r.json ->> '$.id', i.value
            FROM {t} r, json_each(r.json -> '$.item') i WHERE r.type = 'QuestionnaireResponse'
            UNION ALL
            SELECT n.id, c.child FROM nodes n, LATERAL (
                SELECT value AS child FROM json_each(n.node -> '$.item')
                UNION ALL
                SELECT i.value FROM json_each(n.node -> '$.answer') a,
                                    json_each(a.value -> '$.item') i) c)
        SELECT id, node ->> '$.linkId' AS link_id, node ->> '$.text' AS text,
               node ->> '$.answer[0].valueString' AS answer
        FROM nodes""",
    "Observation→Patient (reference keys)": """
        SELECT o.json ->> '$.id' AS id, split_part(o.json ->> '$.subject.reference', '/', 2)
                   AS patient,
               o.json ->> '$.code.coding[0].code' AS code,
               CAST(o.json ->> '$.valueQuantity.value' AS DOUBLE) AS value,
               p.json ->> '$.gender' AS gender
        FROM {t} o JOIN {t} p ON p.type = 'Patient'
             AND p.json ->> '$.id' = split_part(o.json ->> '$.subject.reference', '/', 2)
        WHERE o.type = 'Observation' AND o.json ->> '$.subject.reference' LIKE 'Patient/%'""",
}


# -- data ----------------------------------------------------------------------------------------
def _rewrite(node: Any, mapping: dict[str, str]) -> None:
    if isinstance(node, dict):
        ref = node.get("reference")
        if isinstance(ref, str) and ref in mapping:
            node["reference"] = mapping[ref]
        for value in node.values():
            _rewrite(value, mapping)
    elif isinstance(node, list):
        for value in node:
            _rewrite(value, mapping)


def synthea() -> list[dict[str, Any]]:
    """The Synthea resources with ``urn:uuid:`` references as ``Type/id``."""
    out = []
    for path in sorted(SYNTHEA.glob("*.json")):
        entries = [e for e in orjson.loads(path.read_bytes()).get("entry", ()) if "resource" in e]
        mapping = {
            e["fullUrl"]: f"{e['resource']['resourceType']}/{e['resource']['id']}"
            for e in entries
            if "fullUrl" in e and "id" in e["resource"]
        }
        for entry in entries:
            _rewrite(entry["resource"], mapping)
            out.append(entry["resource"])
    return out


def questionnaire_responses(resources: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """One QuestionnaireResponse with nested items per Encounter (deterministic)."""
    for n, enc in enumerate(r for r in resources if r["resourceType"] == "Encounter"):
        patient = (enc.get("subject") or {}).get("reference")
        groups = []
        for g in range(3):
            questions = []
            for q in range(2):
                follow = {
                    "linkId": f"{g}.{q}.f",
                    "text": "Since when?",
                    "answer": [{"valueString": f"{(n + g + q) % 12 + 1} months"}],
                }
                questions.append(
                    {
                        "linkId": f"{g}.{q}",
                        "text": f"Question {g}.{q}",
                        "answer": [{"valueString": ("yes", "no")[(n + q) % 2], "item": [follow]}],
                    }
                )
            groups.append({"linkId": str(g), "text": f"Section {g}", "item": questions})
        yield {
            "resourceType": "QuestionnaireResponse",
            "id": f"qr-{n}",
            "status": "completed",
            "subject": {"reference": patient},
            "item": groups,
        }


def write_export(resources: list[dict[str, Any]], folder: Path) -> None:
    """One NDJSON file per resource type, as a bulk export writes them."""
    by_type: dict[str, list[bytes]] = defaultdict(list)
    for resource in resources:
        by_type[resource["resourceType"]].append(orjson.dumps(resource))
    for rtype, lines in by_type.items():
        (folder / f"{rtype}.ndjson").write_bytes(b"\n".join(lines) + b"\n")


# -- ours and the hand-written baseline ----------------------------------------------------------
def _ours(source: DuckDBSource, views: list[dict[str, Any]]) -> Any:
    tables = [run(v, source) for v in views]
    if len(tables) == 1:
        return tables[0]
    for i, table in enumerate(tables):
        source.conn.register(str(i), table)
    return source.conn.sql(JOIN).to_arrow_table()


def _multiset(table: Any) -> list[bytes]:
    rows = table.to_pylist()
    return sorted(
        orjson.dumps({k: (round(v, 9) if isinstance(v, float) else v) for k, v in r.items()})
        for r in rows
    )


# -- fhir4ds --------------------------------------------------------------------------------------
_WORKER = r'''
import json, statistics, sys, time, duckdb
from fhir4ds.datastore import FHIRDataStore
from fhir4ds.dialects import DuckDBDialect

class LoadNotInstall:
    """fhir4ds runs INSTALL json (a download); the extension is built in: LOAD it."""
    def __init__(self, conn):
        self._conn = conn
    def execute(self, sql, *args, **kwargs):
        if isinstance(sql, str) and sql.strip().upper().startswith("INSTALL JSON"):
            sql = "LOAD json"
        return self._conn.execute(sql, *args, **kwargs)
    def __getattr__(self, name):
        return getattr(self._conn, name)

folder, views_file, repeat = sys.argv[1], sys.argv[2], int(sys.argv[3])
store = FHIRDataStore(dialect=DuckDBDialect(connection=LoadNotInstall(duckdb.connect())))
import glob
resources = []
for path in sorted(glob.glob(folder + "/*.ndjson")):
    with open(path) as f:
        resources += [json.loads(line) for line in f if line.strip()]
store.load_resources(resources)
runner = store.view_runner()
out = {}
for name, views in json.load(open(views_file)).items():
    def once():
        results = [runner.execute_view(v).fetchall() for v in views]
        if len(results) == 2:
            genders = {row[0]: row[1] for row in results[1]}
            return [row + (genders[row[1]],) for row in results[0] if row[1] in genders]
        return results[0]
    try:
        rows = once()
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            once()
            times.append(time.perf_counter() - start)
        out[name] = {"seconds": statistics.median(times), "rows": len(rows)}
    except Exception as exc:
        out[name] = {"error": f"{type(exc).__name__}: {str(exc)[:300]}"}
print(json.dumps(out))
'''


def fhir4ds_venv(path: Path) -> Path | str:
    """A virtual environment with fhir4ds 0.5.1 at ``path``; its python, or why not."""
    python = path / "bin" / "python"
    if python.exists():
        return python
    made = subprocess.run([sys.executable, "-m", "venv", str(path)], capture_output=True, text=True)
    if made.returncode != 0:
        return f"python -m venv failed: {made.stderr.strip()[-300:]}"
    pip = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", FHIR4DS], capture_output=True, text=True
    )
    if pip.returncode != 0:
        return f"pip install {FHIR4DS} failed: {pip.stderr.strip()[-300:]}"
    return python


def run_fhir4ds(python: Path, folder: Path, repeat: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        worker, views = Path(tmp) / "worker.py", Path(tmp) / "views.json"
        worker.write_text(_WORKER)
        views.write_text(json.dumps(VIEWS))
        done = subprocess.run(
            [str(python), str(worker), str(folder), str(views), str(repeat)],
            capture_output=True,
            text=True,
        )
    if done.returncode != 0:
        reason = f"fhir4ds worker failed: {done.stderr.strip()[-400:]}"
        return {name: {"error": reason} for name in VIEWS}
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# -- the benchmark -------------------------------------------------------------------------------
def bench_dataset(
    label: str, resources: list[dict[str, Any]], args: argparse.Namespace, python: Path | str | None
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "export"
        folder.mkdir()
        write_export(resources, folder)
        start = time.perf_counter()
        source = DuckDBSource.from_ndjson(folder)
        load = time.perf_counter() - start
        table = source.table
        hand_rows: list[Measurement] = []
        f4_rows: list[Measurement] = []
        notes: dict[str, Any] = {"resources": len(resources), "load_seconds": load}
        for name, views in VIEWS.items():
            ours_table = _ours(source, views)
            hand_sql = HAND[name].format(t=f'"{table}"')
            hand_table = source.conn.sql(hand_sql).to_arrow_table()
            same = _multiset(ours_table) == _multiset(hand_table)
            if not same:
                raise SystemExit(
                    f"{label} / {name}: the hand-written query gives other rows "
                    f"({ours_table.num_rows} vs {hand_table.num_rows})"
                )
            ours = median_seconds(lambda v=views: _ours(source, v), repeat=args.repeat, warmup=1)
            hand = median_seconds(
                lambda s=hand_sql: source.conn.sql(s).to_arrow_table(), repeat=args.repeat, warmup=1
            )
            rows = ours_table.num_rows
            rate = f"{rows:,} rows, {rows / ours:,.0f} rows/s"
            hand_rows.append(Measurement(name, ours * 1e3, hand * 1e3, "ms", rate))
            notes[name] = {"rows": rows, "rows_per_s": rows / ours}
        if python is not None and not isinstance(python, str):
            f4 = run_fhir4ds(python, folder, args.repeat)
        else:
            f4 = {name: {"error": python or "skipped (--no-fhir4ds)"} for name in VIEWS}
        for row in hand_rows:
            outcome = f4.get(row.name, {})
            if "seconds" in outcome:
                ratio_note = f"fhir4ds: {outcome['rows']:,} rows"
                f4_rows.append(
                    Measurement(row.name, row.ours, outcome["seconds"] * 1e3, "ms", ratio_note)
                )
            else:
                f4_rows.append(
                    Measurement(
                        row.name,
                        row.ours,
                        float("nan"),
                        "ms",
                        f"fhir4ds: {outcome.get('error')}"[:120],
                    )
                )
        report(f"views {label} vs hand-written DuckDB", hand_rows, goal=1.5, extra=notes)
        report(f"views {label} vs fhir4ds", f4_rows, goal=0.2, extra={"fhir4ds": f4})
        source.conn.close()
    return notes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-fhir4ds", action="store_true")
    parser.add_argument("--no-synthea", action="store_true")
    parser.add_argument("--fhir4ds-venv", help="reuse this venv (default: a throw-away one)")
    args = parser.parse_args(argv)
    venv_dir = None
    python: Path | str | None = None
    if not args.no_fhir4ds:
        if args.fhir4ds_venv:
            python = fhir4ds_venv(Path(args.fhir4ds_venv))
        else:
            venv_dir = Path(tempfile.mkdtemp(prefix="fhir4ds-venv-"))
            python = fhir4ds_venv(venv_dir)
        if isinstance(python, str):
            print(f"fhir4ds unavailable: {python}")
    try:
        if not args.no_synthea and SYNTHEA.is_dir():
            data = synthea()
            data += list(questionnaire_responses(data))
            bench_dataset("Synthea", data, args, python)
        elif not args.no_synthea:
            print(f"Synthea not found in {SYNTHEA}: skipped (set HELIOS_SHARED_DATA)")
        data = list(generate(args.patients, seed=7))
        data += list(questionnaire_responses(data))
        bench_dataset(f"generated {len(data):,}", data, args, python)
    finally:
        if venv_dir is not None:
            shutil.rmtree(venv_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
