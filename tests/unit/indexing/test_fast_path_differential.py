"""Differential test: the compiled fast path returns what fhirpathpy returns.

For every example resource (and a sample of Synthea), every search parameter expression of
its type that the fast path handles, and every composite component expression on each base
element, both evaluators must produce the same values. fhirpathpy gets ``resolve()`` through
the shim that decides the type from the reference itself (the same rule the fast path uses),
so what is compared here is the path walking: choice types, ofType/as, where filters, [0],
%resource, unions, nested arrays.
"""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from typing import Any

import pytest

from helios_persistence.indexing.fhirpath import compile_fast, evaluate_slow
from helios_persistence.registry import ParamType, default_registry


def _canon(values: list[Any]) -> list[str]:
    # fhirpathpy reads decimals as Decimal, JSON as float: compare as floats; FHIRPath unions
    # deduplicate, so compare the distinct values
    def default(value: Any) -> Any:
        if isinstance(value, Decimal):
            return float(value)
        raise TypeError(type(value))

    return sorted({json.dumps(v, sort_keys=True, default=default) for v in values})


def _compare(resource: dict[str, Any]) -> tuple[int, list[str]]:
    registry = default_registry()
    rtype = resource["resourceType"]
    checked, failures = 0, []
    for param in registry.params_for(rtype):
        if not param.expression:
            continue
        fast = compile_fast(param.expression, rtype)
        if fast is None:
            continue
        mine = _canon([v for v, _ in fast.values(resource)])
        theirs = _canon(evaluate_slow(param.expression, resource, resource))
        checked += 1
        if mine != theirs:
            failures.append(f"{rtype}.{param.code}: {param.expression}: {mine} != {theirs}")
        if param.type is not ParamType.COMPOSITE:
            continue
        for branch, get in zip(fast.branches, fast.getters, strict=True):
            base = branch.type_key or branch.type
            for item in get(resource, resource):
                for component in param.components:
                    sub = compile_fast(component.expression, base, rtype)
                    assert sub is not None, component.expression
                    mine = _canon([v for v, _ in sub.values(item, resource)])
                    typed = base if item is not resource else None
                    theirs = _canon(evaluate_slow(component.expression, item, resource, typed))
                    checked += 1
                    if mine != theirs:
                        failures.append(
                            f"{rtype}.{param.code} component {component.expression} on "
                            f"{base}: {mine} != {theirs}"
                        )
    return checked, failures


def test_fast_path_equals_fhirpathpy_on_every_example(
    examples: list[tuple[str, dict[str, Any]]],
) -> None:
    total, failures = 0, []
    for name, resource in examples:
        if "resourceType" not in resource:
            continue
        before = copy.deepcopy(resource)
        checked, failed = _compare(resource)
        assert resource == before, f"{name} was modified by evaluation"
        total += checked
        failures += [f"{name}: {f}" for f in failed]
    assert not failures, "\n".join(failures[:20])
    assert total > 50_000


def test_fast_path_equals_fhirpathpy_on_synthea_sample(synthea: list[dict[str, Any]]) -> None:
    # one resource in 20, every type represented
    sample = synthea[::20]
    seen = {r["resourceType"] for r in sample}
    sample += [r for r in synthea if r["resourceType"] not in seen]
    failures: list[str] = []
    total = 0
    for resource in sample:
        checked, failed = _compare(resource)
        total += checked
        failures += failed
    assert not failures, "\n".join(failures[:20])
    assert total > 10_000


@pytest.mark.parametrize(
    "resource",
    [
        # resolve() from a contained resource, from Reference.type, and not decidable
        {
            "resourceType": "Observation",
            "contained": [{"resourceType": "Patient", "id": "p1"}],
            "subject": {"reference": "#p1"},
            "performer": [{"reference": "Practitioner/1"}, {"type": "Patient", "display": "x"}],
        },
        {"resourceType": "Observation", "subject": {"reference": "urn:uuid:1234"}},
        # choice types, nested arrays with nulls, primitive arrays
        {
            "resourceType": "Patient",
            "name": [{"given": ["A", None, "B"], "family": "F"}, {"text": "T"}],
            "telecom": [{"system": "email", "value": "a@b"}, {"system": "phone", "value": "1"}],
        },
    ],
)
def test_fast_path_equals_fhirpathpy_on_edge_cases(resource: dict[str, Any]) -> None:
    checked, failures = _compare(resource)
    assert checked > 10
    assert not failures, "\n".join(failures)
