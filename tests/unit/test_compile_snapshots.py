"""Golden snapshots of the compiled output of a fixed query set, for every dialect.

Each query's output lives in ``tests/snapshots/<case>/<dialect>.<output>``, where
``<output>`` is the compiler's ``OUTPUT`` kind (``sql``, ``cypher``, ``json``): the statement
(pretty-printed, so a change reads well in a diff) or request body, the count statement, and
the bound parameters. A dialect that cannot lower a query records the error instead. After an
intended change, regenerate and review the diff::

    .venv/bin/python -m pytest tests/unit/test_compile_snapshots.py --snapshot-update
    HELIOS_SNAPSHOT_UPDATE=1 .venv/bin/python -m pytest tests/unit/test_compile_snapshots.py

A new dialect (registered in ``compilers.DIALECTS``) gets its snapshots on the first update.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import sqlglot

import helios_persistence as hp
from helios_persistence.compilers import DIALECTS, get_compiler
from helios_persistence.errors import InvalidSearch

SNAPSHOTS = Path(__file__).resolve().parent.parent / "snapshots"

#: case name -> query; one per IR node kind and result feature
QUERIES = {
    "string_default": "Patient?name=m%C3%BCller",
    "string_exact": "Patient?name:exact=M%C3%BCller",
    "string_contains": "Patient?name:contains=100%25_x",
    "string_or": "Patient?name=smith,jones",
    "token_system_code": "Observation?code=http://loinc.org|8867-4",
    "token_no_system": "Observation?code=|8867-4",
    "token_system_only": "Observation?code=http://loinc.org|",
    "token_text": "Observation?code:text=heart",
    "token_not": "Observation?status:not=final",
    "token_of_type": "Patient?identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203|MR|1",
    "id": "Patient?_id=a,b",
    "date_eq": "Observation?date=2020-03-15",
    "date_prefixes": "Observation?date=ge2020&date=lt2021-01-01T10:00:00%2B02:00",
    "date_ap": "Observation?date=ap2020",
    "date_sa_eb": "Observation?date=sa2020,eb2019",
    "last_updated": "Patient?_lastUpdated=gt2024-01-01",
    "number": "RiskAssessment?probability=100",
    "number_ap": "RiskAssessment?probability=ap0.5",
    "quantity_canonical": "Observation?value-quantity=5.4|http://unitsofmeasure.org|mg",
    "quantity_unit_only": "Observation?value-quantity=gt5.4||mg",
    "reference_type_id": "Observation?subject=Patient/1",
    "reference_url_version": "QuestionnaireResponse?questionnaire=http://x.org/Q/1|2.0",
    "reference_identifier": "Observation?subject:identifier=urn:mrn|7",
    "uri_below": "ValueSet?url:below=http://example.org/fhir/",
    "uri_above": "ValueSet?url:above=http://example.org/fhir/ValueSet/a",
    "missing": "Patient?birthdate:missing=true&gender:missing=false",
    "missing_composite": "Observation?component-code-value-quantity:missing=true",
    "chain": "Observation?subject:Patient.organization.name=acme",
    "chain_fan_out": "DiagnosticReport?subject.name=smith",
    "has_nested": "Patient?_has:Encounter:patient:_has:Condition:encounter:code=123",
    "composite": "Observation?component-code-value-quantity=http://loinc.org|8480-6$gt140",
    "text": "Patient?_text=cardiac OR heart*",
    "content": "Patient?_content=%22cardiac condition%22",
    "text_advanced": "Observation?code:text-advanced=heart",
    "filter": "Patient?_filter=name sw %22sm%22 and (gender eq female or birthdate lt 1980)",
    "sort_keys": "Patient?_sort=family,-birthdate&_count=10&_offset=20",
    "sort_keyset": "Patient?_sort=-_lastUpdated&_count=5",
    "page_cursor": "Observation?code=http://loinc.org|8867-4&_count=5"
    "&_cursor=WyJPYnNlcnZhdGlvbiIsICJvYnMtMSJd",
    "include": "Encounter?status=finished&_include=Encounter:subject"
    "&_revinclude=Observation:encounter&_count=10",
    "system_search": "?_type=Patient,Organization&_id=a",
    "summary_count": "Patient?gender=female&_summary=count",
    "terminology": "Observation?code:in=http://example.org/vs",
    "terminology_below": "Observation?code:below=http://loinc.org|8867-4",
    "terminology_above_any_system": "Observation?code:above=8867-4&code:not-in=ValueSet/vitals",
}


def render(query: str, dialect: str) -> str:
    """The snapshot text of one query for one dialect."""
    try:
        compiled = hp.compile(hp.parse(query), dialect=dialect)
    except InvalidSearch as exc:
        return f"-- {query}\n-- {type(exc).__name__}: {exc}\n"
    if compiled.body is not None:
        main = json.dumps(compiled.body, indent=2, ensure_ascii=False, default=str)
    else:
        main = _pretty(compiled.text, dialect)
    count = _pretty(compiled.count_text, dialect)
    lines = [f"-- {query}", main, "", "-- count", count, "", f"-- paging: {compiled.paging}"]
    if compiled.includes_inline:
        lines.append("-- includes: inline (last column ord)")
    lines.append("-- params:")
    assert compiled.params.pop("tenant", "absent") is None  # bound at execution
    for name, value in sorted(compiled.params.items(), key=lambda kv: int(kv[0][1:])):
        lines.append(f"--   {name} = {_value(value)}")
    return "\n".join(lines) + "\n"


def _pretty(text: str, dialect: str) -> str:
    if not text:
        return "-- (none)"
    if get_compiler(dialect).OUTPUT != "sql":
        return text
    return sqlglot.transpile(text, read=dialect, write=dialect, pretty=True)[0] + ";"


def _value(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
@pytest.mark.parametrize("case", sorted(QUERIES))
def test_compiled_snapshot(snapshot: Any, case: str, dialect: str) -> None:
    if os.environ.get("HELIOS_SNAPSHOT_UPDATE") == "1":
        snapshot._snapshot_update = True
    snapshot.snapshot_dir = SNAPSHOTS / case
    output = get_compiler(dialect).OUTPUT
    snapshot.assert_match(render(QUERIES[case], dialect), f"{dialect}.{output}")


def test_no_stale_snapshots() -> None:
    """Every snapshot directory belongs to a query of the set (rename, don't orphan)."""
    if not SNAPSHOTS.is_dir():
        pytest.skip("no snapshots yet")
    stale = sorted(p.name for p in SNAPSHOTS.iterdir() if p.is_dir() and p.name not in QUERIES)
    assert not stale, f"snapshot directories without a query: {stale}"
