"""The exact number keys of the SQLite and DuckDB index columns: byte order is numeric order."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from helios_persistence.indexing.decimal_keys import decimal_of_key, number_key

#: any decimal with up to 40 digits and the point anywhere, and the open ends of a Range
decimals = st.one_of(
    st.builds(
        lambda digits, exponent, negative: (
            (-1 if negative else 1) * Decimal(digits).scaleb(exponent)
        ),
        st.integers(0, 10**40),
        st.integers(-60, 60),
        st.booleans(),
    ),
    st.integers(-(2**70), 2**70).map(Decimal),
    st.sampled_from([Decimal("Infinity"), Decimal("-Infinity"), Decimal("-0"), Decimal("0.00")]),
)


@given(decimals, decimals)
def test_keys_order_as_the_numbers_do(a: Decimal, b: Decimal) -> None:
    ka, kb = number_key(a), number_key(b)
    assert (ka < kb) == (a < b)
    assert (ka == kb) == (a == b)
    assert (ka.encode() < kb.encode()) == (a < b)  # as bytes too (BINARY collation)


@given(decimals)
def test_a_key_gives_its_number_back(value: Decimal) -> None:
    assert decimal_of_key(number_key(value)) == value


def test_integers_beyond_2_53_keep_every_digit() -> None:
    assert number_key(Decimal(2**53 + 1)) != number_key(Decimal(2**53))
    assert number_key(Decimal("1.50")) == number_key(Decimal("1.5"))
    assert not any(number_key(Decimal(t))[0].isdigit() for t in ("0", "-1", "1e5"))
