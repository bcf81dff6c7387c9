"""Known gaps: conformance cases a dialect is known to fail, each naming why and what it raises.

As in Ibis' ``notimpl``/``notyet``/``never`` markers, every gap says which dialects it applies
to, which cases (``<area>/<name>``), the error the failing case raises (``AssertionError``
when the backend answers but answers wrongly) and why. The suite turns each into a **strict**
``xfail``: a gap that starts passing fails the run until its declaration is removed. The
support matrix (:mod:`.matrix`) and the runner read the same declarations.

* ``notimpl`` — the library does not do it yet (a bug or a missing feature);
* ``notyet`` — waiting on something outside the library (an engine, a service);
* ``never`` — a deliberate limitation of that dialect.

A gap names cases (``<area>/<name>``) or whole areas (``<area>/*``). Gaps a compiler declares
itself need no entry: :func:`gaps_for` derives one for every case whose query the dialect's
``supports()`` refuses (the backend answers ``not-supported``, so the case fails with an
``AssertionError``; kind ``notimpl``, the reason being the unsupported feature), so a new
dialect's column is honest from its first compile.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from helios_persistence.conformance.cases import Case, load_cases
from helios_persistence.engines import engines
from helios_persistence.errors import InvalidSearch

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


def gaps_for(dialect: str, cases: Iterable[Case] | None = None) -> dict[str, Gap]:
    """``{case id: gap}`` of one dialect over ``cases`` (default: the packaged cases): the
    declared gaps (areas expanded) and the ones the dialect's compiler declares."""
    case_list = list(load_cases() if cases is None else cases)
    by_area: dict[str, list[str]] = {}
    for case in case_list:
        by_area.setdefault(case.area, []).append(case.id)
    out: dict[str, Gap] = {}
    for gap in GAPS:
        if dialect not in gap.dialects:
            continue
        for name in gap.cases:
            area, _, rest = name.partition("/")
            for case_id in by_area.get(area, []) if rest == "*" else [name]:
                if case_id in out:
                    raise ValueError(f"case {case_id} has two gaps for {dialect}")
                out[case_id] = gap
    for case in case_list:
        if case.id not in out and case.error != "not-supported":
            reason = _declared_unsupported(dialect, case.query)
            if reason is not None:  # the backend answers not-supported: a wrong answer
                out[case.id] = Gap((dialect,), (case.id,), AssertionError, f"{reason} (declared)")
    return out


def _declared_unsupported(dialect: str, query: str) -> str | None:
    """What the dialect's compiler declares it cannot lower in ``query`` (None: nothing, or
    the dialect has no compiler yet, or the query does not parse)."""
    from helios_persistence.compilers import DIALECTS as COMPILERS
    from helios_persistence.compilers import get_compiler
    from helios_persistence.parsing import parse

    if dialect not in COMPILERS:
        return None
    try:
        bound = parse(query)
    except InvalidSearch:
        return None
    compiler = get_compiler(dialect)
    return compiler.unsupported_reason(compiler.lower(bound))
