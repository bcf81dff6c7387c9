"""Full-text query syntax (``grammar/text.lark``) → :class:`~helios_persistence.ir.TextQuery`.

Parsed once, when a search is bound; compilers lower the tree (``compilers/*_text.py``).
"""

from __future__ import annotations

from functools import cache, lru_cache
from typing import cast

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedInput

from helios_persistence.assets import read_asset
from helios_persistence.errors import InvalidSearch
from helios_persistence.ir.text import TextNode, TextQuery

__all__ = ["parse_text"]


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
    return Lark(read_asset("grammar", "text.lark"), parser="lalr", transformer=_Builder())


@lru_cache(maxsize=1024)
def parse_text(query: str) -> TextQuery:
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
    _validate(node)
    return TextQuery(query, node)


def _validate(node: TextNode) -> None:
    """Reject what no document could be tested against: a NOT that excludes from nothing."""
    children = [c for c in node.terms if isinstance(c, TextNode)]
    if node.kind == "not":
        raise InvalidSearch("NOT needs something to exclude from")
    if node.kind == "and":
        if all(c.kind == "not" for c in children):
            raise InvalidSearch("a text search cannot consist of NOT alone")
        children = [c.terms[0] if c.kind == "not" else c for c in children]  # type: ignore[misc]
    for child in children:
        _validate(child)
