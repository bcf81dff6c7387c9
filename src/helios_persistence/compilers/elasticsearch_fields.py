"""The Elasticsearch document model: field names and the keys of keyword fields, written once
for the indexer (``backends/elasticsearch/documents.py``) and the compiler.

A resource is one document (``dialects/elasticsearch/mapping.json``). Index rows whose match
is one equality or prefix test become **keys** in shared keyword fields: ``<param>␟<value>``
(``␟`` is U+001F, which no parameter code contains), so one field holds every parameter's
values and a test on one row is one term, prefix or wildcard query. Ranges keep one field per
parameter (``d.<param>``: ``long_range`` of microseconds; ``n.<param>``: ``double``), as do
the sort keys (``sk.<param>``, ``sd.<param>``). Rows whose test combines several fields of
the same repetition (quantities, composites, per-value text) are plain fields when the
parameter has one such row in the resource, else ``nested`` documents.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import combinations

__all__ = [
    "SEP",
    "canonical_field",
    "date_field",
    "date_sort_field",
    "key",
    "number_field",
    "reference_keys",
    "sort_field",
    "text_field",
]

#: the separator of the parts of a key
SEP = "\x1f"


def key(param: str, *parts: str | None) -> str:
    """``param␟part␟...`` (None as the empty string)."""
    return SEP.join([param, *("" if p is None else p for p in parts)])


def date_field(param: str) -> str:
    return f"d.{param}"


def number_field(param: str) -> str:
    return f"n.{param}"


def canonical_field(param: str) -> str:
    """The UCUM canonical value of a parameter's only quantity (its value is ``n.<param>``)."""
    return f"nc.{param}"


def text_field(param: str) -> str:
    """The stems of a parameter's only text value (``:text-advanced``; several: ``ptext``)."""
    return f"pt.{param}"


def sort_field(param: str) -> str:
    return f"sk.{param}"


def date_sort_field(param: str, high: bool = False) -> str:
    """The lows (ascending sorts) or the highs (descending) of a date parameter."""
    return f"sdh.{param}" if high else f"sd.{param}"


#: the parts of a reference a search can name, in key order: target type, target id, url,
#: version
REFERENCE_PARTS = "tiuv"


def reference_key(param: str, named: dict[str, str]) -> str:
    """The key of a reference search naming the parts ``named`` (letters of
    :data:`REFERENCE_PARTS` → value): ``<letters>:<param>␟<values>``."""
    letters = "".join(c for c in REFERENCE_PARTS if c in named)
    return letters + ":" + key(param, *(named[c] for c in letters))


def reference_keys(param: str, present: dict[str, str]) -> Iterator[str]:
    """Every key a reference row with the parts ``present`` answers: one per non-empty
    subset (a search names some of the parts and must find every row that has them)."""
    letters = [c for c in REFERENCE_PARTS if c in present]
    for size in range(1, len(letters) + 1):
        for chosen in combinations(letters, size):
            yield reference_key(param, {c: present[c] for c in chosen})


def identifier_key(param: str, system: str | None, value: str) -> str:
    """The key of ``:identifier`` (``system|value``; any system when None)."""
    if system is None:
        return "I:" + key(param, value)
    return "J:" + key(param, system, value)


def target_key(target_type: str, target_id: str, param: str | None = None) -> str:
    """A local reference to ``target_type/target_id`` (from ``param``; any parameter when
    None): what ``_revinclude`` looks for."""
    if param is None:
        return "R:" + key(target_type, target_id)
    return reference_key(param, {"t": target_type, "i": target_id})


def prefixes_of(text: str) -> Iterable[str]:
    """Every non-empty prefix of ``text`` (``uri:above``: the stored uri is one of them)."""
    return (text[:i] for i in range(1, len(text) + 1))
