"""Full text on SQLite: a parsed text query as an FTS5 ``MATCH`` expression.

Every word reaches FTS5 quoted (``"word"``), so no operator of FTS5's own query language can be
injected; the expression is a bound parameter.
"""

from __future__ import annotations

from helios_persistence.errors import InvalidSearch
from helios_persistence.indexing.text_tokens import fts_text
from helios_persistence.ir.text import TextNode

__all__ = ["to_fts5"]


def _quote(word: str) -> str:
    word = fts_text(word)  # as the FTS5 tables store their text
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
