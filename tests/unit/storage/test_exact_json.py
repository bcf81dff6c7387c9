"""Exact JSON (issue 11): decimals parsed from text keep their digits through serialisation."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from helios_persistence.errors import InvalidResource
from helios_persistence.storage.exact_json import decimal_text, loads, parse_resource
from helios_persistence.storage.validation import serialize

#: JSON numbers with a fraction, as written (plain notation)
PLAIN = st.from_regex(r"-?(0|[1-9][0-9]{0,30})\.[0-9]{1,30}", fullmatch=True)
#: JSON numbers with an exponent
EXPONENT = st.from_regex(r"-?(0|[1-9][0-9]{0,5})(\.[0-9]{1,5})?[eE][+-]?[0-9]{1,3}", fullmatch=True)
KEYS = st.text(min_size=1, max_size=5)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    PLAIN.map(Decimal),
    st.text(max_size=6),  # "null" inside a string must not change how numbers are written
)
DOCUMENTS = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=20,
)


def _exact(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _exact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_exact(v) for v in value]
    if isinstance(value, Decimal):  # a JSON number, as its text (long integers are Decimals)
        return ("number", decimal_text(value))
    if isinstance(value, int) and not isinstance(value, bool):
        return ("number", str(value))
    return value


@given(PLAIN)
def test_plain_decimals_are_written_as_read(text: str) -> None:
    assert decimal_text(loads(text)) == text
    assert serialize({"v": loads(text)}) == f'{{"v":{text}}}'  # type: ignore[dict-item]


@given(EXPONENT)
def test_exponents_keep_value_and_digits(text: str) -> None:
    value = loads(text)
    written = decimal_text(Decimal(value))
    assert Decimal(written) == Decimal(text)
    assert Decimal(written).as_tuple().digits == Decimal(text).as_tuple().digits
    assert json.loads(written) == json.loads(text)  # valid JSON, the same number


@given(DOCUMENTS)
def test_documents_round_trip_exactly(document: Any) -> None:
    resource = {"resourceType": "Basic", "doc": document}
    text = serialize(resource)
    assert _exact(loads(text)) == _exact(resource)


@given(st.recursive(st.none() | st.booleans() | st.floats(allow_nan=False, allow_infinity=False)
                    | st.integers(-(2**63), 2**63 - 1) | st.text(max_size=5),
                    lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(KEYS, inner, max_size=3), max_leaves=15))  # fmt: skip
def test_a_dict_callers_floats_are_written_as_before(document: Any) -> None:
    """Without Decimals the text is orjson's (each float's shortest repr), as before (or,
    when orjson wrote a ``null``, the standard library's, as before); floats read back equal."""
    resource = {"resourceType": "Basic", "doc": document}
    text = serialize(resource)
    assert json.loads(text) == resource
    if b"null" not in orjson.dumps(resource):
        assert text == orjson.dumps(resource).decode()
    else:
        assert text == json.dumps(resource, ensure_ascii=False, separators=(",", ":"))


def test_integers_beyond_64_bits_stay_exact() -> None:
    text = '{"a":123456789012345678901234567890,"b":-9223372036854775809,"c":7}'
    parsed = loads(text)
    assert serialize(parsed) == text
    assert isinstance(parsed["c"], int)


@pytest.mark.parametrize(
    "bad", ["NaN", '{"a":Infinity}', '{"a":-Infinity}', "{", b"\xff", "", '{"a":1}x']
)
def test_text_that_is_not_json_is_refused(bad: str | bytes) -> None:
    with pytest.raises(InvalidResource, match="not valid JSON"):
        parse_resource(bad)


def test_non_finite_decimals_are_not_json() -> None:
    for value in (Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity")):
        with pytest.raises(InvalidResource):
            serialize({"resourceType": "Basic", "v": value})
        with pytest.raises(ValueError):
            decimal_text(value)


def test_a_dict_is_taken_as_it_is() -> None:
    resource = {"resourceType": "Basic", "v": 1.5}
    assert parse_resource(resource) is resource
    assert parse_resource(b'{"v": 1.50}') == {"v": Decimal("1.50")}
    assert parse_resource(bytearray(b'{"v": 1.50}')) == {"v": Decimal("1.50")}
