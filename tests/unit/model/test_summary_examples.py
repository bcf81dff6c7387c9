"""``_summary``/``_elements`` against the R4 StructureDefinitions, over the official examples.

The expected element sets are read here straight from ``profiles-resources.json`` (element
paths and flags), independently of the packaged table the library uses.
"""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Any

import pytest

import helios_persistence as hp
from helios_persistence.ir import Summary
from helios_persistence.model import derive
from helios_persistence.subsetting import apply, summary_of


def _shared() -> Path:
    env = os.environ.get("HELIOS_SHARED_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[3] / ".." / "shared" / "data"


FHIR = _shared() / "fhir-r4"
needs_data = pytest.mark.skipif(
    not (FHIR / "profiles-resources.json").is_file(),
    reason=f"R4 StructureDefinitions not found in {FHIR} (set HELIOS_SHARED_DATA)",
)
PACKAGED = Path(hp.__file__).parent / "model" / "data" / "r4-elements.json"


@cache
def _bundles() -> tuple[dict[str, Any], dict[str, Any]]:
    return tuple(  # type: ignore[return-value]
        json.loads((FHIR / name).read_text())
        for name in ("profiles-resources.json", "profiles-types.json")
    )


@cache
def _definitions() -> dict[str, dict[str, Any]]:
    """Element path → ElementDefinition of every resource's snapshot."""
    out: dict[str, dict[str, Any]] = {}
    for entry in _bundles()[0]["entry"]:
        sd = entry["resource"]
        if sd.get("kind") == "resource" and sd.get("derivation") != "constraint":
            for e in sd["snapshot"]["element"]:
                if "isSummary" in e:
                    out[e["path"]] = e
    return out


def _definition(path: str, key: str) -> tuple[str, dict[str, Any]] | None:
    defs = _definitions()
    name = key.lstrip("_")
    if f"{path}.{name}" in defs:
        return f"{path}.{name}", defs[f"{path}.{name}"]
    for p, e in defs.items():
        if p.startswith(f"{path}.") and p.endswith("[x]") and "." not in p[len(path) + 1 :]:
            base = p[len(path) + 1 : -3]
            if name.startswith(base) and name[len(base) : len(base) + 1].isupper():
                return p, e
    return None


def _check(original: dict[str, Any], shrunk: dict[str, Any], path: str) -> None:
    expected = set()
    for key in original:
        found = _definition(path, key)
        if key == "resourceType" or (
            found
            and (found[1]["isSummary"] or found[1].get("min", 0) > 0 or found[1].get("isModifier"))
        ):
            expected.add(key)
    assert set(shrunk) == expected, (path, set(original) - set(shrunk))
    for key in expected - {"resourceType"}:
        found = _definition(path, key)
        assert found is not None
        element_path, definition = found
        codes = [t["code"] for t in definition.get("type") or ()]
        if key.startswith("_"):
            assert shrunk[key] == original[key]
        elif "contentReference" in definition or codes in (["BackboneElement"], ["Element"]):
            nested = definition.get("contentReference", "#" + element_path)[1:]
            olds = original[key] if isinstance(original[key], list) else [original[key]]
            news = shrunk[key] if isinstance(shrunk[key], list) else [shrunk[key]]
            assert len(olds) == len(news)
            for old, new in zip(olds, news, strict=True):
                _check(old, new, nested)
        elif codes == ["Attachment"]:
            items = original[key] if isinstance(original[key], list) else [original[key]]
            kept = shrunk[key] if isinstance(shrunk[key], list) else [shrunk[key]]
            for old, new in zip(items, kept, strict=True):
                assert new == {k: v for k, v in old.items() if k not in ("data", "_data")}
        else:
            assert shrunk[key] == original[key], (element_path, key)


def _examples() -> list[Path]:
    folder = FHIR / "examples"
    return sorted(folder.glob("*.json")) if folder.is_dir() else []


@needs_data
def test_packaged_table_is_derived_from_the_structure_definitions() -> None:
    derived = derive.derive(*_bundles())
    assert json.loads(PACKAGED.read_text()) == derived


@needs_data
def test_every_official_example_summary_keeps_exactly_the_summary_elements() -> None:
    examples = _examples()
    assert len(examples) == 2253
    shrunk_any = checked = 0
    for file in examples:
        resource = json.loads(file.read_text())
        if "resourceType" not in resource:  # package-min-ver.json is not a resource
            continue
        checked += 1
        shrunk = summary_of(resource)
        _check(resource, shrunk, resource["resourceType"])
        shrunk_any += shrunk != resource
    assert checked == 2252
    assert shrunk_any > 2000  # nearly every example has a narrative, which a summary drops


def test_summary_keeps_the_elements_a_hand_written_list_lost() -> None:
    patient = {
        "resourceType": "Patient", "id": "p", "text": {"status": "generated", "div": "<div/>"},
        "managingOrganization": {"reference": "Organization/o"},
        "link": [{"other": {"reference": "Patient/q"}, "type": "seealso"}],
        "contact": [{"name": {"family": "X"}}],
    }  # fmt: skip
    out = apply(patient, Summary.TRUE, ())
    assert out["managingOrganization"] == patient["managingOrganization"]
    assert out["link"] == patient["link"]
    assert "contact" not in out and "text" not in out
    assert out["meta"]["tag"][-1]["code"] == "SUBSETTED"
    obs = {
        "resourceType": "Observation", "id": "o", "status": "final", "code": {"text": "c"},
        "valueInteger": 3, "performer": [{"reference": "Practitioner/x"}],
        "hasMember": [{"reference": "Observation/m"}], "note": [{"text": "n"}],
        "component": [{"code": {"text": "k"}, "valueInteger": 1, "interpretation": [{}]}],
    }  # fmt: skip
    out = apply(obs, Summary.TRUE, ())
    for key in ("valueInteger", "performer", "hasMember", "status", "code"):
        assert out[key] == obs[key]
    assert "note" not in out
    # a backbone element keeps its own summary children only
    assert out["component"] == [{"code": {"text": "k"}, "valueInteger": 1}]


def test_summary_drops_attachment_data_and_keeps_mandatory_and_modifier_elements() -> None:
    doc = {
        "resourceType": "DocumentReference", "id": "d", "status": "current",
        "content": [{"attachment": {"contentType": "text/plain", "data": "aGk=", "title": "t"}}],
        "modifierExtension": [{"url": "http://x", "valueBoolean": True}],
        "description": "kept",
    }  # fmt: skip
    out = summary_of(doc)
    assert out["content"] == [{"attachment": {"contentType": "text/plain", "title": "t"}}]
    assert out["modifierExtension"] == doc["modifierExtension"]
    assert out["status"] == "current"
    appointment = {"resourceType": "Appointment", "id": "a", "status": "booked",
                   "participant": [{"status": "accepted"}], "comment": "not summary"}  # fmt: skip
    out = summary_of(appointment)
    assert out["participant"] == [{"status": "accepted"}]  # mandatory though not isSummary
    assert "comment" not in out


def test_elements_keep_named_choice_and_mandatory_elements() -> None:
    obs = {
        "resourceType": "Observation", "id": "o", "meta": {"versionId": "1"},
        "status": "final", "code": {"text": "c"}, "valueQuantity": {"value": 1},
        "_status": {"extension": []}, "subject": {"reference": "Patient/p"}, "issued": "2020",
    }  # fmt: skip
    out = apply(obs, None, ("value", "Observation.subject"))
    assert set(out) == {
        "resourceType", "id", "meta", "status", "_status", "code", "valueQuantity", "subject",
    }  # fmt: skip
    text = apply(obs, Summary.TEXT, ())
    assert set(text) == {"resourceType", "id", "meta", "status", "_status", "code"}


def test_search_applies_the_summary() -> None:
    store = hp.open_store("sqlite://")
    ctx = hp.TenantContext.for_tenant("t")
    store.create(ctx, {"resourceType": "Patient", "id": "p", "gender": "male",
                       "managingOrganization": {"reference": "Organization/o"},
                       "communication": [{"language": {"text": "en"}}]})  # fmt: skip
    [summary] = store.search(ctx, "Patient?_summary=true").resources
    assert summary["managingOrganization"] == {"reference": "Organization/o"}
    assert "communication" not in summary and summary["gender"] == "male"
    [only] = store.search(ctx, "Patient?_elements=gender").resources
    assert set(only) == {"resourceType", "id", "meta", "gender"}
