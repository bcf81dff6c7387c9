"""The value of a full-text predicate: a text query parsed once, when the query is bound.

``grammar/text.lark`` defines the syntax (words, ``"phrases"``, ``prefix*``, ``AND``/``OR``,
``NOT``/``-``, parentheses, ``NEAR(a b, n)``); :func:`helios_persistence.parsing.text.
parse_text` builds a :class:`TextQuery`. Compilers lower :attr:`TextQuery.tree` to their own
syntax (FTS5, ``tsquery``, ...) and never parse text themselves.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["TextNode", "TextQuery"]


@dataclass(frozen=True, slots=True)
class TextNode:
    """``kind`` is word, prefix, phrase, and, or, not, near; ``terms`` the words (leaves) or
    the children (and, or, not); ``distance`` the NEAR window."""

    kind: str
    terms: tuple[object, ...]
    distance: int = 10

    def words(self) -> list[str]:
        """Every word the query mentions."""
        if self.kind in ("word", "prefix", "phrase", "near"):
            return [str(t) for t in self.terms]
        return [w for c in self.terms if isinstance(c, TextNode) for w in c.words()]


@dataclass(frozen=True, slots=True)
class TextQuery:
    """A parsed text query: ``source`` as written, ``tree`` its parsed form."""

    source: str
    tree: TextNode

    def __str__(self) -> str:
        return self.source
