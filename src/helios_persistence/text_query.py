"""Full-text query syntax (``grammar/text.lark``) → a small tree → each engine's syntax.

Every word reaches the engine quoted (FTS5 ``"word"``), so no operator of the engine's own
language can be injected; the query string itself is always a bound parameter.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, lru_cache

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedInput

from helios_persistence.errors import InvalidSearch

__all__ = ["TextNode", "parse_text", "to_fts5", "words"]


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
        node: TextNode = _parser().parse(query)
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
