"""``rows_by_table`` marks irregular date rows (``grp`` 0), which date-range queries rely on."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from helios_persistence.backends.sql.index_tables import IRREGULAR, NARROW_SPAN, rows_by_table
from helios_persistence.indexing.rows import CompositeRow, DateRow, TokenRow

_INSTANTS = st.integers(0, 10 * NARROW_SPAN)
_SPANS = st.sampled_from(
    [-NARROW_SPAN, 0, 1, 1_000_000, NARROW_SPAN, NARROW_SPAN + 1, 400 * NARROW_SPAN]
)
_DATES = st.builds(
    lambda p, low, span: DateRow(p, low, low + span), st.sampled_from("abc"), _INSTANTS, _SPANS
)


@given(st.lists(_DATES, max_size=6), st.booleans())
def test_a_date_row_is_irregular_unless_alone_and_at_most_a_day_wide(
    dates: list[DateRow], composite: bool
) -> None:
    extra = [CompositeRow("combo", (TokenRow("combo", None, "x"), DateRow("combo", 0, 1)))]
    tables = rows_by_table("t", "Goal", "g1", [*dates, *(extra if composite else [])])
    rows = tables.get("idx_date", [])
    plain = [r for r in rows if "$" not in r[3]]
    assert [(r[3], r[5], r[6]) for r in plain] == [(d.param, d.low, d.high) for d in dates]
    for row, date in zip(plain, dates, strict=True):
        alone = sum(d.param == date.param for d in dates) == 1
        regular = alone and 0 < date.high - date.low <= NARROW_SPAN
        assert row[4] == (None if regular else IRREGULAR)
    assert all(r[4] == 1 for r in rows if "$" in r[3])  # composite components keep their group
