"""Full text on Elasticsearch: a parsed text query as structured query DSL.

The indexed text is space-separated stems (the library's tokenizer, SQLite FTS5's, run on the
client) under the built-in ``whitespace`` analyzer, so a query is built from the same stems:
a word is a ``term``, several stems a ``match_phrase`` of stems, ``word*`` a ``prefix`` (in a
phrase: a ``span_multi`` prefix at the end of a ``span_near``), ``NEAR(a b, n)`` an unordered
``span_near``, and AND/OR/NOT ``bool`` queries. User text never reaches ``query_string`` or
``simple_query_string``: every leaf is a term the tokenizer produced.

NEAR follows FTS5: at most ``n`` words between the end of the first term and the start of the
last. Lucene's unordered ``slop`` does not count the words of the terms in between, so it is
``n`` minus their length — exact when every term has the same number of words (two terms
always); other NEARs answer ``not-supported``.
"""

from __future__ import annotations

from typing import Any

from helios_persistence.errors import InvalidSearch
from helios_persistence.indexing.text_tokens import words_of
from helios_persistence.ir.text import TextNode

__all__ = ["MATCH_NONE", "text_query", "unsupported_near"]

MATCH_NONE: dict[str, Any] = {"match_none": {}}


def _span(field: str, words: tuple[str, ...], prefix: bool = False) -> dict[str, Any]:
    clauses: list[dict[str, Any]] = [{"span_term": {field: w}} for w in words]
    if prefix:
        clauses[-1] = {"span_multi": {"match": {"prefix": {field: {"value": words[-1]}}}}}
    if len(clauses) == 1:
        return clauses[0]
    return {"span_near": {"clauses": clauses, "slop": 0, "in_order": True}}


def _phrase(field: str, words: tuple[str, ...], prefix: bool) -> dict[str, Any]:
    if len(words) == 1:
        kind = "prefix" if prefix else "term"
        return {kind: {field: {"value": words[0]}}}
    if prefix:
        return _span(field, words, prefix=True)
    return {"match_phrase": {field: {"query": " ".join(words), "slop": 0}}}


_NEAR_REFUSED = "NEAR of more than two phrases of different lengths"


def _near_terms(node: TextNode) -> list[tuple[str, ...]]:
    """A NEAR's phrases as stems, each once: as in FTS5, equal phrases may be matched by the
    same words (``NEAR(a a, 0)`` matches one ``a``)."""
    return list(dict.fromkeys(words_of(str(t)) for t in node.terms))


def _refused(terms: list[tuple[str, ...]]) -> bool:
    return len(terms) > 2 and len({len(t) for t in terms}) > 1


def unsupported_near(node: TextNode) -> str | None:
    """Why ``node`` (a parsed text query) has no exact lowering here (None: it has one)."""
    if node.kind == "near":
        terms = _near_terms(node)
        return _NEAR_REFUSED if all(terms) and _refused(terms) else None
    for child in node.terms:
        if isinstance(child, TextNode) and (reason := unsupported_near(child)):
            return reason
    return None


def _near(field: str, terms: list[tuple[str, ...]], distance: int) -> dict[str, Any]:
    if len(terms) == 1:
        return _phrase(field, terms[0], False)
    if _refused(terms):
        raise InvalidSearch(f"{_NEAR_REFUSED} is not supported on Elasticsearch",
                            not_supported=True)  # fmt: skip
    slop = distance - sum(len(t) for t in terms[1:-1])
    if slop < 0:
        return MATCH_NONE
    clauses = [_span(field, t) for t in terms]
    return {"span_near": {"clauses": clauses, "slop": slop, "in_order": False}}


def _lower(node: TextNode, field: str) -> dict[str, Any] | None:
    """The query of ``node`` on ``field``, or None when no text can match it."""
    if node.kind in ("word", "prefix", "phrase"):
        found = words_of(" ".join(str(t) for t in node.terms))
        return _phrase(field, found, node.kind == "prefix") if found else None
    if node.kind == "near":
        terms = _near_terms(node)
        if not all(terms):
            return None
        return _near(field, terms, node.distance)
    children = [c for c in node.terms if isinstance(c, TextNode)]
    if node.kind == "or":
        if any(c.kind == "not" for c in children):
            raise InvalidSearch("NOT needs something to exclude from")
        parts = [p for p in (_lower(c, field) for c in children) if p is not None]
        return {"bool": {"should": parts, "minimum_should_match": 1}} if parts else None
    if node.kind == "not":
        raise InvalidSearch("NOT needs something to exclude from")
    positive = [_lower(c, field) for c in children if c.kind != "not"]
    negative = [_lower(c.terms[0], field) for c in children if c.kind == "not"]  # type: ignore[arg-type]
    if not positive:
        raise InvalidSearch("a text search cannot consist of NOT alone")
    if any(p is None for p in positive):
        return None
    query: dict[str, Any] = {"filter": positive}
    excluded = [n for n in negative if n is not None]
    if excluded:
        query["must_not"] = excluded
    return {"bool": query}


def text_query(node: TextNode, field: str) -> dict[str, Any]:
    """The query DSL for a parsed text query over ``field`` (a query no text can match is
    ``match_none``)."""
    return _lower(node, field) or MATCH_NONE
