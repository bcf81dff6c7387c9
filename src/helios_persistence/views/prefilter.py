"""DuckDB: skip, before parsing it, a resource that cannot give a row of the view.

A plain ``forEach`` from the resource (``CROSS JOIN json_each(r.json -> '$.component')``:
no ``forEachOrNull``, no union branch) gives no row for a resource without a non-empty
``component``, yet the plan parses every resource of the type to find that out. The JSON
text of a resource with a top-level member ``component`` holds ``component"`` (the name and
its closing quote), or else a ``\\u`` escape in the name; a substring test on the raw text is
several times cheaper than parsing it, so the resources are first filtered with::

    contains(r.json, 'mponent"') OR contains(r.json, '\\u')

The test is necessary, not sufficient: it only drops resources the join would drop too, so
the rows are the same. The needle is the last 8 bytes of ``name"`` (``mponent"``): DuckDB
compares an 8-byte needle as one word at each position, where a longer one means a scan for
its first byte, a frequent letter of JSON text, and a comparison at each hit (twice the time).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from sqlglot import exp

from helios_persistence.views.unnest import plain_json_each

__all__ = ["text_prefilters"]

#: names JSON text holds as they are (a name with a quote or backslash is not tested)
_PLAIN = re.compile(r"[A-Za-z0-9_]+")
#: bytes of the needle (see the module docstring)
_NEEDLE = 8


def _required_member(join: exp.Expr) -> str | None:
    """The top-level member a plain ``CROSS JOIN json_each(r.json -> '$.name...')`` walks."""
    found = plain_json_each(join)
    if found is None:
        return None
    source = found[1]
    if not isinstance(source, exp.JSONExtract) or not isinstance(source.expression, exp.JSONPath):
        return None
    reads = source.this
    if not (isinstance(reads, exp.Column) and reads.name == "json" and reads.table == "r"):
        return None
    steps = source.expression.expressions
    if len(steps) < 2 or not isinstance(steps[1], exp.JSONPathKey):
        return None
    name = steps[1].this
    return name if isinstance(name, str) and _PLAIN.fullmatch(name) else None


def text_prefilters(joins: list[exp.Expr], bind: Callable[[Any], exp.Expr]) -> list[exp.Expr]:
    """One substring condition per member that plain ``forEach`` joins over the resource
    require (see the module docstring); ``bind`` makes a bound parameter of a value."""
    names = dict.fromkeys(n for n in map(_required_member, joins) if n is not None)
    if not names:
        return []
    escaped = exp.Anonymous(this="contains", expressions=[exp.column("json", "r"), bind("\\u")])
    return [
        exp.paren(
            exp.or_(
                exp.Anonymous(
                    this="contains",
                    expressions=[exp.column("json", "r"), bind(f'{name}"'[-_NEEDLE:])],
                ),
                escaped.copy(),
            )
        )
        for name in names
    ]
