"""Full-text matching for the reference evaluator (``_text``, ``_content``, ``:text-advanced``).

R4 leaves the syntax and the matching of ``_text``/``_content`` to the server
(search.html#_text: "the server can choose how to interpret the search"); the library's syntax
is ``grammar/text.lark`` and its words are SQLite FTS5's tokens
(:func:`helios_persistence.indexing.text_tokens.words_of`), the same for every engine.

Query semantics over the resulting word sequence:

* a word holds when its stems occur in the text as consecutive words (a "word" such as
  ``heart-attack`` is two words and so a phrase); a ``"phrase"`` likewise;
* ``word*`` holds when the stems occur consecutively and the last text word *starts with* the
  last query stem (FTS5 stems a prefix query term too: ``hearts*`` looks for ``heart…``);
* ``NEAR(a b, n)``: an occurrence of every term within a window where at most ``n`` words lie
  between the end of the first and the start of the last (FTS5's definition);
* implicit or written ``AND``, ``OR``, and ``NOT``/``-`` which excludes from the terms it is
  ANDed with (a NOT with nothing to exclude from is an :class:`InvalidSearch`).
"""

from __future__ import annotations

from itertools import product

from helios_persistence.errors import InvalidSearch
from helios_persistence.indexing.text_tokens import words_of
from helios_persistence.ir.text import TextNode

__all__ = ["Document", "matches"]


class Document:
    """The stemmed words of one text, with their positions."""

    __slots__ = ("positions", "words")

    def __init__(self, text: str) -> None:
        self.words = words_of(text)
        self.positions: dict[str, list[int]] = {}
        for i, w in enumerate(self.words):
            self.positions.setdefault(w, []).append(i)

    def phrase_starts(self, terms: tuple[str, ...], prefix: bool = False) -> list[int]:
        """Where the stemmed ``terms`` occur consecutively (the last one as a prefix)."""
        if not terms:
            return []
        starts = []
        for i in range(len(self.words) - len(terms) + 1):
            ok = True
            for j, term in enumerate(terms):
                word = self.words[i + j]
                last = j == len(terms) - 1
                if not (word.startswith(term) if prefix and last else word == term):
                    ok = False
                    break
            if ok:
                starts.append(i)
        return starts


def _terms(text: str) -> tuple[str, ...]:
    return words_of(text)


def _near(doc: Document, node: TextNode) -> bool:
    phrases = [_terms(str(t)) for t in node.terms]
    spans = []
    for terms in phrases:
        found = [(s, s + len(terms) - 1) for s in doc.phrase_starts(terms)]
        if not found:
            return False
        spans.append(found)
    for combo in product(*spans):
        first_end = min(end for _, end in combo)
        last_start = max(start for start, _ in combo)
        # words strictly between the end of the first phrase and the start of the last
        if last_start - first_end - 1 <= node.distance:
            return True
    return False


def matches(node: TextNode, doc: Document) -> bool:
    """Whether the parsed text query ``node`` holds for ``doc``."""
    kind = node.kind
    if kind == "word":
        return bool(doc.phrase_starts(_terms(str(node.terms[0]))))
    if kind == "prefix":
        return bool(doc.phrase_starts(_terms(str(node.terms[0])), prefix=True))
    if kind == "phrase":
        return bool(doc.phrase_starts(_terms(" ".join(str(t) for t in node.terms))))
    if kind == "near":
        return _near(doc, node)
    children = [c for c in node.terms if isinstance(c, TextNode)]
    if kind == "or":
        if any(c.kind == "not" for c in children):
            raise InvalidSearch("NOT needs something to exclude from")
        return any(matches(c, doc) for c in children)
    if kind == "and":
        positive = [c for c in children if c.kind != "not"]
        negative = [c.terms[0] for c in children if c.kind == "not"]
        if not positive:
            raise InvalidSearch("a text search cannot consist of NOT alone")
        return all(matches(c, doc) for c in positive) and not any(
            matches(n, doc)  # type: ignore[arg-type]
            for n in negative
        )
    raise InvalidSearch("NOT needs something to exclude from")
