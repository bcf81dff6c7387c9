"""Full text is tokenised by SQLite FTS5's own tokenizer everywhere (``indexing/text_tokens``).

The client-side tokens (PostgreSQL's ``tsvector`` values, the reference evaluator) must be
exactly the terms an FTS5 table with the schema's ``tokenize`` option indexes, for any text.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import apsw
from hypothesis import given
from hypothesis import strategies as st

from helios_persistence.assets import read_asset
from helios_persistence.indexing.text_tokens import TOKENIZER, fts_text, words_of

try:
    from tests.property.support import examples
except ImportError:  # plain `pytest`: tests/ itself is on sys.path
    from property.support import examples  # type: ignore[no-redef]

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "helios_persistence"


@cache
def _fts() -> apsw.Connection:
    conn = apsw.Connection(":memory:")
    conn.execute(f"CREATE VIRTUAL TABLE t USING fts5(x, tokenize = '{_schema_tokenizer()}')")
    conn.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, 'instance')")
    return conn


def _schema_tokenizer() -> str:
    text = read_asset("dialects", "sqlite", "schema.sql")
    options = {line.split("=", 1)[1].strip().strip("',") for line in text.splitlines()
               if line.strip().startswith("tokenize")}  # fmt: skip
    assert len(options) == 1, options
    return options.pop()


def fts5_terms(text: str) -> list[str]:
    """The terms the SQLite backend's FTS5 tables index for ``text`` (stored through
    ``fts_text``), in order."""
    conn = _fts()
    conn.execute("DELETE FROM t")
    conn.execute("INSERT INTO t (rowid, x) VALUES (1, ?)", (fts_text(text),))
    return [row[0] for row in conn.execute("SELECT term FROM v ORDER BY offset")]


def test_the_tokenizer_is_the_schemas() -> None:
    assert _schema_tokenizer() == " ".join([TOKENIZER[0], *TOKENIZER[1]])


def test_tokens_match_fts5_on_real_text() -> None:
    root = PACKAGE
    text = " ".join(p.read_text(encoding="utf-8") for p in root.glob("conformance/*/*.json"))
    text += json.dumps(json.loads((root / "registry/data/search-parameters.json").read_text()))
    text = text[:600_000]
    words = words_of(text)
    assert len(words) > 10_000
    assert list(words) == fts5_terms(text)


@examples(300)
@given(st.text(st.characters(exclude_categories=("Cs",)), max_size=60))
def test_tokens_match_fts5(text: str) -> None:
    assert list(words_of(text)) == fts5_terms(text)


def test_tokenisation_folds_splits_and_stems() -> None:
    assert words_of("Zoë Müller's follow-up, RUNNING hearts mg/m²") == (
        "zoe", "muller", "s", "follow", "up", "run", "heart", "mg", "m²",
    )  # fmt: skip
    # letters FTS5 cannot fold are mapped first (fts_text), as the SQLite tables store them
    assert words_of("Łukasiewicz Øster Straße Þór") == ("lukasiewicz", "oster", "strass", "thor")
