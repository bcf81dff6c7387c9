"""The support matrix, produced from the code: the dialects' declared support
(``compiler.supports_node``) and the conformance suite's known gaps (:mod:`.gaps`).

One row per conformance area, one column per dialect DESIGN.md plans. A cell is:

* ``—`` the dialect does not exist yet;
* ``🚧 not in the suite`` the dialect compiles but no backend of it runs the suite yet;
* ``❌ not supported`` the compiler declares an IR node of the area unsupported;
* ``⚠️ passed/total ¹`` the suite declares known gaps (footnotes name them);
* ``✅`` every case of the area passes (the suite runs them all, strict).

:func:`matrix_markdown` is what the README's feature table is generated from.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from helios_persistence import ir
from helios_persistence.compilers import DIALECTS as COMPILERS
from helios_persistence.compilers import get_compiler
from helios_persistence.conformance.cases import load_cases
from helios_persistence.conformance.gaps import DIALECTS, SUITE_DIALECTS, gaps_for
from helios_persistence.engines import engines

__all__ = ["AREAS", "main", "matrix_markdown", "matrix_rows"]

#: (area, what the row says, the IR nodes the area needs)
AREAS: tuple[tuple[str, str, tuple[type[ir.Node], ...]], ...] = (
    ("string", "string (default, `:exact`, `:contains`)", (ir.StringMatch,)),
    ("token", "token (`:text`, `:not`, `:of-type`)", (ir.TokenMatch, ir.Not)),
    ("date", "date (every prefix, on ranges)", (ir.DateMatch,)),
    ("number", "number (implicit precision)", (ir.NumberMatch,)),
    ("quantity", "quantity (UCUM canonical units)", (ir.QuantityMatch,)),
    ("reference", "reference (`:identifier`, `:[Type]`, canonical)", (ir.ReferenceMatch,)),
    ("uri", "uri (`:above`, `:below`)", (ir.UriMatch,)),
    ("composite", "composite parameters", (ir.Composite,)),
    ("missing", "`:missing`", (ir.Missing,)),
    ("chain", "chains (up to 4 hops)", (ir.Chain,)),
    ("has", "`_has` (nested), `_list`", (ir.Has,)),
    ("filter", "`_filter`", (ir.And, ir.Or, ir.Not)),
    ("include", "`_include`, `_revinclude` (`:iterate`)", ()),
    ("sort_paging", "`_sort` (several keys), `_count`, `_offset`, paging, `_total`", ()),
    ("text", "`_text`, `_content`, `:text-advanced`", (ir.Text,)),
    ("system", "searches across types (`_type`, `_tag`, `_profile`)", ()),
    ("errors", "errors (`invalid`, `not-supported`)", ()),
    ("terminology", "terminology (`:in`, `:not-in`, `:above`, `:below`)", (ir.Terminology,)),
)

#: column headings (the engine table's titles)
DIALECT_NAMES = {name: e.title for name, e in engines().items()}


def matrix_rows(cases_dir: str | Path | None = None) -> list[tuple[str, int, list[str]]]:
    """``(row label, number of cases, one cell per dialect)`` for every area, plus footnotes
    as a last row labelled ``""`` whose cells are the footnote lines."""
    counts = Counter(c.area for c in load_cases(cases_dir))
    footnotes: dict[str, int] = {}
    rows: list[tuple[str, int, list[str]]] = []
    for area, label, nodes in AREAS:
        cells = []
        for dialect in DIALECTS:
            if dialect not in COMPILERS:
                cells.append("—")
                continue
            compiler = get_compiler(dialect)
            if not all(compiler.supports_node(n) for n in nodes):
                cells.append("❌ not supported")
                continue
            if dialect not in SUITE_DIALECTS:
                cells.append("🚧 not in the suite")
                continue
            gaps = [g for case, g in gaps_for(dialect).items() if case.split("/")[0] == area]
            if not gaps:
                cells.append("✅")
                continue
            marks = []
            for gap in dict.fromkeys(gaps):
                number = footnotes.setdefault(gap.reason, len(footnotes) + 1)
                marks.append(str(number))
            total = counts[area]
            cells.append(f"⚠️ {total - len(gaps)}/{total} ({', '.join(marks)})")
        rows.append((label, counts.get(area, 0) if area else 0, cells))
    notes = [f"({n}) {reason}" for reason, n in footnotes.items()]
    rows.append(("", 0, notes))
    return rows


def matrix_markdown(cases_dir: str | Path | None = None) -> str:
    """The support matrix as a Markdown table (with footnotes for known gaps)."""
    rows = matrix_rows(cases_dir)
    *table, (_, _, notes) = rows
    header = "| feature | cases | " + " | ".join(DIALECT_NAMES[d] for d in DIALECTS) + " |"
    lines = [header, "|---|---:|" + "---|" * len(DIALECTS)]
    for label, count, cells in table:
        lines.append(f"| {label} | {count or '—'} | " + " | ".join(cells) + " |")
    if notes:
        lines.append("")
        lines.extend(f"{note}  " if i < len(notes) - 1 else note for i, note in enumerate(notes))
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """``helios matrix``: print the support matrix (Markdown)."""
    print(matrix_markdown(), end="")
    return 0
