"""The words full-text search indexes and matches: SQLite FTS5's own tokenizer, everywhere.

``porter unicode61 remove_diacritics 2`` — the tokenizer of the SQLite backend's FTS5 tables —
run through apsw (:meth:`apsw.Connection.fts5_tokenizer`) for every other engine that tokenises
on the client (PostgreSQL's ``tsvector`` columns and ``tsquery`` values) and for the reference
evaluator, so every engine splits, folds and stems exactly as SQLite does by construction.

FTS5's ``remove_diacritics`` only strips marks that decompose, so text first goes through
:func:`fts_text`, which maps the Latin letters that do not (``ł``, ``ø``, ``æ``, ``ß``, ...)
as :func:`helios_persistence.fhir_values.fold` does: the SQLite backend stores and queries its
FTS5 tables through it, and :func:`words_of` applies it for everyone else.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import apsw

from helios_persistence.fhir_values import UNDECOMPOSED

__all__ = ["TOKENIZER", "fts_text", "words_of"]

#: the FTS5 ``tokenize`` option of the SQLite schema's text tables
TOKENIZER = ("porter", ["unicode61", "remove_diacritics", "2"])

_local = threading.local()


def _tokenizer() -> Callable[..., Any]:
    tokenizer = getattr(_local, "tokenizer", None)
    if tokenizer is None:
        connection = apsw.Connection(":memory:")
        tokenizer = connection.fts5_tokenizer(TOKENIZER[0], list(TOKENIZER[1]))
        _local.connection, _local.tokenizer = connection, tokenizer
    return tokenizer


def fts_text(text: str) -> str:
    """``text`` with the Latin letters FTS5 cannot fold mapped to their base letters."""
    return text if text.isascii() else text.translate(UNDECOMPOSED)


@lru_cache(maxsize=1 << 14)
def words_of(text: str) -> tuple[str, ...]:
    """The tokens FTS5 indexes for ``text``, in order (folded, split and Porter-stemmed)."""
    tokens = _tokenizer()(
        fts_text(text).encode("utf-8", "surrogatepass"),
        apsw.FTS5_TOKENIZE_DOCUMENT,
        None,
        include_offsets=False,
        include_colocated=False,
    )
    return tuple(tokens)
