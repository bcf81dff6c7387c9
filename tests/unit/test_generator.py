"""The synthetic FHIR R4 data generator: determinism, referential integrity, value shapes."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from helios_persistence.generator import (
    count_by_type,
    full_url,
    generate,
    generate_bundles,
    patient_resources,
)

ID_RE = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
DATETIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})$")
UUID_RE = re.compile(r"^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
UCUM = "http://unitsofmeasure.org"

# LOINC code → (UCUM code → (low, high)) plausible ranges
RANGES: dict[str, dict[str, tuple[float, float]]] = {
    "8867-4": {"/min": (35, 160)},
    "8480-6": {"mm[Hg]": (80, 210)},
    "8462-4": {"mm[Hg]": (45, 130)},
    "29463-7": {"kg": (10, 200), "g": (10_000, 200_000), "[lb_av]": (22, 440)},
    "8302-2": {"cm": (70, 215)},
    "8310-5": {"Cel": (34.5, 41), "[degF]": (94, 106)},
    "2339-0": {"mg/dL": (50, 300), "mmol/L": (2.5, 17)},
    "718-7": {"g/dL": (9, 19)},
}


@pytest.fixture(scope="module")
def resources() -> list[dict[str, Any]]:
    return list(generate(40, seed=7))


def _dumps(items: Any) -> str:
    return json.dumps(list(items), sort_keys=True, ensure_ascii=False)


def _references(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "reference" and isinstance(value, str):
                yield value
            else:
                yield from _references(value)
    elif isinstance(node, list):
        for value in node:
            yield from _references(value)


def _quantities(resource: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(LOINC code, valueQuantity) for the value and every component of an Observation."""
    if "valueQuantity" in resource:
        yield resource["code"]["coding"][0]["code"], resource["valueQuantity"]
    for component in resource.get("component", []):
        yield component["code"]["coding"][0]["code"], component["valueQuantity"]


# -- determinism -------------------------------------------------------------------------------


def test_same_seed_same_bytes() -> None:
    assert _dumps(generate(15, seed=3)) == _dumps(generate(15, seed=3))
    assert _dumps(generate_bundles(5, seed=3)) == _dumps(generate_bundles(5, seed=3))


def test_different_seeds_differ() -> None:
    a, b = list(generate(10, seed=1)), list(generate(10, seed=2))
    assert _dumps(a) != _dumps(b)
    # ids are stable whatever the seed; only the content changes
    assert [r["id"] for r in a[:30]] == [r["id"] for r in b[:30]]


def test_more_patients_extend_fewer() -> None:
    small, large = list(generate(5, seed=9)), list(generate(12, seed=9))
    assert _dumps(large[: len(small)]) == _dumps(small)


def test_patient_resources_matches_generate(resources: list[dict[str, Any]]) -> None:
    third = [r for r in resources if r["id"] == "p-000003" or "-000003-" in r["id"]]
    assert _dumps(patient_resources(3, seed=7)) == _dumps(third)


def test_no_shared_objects(resources: list[dict[str, Any]]) -> None:
    """Every resource is its own tree, so a consumer may mutate one without touching others."""
    seen: set[int] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict | list):
            assert id(node) not in seen
            seen.add(id(node))
            for value in node.values() if isinstance(node, dict) else node:
                walk(value)

    for resource in resources:
        walk(resource)
    # and a mutation does not leak into the next run
    resources_again = list(generate(2, seed=7))
    for r in resources_again:
        r.clear()
    assert _dumps(generate(2, seed=7)) == _dumps(resources[: len(resources_again)])


# -- shapes and counts -------------------------------------------------------------------------


def test_counts_and_order() -> None:
    counts = count_by_type(30, seed=5)
    assert counts["Organization"] == 10
    assert counts["Practitioner"] == 20
    assert counts["CodeSystem"] == 1
    assert counts["Patient"] == 30
    assert 3 * 30 <= counts["Encounter"] <= 6 * 30
    assert 8 * 30 <= counts["Observation"] <= 20 * 30
    assert 30 <= counts["Condition"] <= 3 * 30
    per_patient: dict[str, Counter[str]] = {}
    order = ["Organization", "Practitioner", "CodeSystem"]
    rank = {"Patient": 0, "Encounter": 1, "Observation": 2, "Condition": 3}
    last: tuple[str, int] | None = None
    for r in generate(30, seed=5):
        rtype = r["resourceType"]
        if rtype in order:
            assert last is None
            continue
        pid = r["id"] if rtype == "Patient" else f"p-{r['id'].split('-')[1]}"
        per_patient.setdefault(pid, Counter())[rtype] += 1
        key = (pid, rank[rtype])
        assert last is None or key >= last
        last = key
    for c in per_patient.values():
        assert c["Patient"] == 1
        assert 3 <= c["Encounter"] <= 6
        assert 8 <= c["Observation"] <= 20
        assert 1 <= c["Condition"] <= 3


def test_ids_valid_and_unique(resources: list[dict[str, Any]]) -> None:
    keys = [(r["resourceType"], r["id"]) for r in resources]
    assert len(keys) == len(set(keys))
    assert all(ID_RE.match(rid) for _, rid in keys)
    patients = [rid for rtype, rid in keys if rtype == "Patient"]
    assert patients[:3] == ["p-000001", "p-000002", "p-000003"]


def test_referential_integrity(resources: list[dict[str, Any]]) -> None:
    seen: set[str] = set()
    count = 0
    for r in resources:
        for reference in _references(r):
            assert reference in seen, f"{r['resourceType']}/{r['id']} → {reference}"
            count += 1
        seen.add(f"{r['resourceType']}/{r['id']}")
    assert count > len(resources)


def test_patient_shape(resources: list[dict[str, Any]]) -> None:
    patients = [r for r in resources if r["resourceType"] == "Patient"]
    for p in patients:
        mrn = p["identifier"][0]
        assert mrn["type"]["coding"][0]["system"] == "http://terminology.hl7.org/CodeSystem/v2-0203"
        assert mrn["type"]["coding"][0]["code"] == "MR"
        assert mrn["value"]
        address = p["address"][0]
        assert address["city"] and address["state"] and address["postalCode"]
        assert p["telecom"]
        assert p["gender"] in ("male", "female", "other", "unknown")
        assert p["generalPractitioner"][0]["reference"].startswith("Practitioner/")
        assert p["managingOrganization"]["reference"].startswith("Organization/")
        div = p["text"]["div"]
        assert div.startswith('<div xmlns="http://www.w3.org/1999/xhtml">')
        assert div.endswith("</div>")
    precisions = Counter(len(p["birthDate"]) for p in generate(300, seed=1) if "birthDate" in p)
    assert set(precisions) == {4, 7, 10}
    assert precisions[10] > precisions[7] > 0


def test_cardiac_history_in_narrative() -> None:
    found = False
    for r in generate(60, seed=42):
        if r["resourceType"] == "Patient" and "cardiac" in r["text"]["div"]:
            found = True
            break
    assert found


def test_accents_and_case_variants() -> None:
    families = set()
    givens = set()
    for r in generate(300, seed=42):
        if r["resourceType"] in ("Patient", "Practitioner"):
            for name in r["name"]:
                families.add(name["family"])
                givens.update(name["given"])
    assert any(not f.isascii() for f in families)
    assert any(f.islower() for f in families)
    assert any(f.isupper() for f in families)
    assert any("-" in f for f in families)
    assert any(not g.isascii() for g in givens)
    # the same name in different cases and accents
    folded = Counter(f.casefold() for f in families)
    assert any(n > 1 for n in folded.values())


def test_practitioners_and_organizations(resources: list[dict[str, Any]]) -> None:
    for r in resources:
        if r["resourceType"] in ("Practitioner", "Organization"):
            npi = r["identifier"][0]
            assert npi["system"] == "http://hl7.org/fhir/sid/us-npi"
            assert re.fullmatch(r"\d{10}", npi["value"])
        if r["resourceType"] == "Practitioner":
            assert r["name"][0]["family"] and r["name"][0]["given"]
        if r["resourceType"] == "Organization":
            assert r["name"]


def test_encounters(resources: list[dict[str, Any]]) -> None:
    for r in (r for r in resources if r["resourceType"] == "Encounter"):
        assert r["status"] == "finished"
        assert r["class"]["code"]
        assert DATETIME_RE.match(r["period"]["start"]) and DATETIME_RE.match(r["period"]["end"])
        assert r["period"]["start"] < r["period"]["end"]  # same offset within one encounter
        assert r["subject"]["reference"].startswith("Patient/")
        assert r["participant"][0]["individual"]["reference"].startswith("Practitioner/")
        assert r["serviceProvider"]["reference"].startswith("Organization/")


def test_observations_values_and_units(resources: list[dict[str, Any]]) -> None:
    units: dict[str, set[str]] = {}
    offsets: set[str] = set()
    categories: set[str] = set()
    panels = 0
    for r in (r for r in resources if r["resourceType"] == "Observation"):
        assert r["status"] == "final"
        cat = r["category"][0]["coding"][0]
        assert cat["system"] == "http://terminology.hl7.org/CodeSystem/observation-category"
        categories.add(cat["code"])
        coding = r["code"]["coding"][0]
        assert coding["system"] == "http://loinc.org" and coding["display"]
        assert DATETIME_RE.match(r["effectiveDateTime"])
        offsets.add(re.search(r"(Z|[+-]\d{2}:\d{2})$", r["effectiveDateTime"]).group(1))
        assert r["subject"]["reference"].startswith("Patient/")
        assert r["encounter"]["reference"].startswith("Encounter/")
        assert r["performer"][0]["reference"].startswith("Practitioner/")
        if coding["code"] == "85354-9":
            panels += 1
            assert "valueQuantity" not in r
            codes = [c["code"]["coding"][0]["code"] for c in r["component"]]
            assert codes == ["8480-6", "8462-4"]
            sys_v, dia_v = (c["valueQuantity"]["value"] for c in r["component"])
            assert sys_v > dia_v
        for loinc, q in _quantities(r):
            assert q["system"] == UCUM
            assert q["unit"] and q["code"]
            assert isinstance(q["value"], int | float) and not isinstance(q["value"], bool)
            assert q["value"] == round(q["value"], 2)
            low, high = RANGES[loinc][q["code"]]
            assert low <= q["value"] <= high, (loinc, q)
            units.setdefault(loinc, set()).add(q["code"])
    assert panels > 0
    assert categories == {"vital-signs", "laboratory"}
    assert {"Z", "+01:00", "-05:00"} <= offsets
    assert {"kg", "g", "[lb_av]"} <= units["29463-7"]
    assert {"mg/dL", "mmol/L"} <= units["2339-0"]
    assert set(RANGES) <= set(units)


def test_conditions(resources: list[dict[str, Any]]) -> None:
    codes = set()
    for r in (r for r in resources if r["resourceType"] == "Condition"):
        coding = r["code"]["coding"][0]
        assert coding["system"] == "http://snomed.info/sct" and coding["display"]
        codes.add(coding["code"])
        clinical = r["clinicalStatus"]["coding"][0]
        assert clinical["system"] == "http://terminology.hl7.org/CodeSystem/condition-clinical"
        assert clinical["code"] in ("active", "resolved")
        verification = r["verificationStatus"]["coding"][0]
        assert verification["system"].endswith("condition-ver-status")
        assert DATETIME_RE.match(r["onsetDateTime"])
        assert r["subject"]["reference"].startswith("Patient/")
        assert r["encounter"]["reference"].startswith("Encounter/")
    all_codes = {
        r["code"]["coding"][0]["code"]
        for r in generate(200, seed=42)
        if r["resourceType"] == "Condition"
    }
    assert {"53741008", "44054006", "38341003", "195662009"} <= all_codes


# -- bundles -----------------------------------------------------------------------------------


def test_bundles_resolve() -> None:
    bundles = list(generate_bundles(12, seed=4))
    batch, transactions = bundles[0], bundles[1:]
    assert batch["resourceType"] == "Bundle" and batch["type"] == "batch"
    shared = set()
    for e in batch["entry"]:
        r = e["resource"]
        assert e["request"] == {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"}
        shared.add(e["request"]["url"])
    assert len(transactions) == 12
    for bundle in transactions:
        assert bundle["type"] == "transaction"
        full_urls = [e["fullUrl"] for e in bundle["entry"]]
        assert len(full_urls) == len(set(full_urls))
        assert all(UUID_RE.match(u) for u in full_urls)
        assert bundle["entry"][0]["resource"]["resourceType"] == "Patient"
        local = set(full_urls)
        for e in bundle["entry"]:
            r = e["resource"]
            assert "id" not in r
            assert e["request"] == {"method": "POST", "url": r["resourceType"]}
            for reference in _references(r):
                if reference.startswith("urn:uuid:"):
                    assert reference in local
                else:
                    assert reference in shared


def test_bundles_carry_the_generate_resources() -> None:
    """Same content as generate(), less the ids, with urn:uuid references between entries."""
    plain = list(generate(6, seed=11))
    by_url: dict[str, str] = {}
    for r in plain:
        key = f"{r['resourceType']}/{r['id']}"
        by_url[full_url(11, r["resourceType"], r["id"])] = key
    flattened: list[dict[str, Any]] = []
    for bundle in generate_bundles(6, seed=11):
        for e in bundle["entry"]:
            r = e["resource"]
            if "fullUrl" in e:
                r = json.loads(json.dumps(r))
                r["id"] = by_url[e["fullUrl"]].split("/", 1)[1]
                text = json.dumps(r, sort_keys=True, ensure_ascii=False)
                for urn, key in by_url.items():
                    text = text.replace(urn, key)
                r = json.loads(text)
            flattened.append(r)
    assert _dumps(flattened) == _dumps(plain)


# -- indexing ----------------------------------------------------------------------------------


def test_every_resource_indexes() -> None:
    from helios_persistence.indexing import extract

    counts: Counter[str] = Counter()
    for r in generate(20, seed=42):
        extract(r)
        counts[r["resourceType"]] += 1
    assert counts["Observation"] > 0
