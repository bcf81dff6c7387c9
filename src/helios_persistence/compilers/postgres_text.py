"""Full text on PostgreSQL: a parsed text query as ``tsquery`` text.

The lexemes are the library's own tokens (:func:`helios_persistence.indexing.text_tokens.
words_of`: SQLite FTS5's ``porter unicode61 remove_diacritics 2`` tokenizer), the same the
backend writes into its ``tsvector`` columns, so PostgreSQL's parser, dictionaries and stop
words never change what matches. Every lexeme is quoted, and the text is cast with
``::tsquery`` from a bound parameter.
"""

from __future__ import annotations

from itertools import pairwise, permutations

from helios_persistence.errors import InvalidSearch
from helios_persistence.indexing.text_tokens import words_of
from helios_persistence.ir.text import TextNode

__all__ = ["MAX_NEAR_ALTERNATIVES", "to_tsquery"]

#: a lexeme no indexed text can contain (indexed lexemes are letters and digits only)
_NEVER = "'_'"
#: the most alternatives a NEAR may expand to (permutations x gap combinations)
MAX_NEAR_ALTERNATIVES = 4096


def _lexeme(word: str, prefix: bool = False) -> str:
    quoted = "'" + word.replace("\\", "\\\\").replace("'", "''") + "'"
    return quoted + ":*" if prefix else quoted


def _phrase(words: list[str] | tuple[str, ...], prefix: bool = False) -> str:
    last = len(words) - 1
    parts = [_lexeme(w, prefix and i == last) for i, w in enumerate(words)]
    return parts[0] if len(parts) == 1 else "(" + " <-> ".join(parts) + ")"


def _gaps(count: int, minimums: list[int], budget: int) -> list[list[int]]:
    """Every list of ``count`` gaps, each at least its minimum, summing to at most ``budget``."""
    if count == 0:
        return [[]]
    out: list[list[int]] = []
    for g in range(minimums[0], budget - sum(minimums[1:]) + 1):
        out.extend([g, *rest] for rest in _gaps(count - 1, minimums[1:], budget - g))
    return out


def _near(terms: list[tuple[str, ...]], distance: int) -> str:
    """``NEAR`` as tsquery: every order of the terms and every spacing whose window (words
    strictly between the end of the first term and the start of the last) is at most
    ``distance``. ``A <g> B`` puts B's first word ``g`` positions after A's last word."""
    alternatives: list[str] = []
    for order in dict.fromkeys(permutations(terms)):
        interior = sum(len(t) - 1 for t in order[1:-1])
        minimums = [0 if a[-1] == b[0] else 1 for a, b in pairwise(order)]
        for gaps in _gaps(len(order) - 1, minimums, distance + 1 - interior):
            text = _phrase(order[0])
            for gap, term in zip(gaps, order[1:], strict=True):
                text = f"({text} <{gap}> {_phrase(term)})"
            alternatives.append(text)
            if len(alternatives) > MAX_NEAR_ALTERNATIVES:
                raise InvalidSearch(
                    f"NEAR with {len(terms)} terms and distance {distance} is too wide for "
                    "this backend",
                    not_supported=True,
                )
    return "(" + " | ".join(alternatives) + ")" if alternatives else _NEVER


def _tsquery(node: TextNode) -> str | None:
    """tsquery text, or None when no text can match."""
    if node.kind in ("word", "prefix", "phrase"):
        found = words_of(" ".join(str(t) for t in node.terms))
        return _phrase(found, node.kind == "prefix") if found else None
    if node.kind == "near":
        terms = [tuple(words_of(str(t))) for t in node.terms]
        if not all(terms):
            return None
        return _near(terms, node.distance)
    children = [c for c in node.terms if isinstance(c, TextNode)]
    if node.kind == "or":
        if any(c.kind == "not" for c in children):
            raise InvalidSearch("NOT needs something to exclude from")
        parts = [p for p in (_tsquery(c) for c in children) if p is not None]
        return "(" + " | ".join(parts) + ")" if parts else None
    if node.kind == "not":
        raise InvalidSearch("NOT needs something to exclude from")
    positive = [_tsquery(c) for c in children if c.kind != "not"]
    negative = [_tsquery(c.terms[0]) for c in children if c.kind == "not"]  # type: ignore[arg-type]
    if not positive:
        raise InvalidSearch("a text search cannot consist of NOT alone")
    if any(p is None for p in positive):
        return None
    parts = [p for p in positive if p is not None] + [f"!{n}" for n in negative if n is not None]
    return "(" + " & ".join(parts) + ")"


def to_tsquery(node: TextNode) -> str:
    """PostgreSQL ``tsquery`` text (cast with ``::tsquery``, never parsed by a configuration)
    over vectors of :func:`stems`; a query no text can match becomes a lexeme never indexed."""
    return _tsquery(node) or _NEVER
