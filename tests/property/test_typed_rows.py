"""The bulk export's typed rows (``analytics/typed_rows.py``) let DuckDB convert a document only
when it writes every number back with the digits as written: any number literal that
:data:`INEXACT` does not flag, DuckDB's ``json_transform`` renders as the same text, in a
typed VARCHAR column and inside a JSON column alike."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

try:
    from tests.property.test_export_decimals import literals
except ImportError:  # plain `pytest`: tests/ itself is on sys.path
    from property.test_export_decimals import literals  # type: ignore[no-redef]

duckdb = pytest.importorskip("duckdb")

from helios_persistence.analytics.typed_rows import INEXACT  # noqa: E402

_CON = duckdb.connect()


@given(st.lists(literals, min_size=1, max_size=40))
def test_numbers_not_flagged_keep_their_digits(values: list[str]) -> None:
    documents = [f'{{"a":{v},"b":[{v}]}}' for v in values]
    rows = _CON.execute(
        'SELECT d, regexp_matches(d, $inexact), json_transform(d, \'{"a":"VARCHAR","b":"JSON"}\') '
        "FROM (SELECT unnest($docs) AS d)",
        {"docs": documents, "inexact": INEXACT},
    ).fetchall()
    for (document, flagged, typed), value in zip(rows, values, strict=True):
        assert flagged == bool(re.search(INEXACT, document))  # (the same pattern in Python)
        if not flagged:
            assert typed["a"] == value, document
            assert typed["b"] == f"[{value}]", document


def test_the_flags_catch_what_duckdb_would_rewrite() -> None:
    rewritten = [
        "1.10",
        "1e5",
        "1.5E+3",
        "-0",
        "0.00001",
        "12345678901234567",
        "0.1000000000000000055511",
    ]
    kept = ["1.1", "72.0", "150", "-12.5", "0.001", "123456789012345", "-0.0"]
    for value in rewritten:
        assert re.search(INEXACT, f'{{"a":{value}}}'), value
    for value in kept:
        assert not re.search(INEXACT, f'{{"a":{value}}}'), value
