"""The evaluator's Porter stemmer against SQLite FTS5's own ``porter`` tokenizer.

The evaluator re-implements FTS5's stemming (``conformance/porter.py``) so its full-text
answers match; this checks the two agree word for word, on real FHIR text and on arbitrary
lower-case words.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

import apsw
from hypothesis import given
from hypothesis import strategies as st

from helios_persistence.conformance.fulltext import words_of
from helios_persistence.conformance.porter import stem
from helios_persistence.values import fold

try:
    from tests.property.support import examples
except ImportError:  # plain `pytest`: tests/ itself is on sys.path
    from property.support import examples  # type: ignore[no-redef]


@cache
def _fts() -> apsw.Connection:
    conn = apsw.Connection(":memory:")
    conn.execute(
        "CREATE VIRTUAL TABLE t USING fts5(x, tokenize = 'porter unicode61 remove_diacritics 2')"
    )
    conn.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, 'instance')")
    return conn


def fts5_words(text: str) -> list[str]:
    """The terms FTS5 indexes for ``text``, in order."""
    conn = _fts()
    conn.execute("DELETE FROM t")
    conn.execute("INSERT INTO t (rowid, x) VALUES (1, ?)", (text,))
    return [row[0] for row in conn.execute("SELECT term FROM v ORDER BY offset")]


def _corpus_words() -> list[str]:
    """Words of the packaged fixtures and of the R4 search parameter descriptions."""
    root = Path(__file__).resolve().parents[2] / "src" / "helios_persistence"
    text = " ".join(p.read_text(encoding="utf-8") for p in root.glob("conformance/*/*.json"))
    registry = root / "registry" / "data"
    for path in sorted(registry.glob("*.json"))[:3]:
        text += " " + json.dumps(json.loads(path.read_text(encoding="utf-8")))[:400_000]
    return sorted({w for w in re.findall(r"[^\W_]+", fold(text)) if w.isascii()})


def test_stems_match_fts5_on_real_words() -> None:
    words = _corpus_words()
    assert len(words) > 1000
    indexed = fts5_words(" ".join(words))
    mismatches = [(w, s, stem(w)) for w, s in zip(words, indexed, strict=True) if stem(w) != s]
    assert not mismatches, mismatches[:20]


@examples(300)
@given(st.lists(st.text(alphabet="abcdeghilmnoprstuvwyz", min_size=1, max_size=14), max_size=6))
def test_stems_match_fts5(words: list[str]) -> None:
    text = " ".join(words)
    assert list(words_of(text)) == fts5_words(text)


def test_tokenisation_folds_and_splits() -> None:
    assert words_of("Zoë Müller's follow-up, RUNNING hearts") == (
        "zoe", "muller", "s", "follow", "up", "run", "heart",
    )  # fmt: skip
