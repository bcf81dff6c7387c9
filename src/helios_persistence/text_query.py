"""Full-text query syntax (``grammar/text.lark``) → a small tree → each engine's syntax.

Every word reaches the engine quoted (FTS5 ``"word"``, tsquery ``'word'``), so no operator of
the engine's own language can be injected; the query string itself is always a bound
parameter.

:func:`stems` is the tokenisation the PostgreSQL backend indexes with and :func:`to_tsquery`
queries with: fold (:func:`helios_persistence.values.fold`), split on everything that is not a
letter or digit, Porter-stem as FTS5 does — the reference evaluator's documented tokenisation
(``conformance/fulltext.py``), so PostgreSQL matches exactly what SQLite matches.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, lru_cache
from itertools import pairwise, permutations
from typing import cast

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedInput

from helios_persistence.errors import InvalidSearch

__all__ = ["TextNode", "parse_text", "stems", "to_fts5", "to_tsquery", "words"]


@dataclass(frozen=True, slots=True)
class TextNode:
    """``kind`` is word, prefix, phrase, and, or, not, near; ``terms`` the words or children."""

    kind: str
    terms: tuple[object, ...]
    distance: int = 10


@v_args(inline=True)
class _Builder(Transformer):  # type: ignore[type-arg]
    def word(self, w: Token) -> TextNode:
        return TextNode("word", (str(w),))

    def prefix(self, w: Token) -> TextNode:
        return TextNode("prefix", (str(w),))

    def phrase(self, p: Token) -> TextNode:
        return TextNode("phrase", tuple(str(p)[1:-1].split()))

    def and_(self, *children: TextNode) -> TextNode:
        return children[0] if len(children) == 1 else TextNode("and", children)

    def or_(self, *children: TextNode) -> TextNode:
        return children[0] if len(children) == 1 else TextNode("or", children)

    def not_(self, child: TextNode) -> TextNode:
        return TextNode("not", (child,))

    def near(self, *items: Token) -> TextNode:
        distance = 10
        if items and items[-1].type == "INT":
            distance = int(items[-1])
            items = items[:-1]
        words = tuple(w for item in items for w in str(item).strip('"').split())
        return TextNode("near", words, distance)


@cache
def _parser() -> Lark:
    return Lark.open("grammar/text.lark", rel_to=__file__, parser="lalr", transformer=_Builder())


@lru_cache(maxsize=1024)
def parse_text(query: str) -> TextNode:
    """Parse a text query; :class:`InvalidSearch` on bad syntax or an empty query."""
    if not query.strip():
        raise InvalidSearch("empty text search")
    try:
        node = cast(TextNode, _parser().parse(query))  # the transformer builds TextNodes
    except UnexpectedInput as exc:
        raise InvalidSearch(
            f"text search syntax error near {query[exc.pos_in_stream or 0 :][:20]!r}",
            position=exc.pos_in_stream,
        ) from None
    if node.kind == "not":
        raise InvalidSearch("a text search cannot consist of NOT alone")
    return node


def _quote(word: str) -> str:
    return '"' + word.replace('"', '""') + '"'


def to_fts5(node: TextNode) -> str:
    """SQLite FTS5 query syntax."""
    if node.kind == "word":
        return _quote(str(node.terms[0]))
    if node.kind == "prefix":
        return _quote(str(node.terms[0])) + " *"
    if node.kind == "phrase":
        return _quote(" ".join(str(t) for t in node.terms))
    if node.kind == "near":
        return "NEAR(" + " ".join(_quote(str(t)) for t in node.terms) + f", {node.distance})"
    children = [c for c in node.terms if isinstance(c, TextNode)]
    if node.kind == "or":
        return "(" + " OR ".join(to_fts5(c) for c in children) + ")"
    if node.kind == "not":
        raise InvalidSearch("NOT needs something to exclude from")
    # and: FTS5's NOT is binary ("a NOT b"), so negated children follow the positive ones
    positive = [to_fts5(c) for c in children if c.kind != "not"]
    negative = [to_fts5(c.terms[0]) for c in children if c.kind == "not"]  # type: ignore[arg-type]
    if not positive:
        raise InvalidSearch("a text search cannot consist of NOT alone")
    text = "(" + " AND ".join(positive) + ")"
    for n in negative:
        text = f"({text} NOT {n})"
    return text


def words(node: TextNode) -> list[str]:
    """Every word the query mentions (for highlighting and simple evaluators)."""
    if node.kind in ("word", "prefix", "phrase", "near"):
        return [str(t) for t in node.terms]
    return [w for c in node.terms if isinstance(c, TextNode) for w in words(c)]


# -- PostgreSQL tsquery ------------------------------------------------------------------------
_WORD_RE = re.compile(r"[^\W_]+")
#: a lexeme no indexed text can contain (indexed lexemes are letters and digits only)
_NEVER = "'_'"
#: the most alternatives a NEAR may expand to (permutations x gap combinations)
MAX_NEAR_ALTERNATIVES = 4096


def stems(text: str) -> list[str]:
    """The indexed words of ``text``: folded, split on non-alphanumerics, Porter-stemmed."""
    from helios_persistence.conformance.porter import stem
    from helios_persistence.values import fold

    # ASCII has nothing to decompose and casefolds as lower(): fold() without its cost
    folded = text.lower() if text.isascii() else fold(text)
    return [stem(w) for w in _WORD_RE.findall(folded)]


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
        found = stems(" ".join(str(t) for t in node.terms))
        return _phrase(found, node.kind == "prefix") if found else None
    if node.kind == "near":
        terms = [tuple(stems(str(t))) for t in node.terms]
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
