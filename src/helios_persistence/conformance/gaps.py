"""Known gaps: conformance cases a dialect is known to fail, each naming why and what it raises.

As in Ibis' ``notimpl``/``notyet``/``never`` markers, every gap says which dialects it applies
to, which cases (``<area>/<name>``), the error the failing case raises (``AssertionError``
when the backend answers but answers wrongly) and why. The suite turns each into a **strict**
``xfail``: a gap that starts passing fails the run until its declaration is removed. The
support matrix (:mod:`.matrix`) and the runner read the same declarations.

* ``notimpl`` — the library does not do it yet (a bug or a missing feature);
* ``notyet`` — waiting on something outside the library (an engine, a service);
* ``never`` — a deliberate limitation of that dialect.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from helios_persistence.engines import engines

__all__ = ["DIALECTS", "GAPS", "SUITE_DIALECTS", "Gap", "gaps_for"]

#: every dialect a gap may name: the engine table's (built and planned)
DIALECTS = tuple(engines())
#: the dialects the conformance suite runs a backend of (``tests/conformance/backends.py``
#: must list exactly these); the support matrix claims nothing for the others
SUITE_DIALECTS = tuple(name for name, e in engines().items() if e.in_suite)

Kind = Literal["notimpl", "notyet", "never"]


@dataclass(frozen=True, slots=True)
class Gap:
    """Cases ``cases`` fail on ``dialects``, raising ``raises``, because of ``reason``."""

    dialects: tuple[str, ...]
    cases: tuple[str, ...]
    raises: type[BaseException]
    reason: str
    kind: Kind = "notimpl"

    def __post_init__(self) -> None:
        unknown = set(self.dialects) - set(DIALECTS)
        if unknown:
            raise ValueError(f"gap names unknown dialect(s) {sorted(unknown)}")
        if not self.cases:
            raise ValueError("a gap names at least one case")
        if self.kind not in ("notimpl", "notyet", "never"):
            raise ValueError(f"gap kind {self.kind!r} is not notimpl, notyet or never")


#: every gap of every dialect (empty: the suite passes everywhere it runs). The gap the
#: differential tests found — references to other servers followed as local ones — was
#: fixed in indexing/references.py (absolute references carry no target id; a store
#: localises those to its own base URL).
GAPS: tuple[Gap, ...] = ()


def gaps_for(dialect: str) -> dict[str, Gap]:
    """``{case id: gap}`` of one dialect."""
    out: dict[str, Gap] = {}
    for gap in GAPS:
        if dialect in gap.dialects:
            for case in gap.cases:
                if case in out:
                    raise ValueError(f"case {case} has two gaps for {dialect}")
                out[case] = gap
    return out
