"""FHIR decimals keep their written precision (issue 11): ``1.50`` stays ``1.50``.

A resource given as JSON text or bytes is stored without going through floats and read back
(``StoredResource.json``) with the digits as written, on SQLite and PostgreSQL; a dict caller's
floats behave as before. The round trip runs over every official R4 example (PostgreSQL: a
sample) and over generated decimals.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from helios_persistence.errors import InvalidResource
from helios_persistence.storage.exact_json import decimal_text, loads
from helios_persistence.storage.validation import ID_RE
from helios_persistence.tenancy import TenantContext

try:
    from tests.conformance.backends import BACKENDS
    from tests.unit.indexing.conftest import EXAMPLES, example_files
except ImportError:  # plain `pytest`: tests/ itself is on sys.path
    from conformance.backends import BACKENDS  # type: ignore[no-redef]
    from unit.indexing.conftest import EXAMPLES, example_files  # type: ignore[no-redef]

CTX = TenantContext.for_tenant("decimals")
#: a JSON number as FHIR writes decimals (R4 datatypes: no exponent in the examples); not a
#: negative zero, whose sign PostgreSQL's jsonb (numbers are ``numeric``) does not keep
DECIMAL_TEXT = st.from_regex(r"-?(0|[1-9][0-9]{0,12})\.[0-9]{1,8}", fullmatch=True).filter(
    lambda t: Decimal(t) != 0 or not t.startswith("-")
)


@pytest.fixture(scope="module", params=["sqlite-memory", "postgres"])
def store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    spec = BACKENDS[request.param]
    with spec.opened(tmp_path_factory.mktemp(spec.name)) as opened:
        yield opened


def _exact(value: Any) -> Any:
    """``value`` with every decimal as its written digits (so 1.50 != 1.5)."""
    if isinstance(value, dict):
        return {k: _exact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_exact(v) for v in value]
    if isinstance(value, Decimal):
        return ("decimal", decimal_text(value))
    return value


def _without_server_meta(document: dict[str, Any]) -> dict[str, Any]:
    out = dict(document)
    meta = {k: v for k, v in out.pop("meta", {}).items() if k not in ("versionId", "lastUpdated")}
    if meta:
        out["meta"] = meta
    return out


def _decimals_in(text: str) -> list[str]:
    return re.findall(r"(?<![\w.\"-])-?\d+\.\d+(?![\w.\"])", text)


def test_examples_round_trip_with_their_digits(store: Any) -> None:
    files = example_files()
    if not files:
        pytest.skip(f"FHIR R4 examples not found in {EXAMPLES} (set HELIOS_SHARED_DATA)")
    if "postgres" in type(store).__module__:
        files = files[::7]  # a sample: every example costs a round trip to the server
    trailing_zeros = 0
    for path in files:
        text = path.read_text(encoding="utf-8")
        written = loads(text)
        if not isinstance(written.get("id"), str) or not ID_RE.fullmatch(written["id"]):
            continue  # a few examples have no id, or one longer than 64 characters
        if written["resourceType"] == "SearchParameter":
            continue  # storing one registers it: not what this test is about
        stored = store.update(CTX, text.encode("utf-8") if len(text) % 2 else text)
        read = store.read(CTX, written["resourceType"], written["id"])
        for got in (stored.json, read.json):
            assert got is not None
            assert _exact(_without_server_meta(loads(got))) == _exact(
                _without_server_meta(written)
            ), path.name
        # the text caller's dict is what json.loads makes of it, as on every read
        assert read.resource == stored.resource == json.loads(read.json)
        trailing_zeros += any(d.endswith("0") for d in _decimals_in(text))
    assert trailing_zeros > 0  # the examples do hold decimals like 12500.00


def test_a_dict_callers_floats_are_stored_as_before(store: Any) -> None:
    resource = {
        "resourceType": "Observation",
        "id": "dict-floats",
        "status": "final",
        "code": {"text": "x"},
        "valueQuantity": {"value": 1.50, "unit": "mg"},
    }
    stored = store.update(CTX, resource)
    assert stored.resource["valueQuantity"] == {"value": 1.5, "unit": "mg"}
    assert isinstance(stored.resource["valueQuantity"]["value"], float)
    read = store.read(CTX, "Observation", "dict-floats")
    assert read.resource["valueQuantity"]["value"] == 1.5
    assert "1.5" in _decimals_in(read.json or "")
    # a dict holding Decimals (its caller parsed exactly) is stored exactly too
    resource["valueQuantity"] = {"value": Decimal("1.50"), "unit": "mg"}
    assert _decimals_in(store.update(CTX, resource).json or "") == ["1.50"]
    assert _decimals_in(store.read(CTX, "Observation", "dict-floats").json or "") == ["1.50"]


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(values=st.lists(DECIMAL_TEXT, min_size=1, max_size=4))
def test_generated_decimals_keep_their_digits(store: Any, values: list[str]) -> None:
    components = ",".join(
        f'{{"code":{{"text":"c{i}"}},"valueQuantity":{{"value":{v},"unit":"mg"}}}}'
        for i, v in enumerate(values)
    )
    text = (
        '{"resourceType":"Observation","id":"generated","status":"final",'
        f'"code":{{"text":"x"}},"component":[{components}]}}'
    )
    assert _decimals_in(store.update(CTX, text).json or "") == values
    assert _decimals_in(store.read(CTX, "Observation", "generated").json or "") == values


def test_search_patch_and_vread_keep_the_digits(store: Any) -> None:
    text = (
        '{"resourceType":"Observation","id":"patched","status":"preliminary",'
        '"code":{"text":"x"},"valueQuantity":{"value":72.50,"unit":"/min"}}'
    )
    store.update(CTX, text)
    found = store.search(CTX, "Observation?value-quantity=72.50&_id=patched")
    assert [r["id"] for r in found.resources] == ["patched"]
    patch = [{"op": "replace", "path": "/status", "value": "final"}]
    patched = store.patch(CTX, "Observation", "patched", patch)
    assert patched.resource["status"] == "final"
    assert _decimals_in(patched.json or "") == ["72.50"]
    first, second = (store.vread(CTX, "Observation", "patched", v) for v in ("1", "2"))
    assert (first.resource["status"], second.resource["status"]) == ("preliminary", "final")
    assert _decimals_in(first.json or "") == _decimals_in(second.json or "") == ["72.50"]


def test_text_that_is_not_a_resource_is_refused_and_changes_nothing(store: Any) -> None:
    before = store.search(CTX, "Observation?_id=never&_total=accurate").total
    for bad in ('{"resourceType":"Observation","id":"never",', b"\xff\xfe", "[1.50]", "NaN"):
        with pytest.raises(InvalidResource):
            store.update(CTX, bad)
    assert store.search(CTX, "Observation?_id=never&_total=accurate").total == before == 0


def test_a_transaction_given_as_text_keeps_the_digits(store: Any) -> None:
    bundle = (
        '{"resourceType":"Bundle","type":"transaction","entry":[{"fullUrl":"urn:uuid:o1",'
        '"resource":{"resourceType":"Observation","status":"final","code":{"text":"x"},'
        '"valueQuantity":{"value":0.10,"unit":"g"}},"request":{"method":"POST",'
        '"url":"Observation"}}]}'
    )
    response = store.transaction(CTX, bundle)
    new_id = response["entry"][0]["response"]["location"].split("/")[1]
    assert _decimals_in(store.read(CTX, "Observation", new_id).json or "") == ["0.10"]


#: decimals as a FHIR client may write them: up to 20 digits before the point, 12 after
WIDE_DECIMAL_TEXT = st.from_regex(r"-?(0|[1-9][0-9]{0,19})\.[0-9]{1,12}", fullmatch=True).filter(
    lambda t: Decimal(t) != 0 or not t.startswith("-")
)


def _observation_text(id: str, values: list[str], member: str | None = None) -> str:
    components = ",".join(
        f'{{"code":{{"text":"c{i}"}},"valueQuantity":{{"value":{v},"unit":"mg"}}}}'
        for i, v in enumerate(values)
    )
    has_member = f',"hasMember":[{{"reference":"Observation/{member}"}}]' if member else ""
    return (
        f'{{"resourceType":"Observation","id":"{id}","status":"final",'
        f'"code":{{"text":"x"}}{has_member},"component":[{components}]}}'
    )


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    matched=st.lists(WIDE_DECIMAL_TEXT, min_size=1, max_size=3),
    included=st.lists(WIDE_DECIMAL_TEXT, min_size=1, max_size=3),
)
@example(matched=["1.10", "0.000001234"], included=["12345678901234567890.1"])
def test_search_results_and_history_entries_keep_the_digits(
    store: Any, matched: list[str], included: list[str]
) -> None:
    """Searches (their matches and what ``_include`` adds) and histories return the stored
    text of each resource, as ``read`` does: the decimals have their digits as written."""
    store.update(CTX, _observation_text("member", included))
    store.update(CTX, _observation_text("found", matched, member="member"))
    found = store.search(CTX, "Observation?_id=found&_include=Observation:has-member")
    assert [s.id for s in found.stored] == [r["id"] for r in found.resources] == ["found"]
    assert [s.id for s in found.included_stored] == ["member"]
    assert _decimals_in(found.stored[0].json or "") == matched
    assert _decimals_in(found.included_stored[0].json or "") == included
    assert found.resources == [s.resource for s in found.stored]  # (json.loads of the text)
    entries, total = store.history_entries(CTX, "Observation", "found", count=1)
    assert total >= 1 and len(entries) == 1
    assert _decimals_in(entries[0].stored.json or "") == matched
    assert (
        entries[0].stored.resource
        == store.history(CTX, "Observation", "found", count=1)["entry"][0]["resource"]
    )
