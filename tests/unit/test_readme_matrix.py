"""The README's search feature table is the one the code produces (``helios matrix``)."""

from __future__ import annotations

from pathlib import Path

from helios_persistence.conformance.matrix import matrix_markdown

README = Path(__file__).resolve().parents[2] / "README.md"
START, END = "<!-- matrix:start (helios matrix) -->", "<!-- matrix:end -->"


def test_readme_matrix_matches_the_code() -> None:
    text = README.read_text(encoding="utf-8")
    assert START in text and END in text, "the README lost its generated matrix markers"
    in_readme = text.split(START, 1)[1].split(END, 1)[0].strip()
    assert in_readme == matrix_markdown().strip(), (
        "README.md's search matrix drifted from the code: paste the output of `helios matrix` "
        "between the matrix markers"
    )
