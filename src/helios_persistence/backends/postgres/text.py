"""``tsvector`` values for the full-text tables, tokenised by the library.

The text is split and stemmed in Python (:func:`helios_persistence.text_query.stems`) and sent
in ``tsvector``'s literal form (``'word':1,4 'other':2``), which PostgreSQL reads without any
text-search configuration: no parser, dictionary or stop word of the server can change the
words, so ``@@`` with :func:`~helios_persistence.text_query.to_tsquery` answers exactly as
SQLite's FTS5 tables do. Accent folding is :func:`helios_persistence.values.fold` (NFKD with
combining marks removed), the same folding as every string index, rather than ``unaccent``,
whose rules differ from it and from the reference evaluator.

PostgreSQL's limits apply: positions above 16,383 are not stored (phrase and NEAR queries
cannot see words that far into one text; plain word queries still can, at position 16,383),
a word keeps at most 256 positions, and words longer than 2,046 bytes are not indexed.
"""

from __future__ import annotations

from helios_persistence.text_query import stems

__all__ = ["tsvector"]

MAX_POSITION = 16383
MAX_POSITIONS_PER_WORD = 256
MAX_WORD_BYTES = 2046


def tsvector(text: str) -> str:
    """The ``tsvector`` literal of ``text`` ('' for no words). Words are letters and digits
    only (:func:`~helios_persistence.text_query.stems`), so they need no escaping."""
    if not text:
        return ""
    positions: dict[str, list[int]] = {}
    for i, word in enumerate(stems(text), start=1):
        at = positions.get(word)
        if at is None:
            if len(word) > MAX_WORD_BYTES // 4 and len(word.encode("utf-8")) > MAX_WORD_BYTES:
                continue
            positions[word] = [i if i < MAX_POSITION else MAX_POSITION]
        elif len(at) < MAX_POSITIONS_PER_WORD and at[-1] < MAX_POSITION:
            at.append(i if i < MAX_POSITION else MAX_POSITION)
    return " ".join(f"'{w}':{','.join(map(str, p))}" for w, p in positions.items())
