"""FHIR decimals keep their exact digits through an export: store (as JSON text) → Parquet →
``open_analytics`` → JSON. ``1.10`` stays ``1.10``; long and very precise values stay exact
(in the typed columns, reassembled resources, and search results)."""

from __future__ import annotations

import json
import tempfile
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

import helios_persistence as hp
from helios_persistence.results import dumps
from helios_persistence.storage.exact_json import loads as exact_loads
from helios_persistence.tenancy import TenantContext

try:
    from tests.property.support import examples
except ImportError:  # plain `pytest`: tests/ itself is on sys.path
    from property.support import examples  # type: ignore[no-redef]

pytest.importorskip("duckdb")

CTX = TenantContext.for_tenant("decimals")

_digits = st.text("0123456789", min_size=1, max_size=30)
#: FHIR decimal literals: any sign, length, trailing zeros and exponent
literals = st.builds(
    lambda sign, whole, fraction, exponent: (
        f"{sign}{whole.lstrip('0') or '0'}{'.' + fraction if fraction else ''}{exponent}"
    ),
    st.sampled_from(["", "-"]),
    _digits,
    st.one_of(st.just(""), _digits),
    st.one_of(st.just(""), st.integers(-30, 30).map(lambda e: f"e{e:+d}")),
)


def _observation(i: int, values: list[str]) -> str:
    """An Observation (JSON text) holding ``values`` where the layout types decimals: a
    Quantity, a list of components' Quantities, a range, an extension."""
    first, *rest = values
    components = ",".join(
        f'{{"code":{{"text":"c{j}"}},"valueQuantity":{{"value":{v},"unit":"u"}}}}'
        for j, v in enumerate(rest)
    )
    return (
        f'{{"resourceType":"Observation","id":"o{i}","status":"final","code":{{"text":"x"}},'
        f'"extension":[{{"url":"http://example.org/d","valueDecimal":{first}}}],'
        f'"valueQuantity":{{"value":{first},"unit":"kg"}},'
        f'"referenceRange":[{{"low":{{"value":{first}}}}}],'
        f'"component":[{components}]}}'
    )


def _canonical(resource: Any) -> bytes:
    """Key order aside, the JSON text: digits compared as written, not as numbers."""
    return orjson.dumps(
        json.loads(dumps(resource), parse_float=str, parse_int=str), option=orjson.OPT_SORT_KEYS
    )


@examples(8)
@given(st.lists(st.lists(literals, min_size=1, max_size=6), min_size=1, max_size=8))
def test_decimals_keep_their_digits_through_an_export(resources: list[list[str]]) -> None:
    store = hp.open_store("sqlite://")
    try:
        for i, values in enumerate(resources):
            store.update(CTX, _observation(i, values))
        with tempfile.TemporaryDirectory() as folder:
            job = store.export(CTX, destination=folder).wait()
            assert job.status == "completed", job.error
            with hp.open_analytics(folder) as lake:
                typed = dict(
                    lake.sql(
                        'SELECT id, [valueQuantity.value, "referenceRange"[1].low.value, '
                        'extension[1]."valueDecimal"] || '
                        'list_transform(component, lambda c: c."valueQuantity".value) '
                        "FROM observation"
                    ).fetchall()
                )
                rebuilt = {r["id"]: r for r in lake.resources("Observation")}
                found = {r["id"]: r for r in lake.search("Observation?_count=100").resources}
            for i, values in enumerate(resources):
                # each literal as the store keeps it (an integer literal is an integer: -0 is 0)
                written = [dumps(exact_loads(v)) for v in values]
                first, *rest = written
                assert typed[f"o{i}"] == [first, first, first, *rest]
                stored = store.read(CTX, "Observation", f"o{i}").json
                assert stored is not None
                assert _canonical(rebuilt[f"o{i}"]) == _canonical(exact_loads(stored))
                assert _canonical(found[f"o{i}"]) == _canonical(exact_loads(stored))
                assert f'"value":{first},' in dumps(found[f"o{i}"])
    finally:
        store.close()
