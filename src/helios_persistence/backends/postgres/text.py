"""``tsvector`` values for the full-text tables, tokenised by the library.

The text is split and stemmed on the client (the tokens of
:func:`helios_persistence.indexing.text_tokens.words_of`: SQLite FTS5's own tokenizer) and
sent in ``tsvector``'s **binary** form (what
``tsvectorrecv`` reads: the number of lexemes, then per lexeme its UTF-8 bytes, a NUL, the
number of positions and the positions, all big-endian), which PostgreSQL reads without any
text-search configuration: no parser, dictionary or stop word of the server can change the
words, so ``@@`` with :func:`~helios_persistence.compilers.postgres_text.to_tsquery` answers
exactly as SQLite's FTS5 tables do. The binary form costs the server less than the literal
(``'word':1,4 'other':2``), which it would have to tokenise again.

Short texts (displays, names, narratives: most of them repeat from resource to resource) are
memoised.

PostgreSQL's limits apply: positions above 16,383 are not stored (phrase and NEAR queries
cannot see words that far into one text; plain word queries still can, at position 16,383),
a word keeps at most 256 positions, and words longer than 2,046 bytes are not indexed.
"""

from __future__ import annotations

import struct
from functools import lru_cache

from helios_persistence.indexing.text_tokens import words_of

__all__ = ["TsVector", "literal", "tsvector"]

MAX_POSITION = 16383
MAX_POSITIONS_PER_WORD = 256
MAX_WORD_BYTES = 2046
#: texts up to this many characters are memoised (repeated displays, names, narratives)
MEMO_CHARS = 200


class TsVector(bytes):
    """A ``tsvector`` in binary form (``tsvectorrecv``'s input); see the module docstring."""


EMPTY = TsVector(b"\0\0\0\0")
_COUNT = struct.Struct(">i").pack
#: a number up to 256 (a position, a count of positions) as two latin-1 characters: its
#: big-endian bytes
_SMALL = [chr(i >> 8) + chr(i & 255) for i in range(MAX_POSITIONS_PER_WORD + 1)]
_NUL = "\0"
#: a lexeme's terminating NUL and a count of one position
_ONE = _NUL + _SMALL[1]


def _words(text: str) -> list[str]:
    return list(words_of(text))


def _positions(words: list[str]) -> dict[str, list[int]]:
    """Each word's positions (1-based), within PostgreSQL's limits."""
    positions: dict[str, list[int]] = {}
    if len(words) <= MAX_POSITIONS_PER_WORD:  # no position or count limit can apply
        for i, word in enumerate(words, start=1):
            at = positions.get(word)
            if at is None:
                positions[word] = [i]
            else:
                at.append(i)
        if max(map(len, positions), default=0) * 4 > MAX_WORD_BYTES:
            for word in [w for w in positions if len(w.encode("utf-8")) > MAX_WORD_BYTES]:
                del positions[word]
        return positions
    for i, word in enumerate(words, start=1):
        at = positions.get(word)
        if at is None:
            if len(word) > MAX_WORD_BYTES // 4 and len(word.encode("utf-8")) > MAX_WORD_BYTES:
                continue
            positions[word] = [i if i < MAX_POSITION else MAX_POSITION]
        elif len(at) < MAX_POSITIONS_PER_WORD and at[-1] < MAX_POSITION:
            at.append(i if i < MAX_POSITION else MAX_POSITION)
    return positions


def _build(text: str) -> TsVector:
    words = _words(text)
    positions = _positions(words)
    if not positions:
        return EMPTY
    count = _COUNT(len(positions))
    if len(words) <= MAX_POSITIONS_PER_WORD and text.isascii():
        # ASCII words and positions below 257: the body as one latin-1 string
        body = "".join(
            [
                w + _ONE + _SMALL[p[0]] if len(p) == 1 else w + _NUL + _SMALL[len(p)]
                + "".join([_SMALL[i] for i in p])
                for w, p in positions.items()
            ]
        )  # fmt: skip
        return TsVector(count + body.encode("latin-1"))
    parts = [count]
    for word, at in positions.items():
        parts.append(word.encode("utf-8"))
        parts.append(struct.pack(f">x{len(at) + 1}H", len(at), *at))
    return TsVector(b"".join(parts))


_memo = lru_cache(maxsize=1 << 14)(_build)


def tsvector(text: str) -> TsVector:
    """The binary ``tsvector`` of ``text`` (no lexemes for no words)."""
    if not text:
        return EMPTY
    return _memo(text) if len(text) <= MEMO_CHARS else _build(text)


def literal(text: str) -> str:
    """The ``tsvector`` literal of ``text`` (``'word':1,4 'other':2``; '' for no words): the
    same lexemes and positions as :func:`tsvector`, in the text form (tests, diagnostics)."""
    positions = _positions(_words(text)) if text else {}
    return " ".join(f"'{w}':{','.join(map(str, p))}" for w, p in positions.items())
