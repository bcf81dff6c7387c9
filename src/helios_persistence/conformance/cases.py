"""Conformance cases as data: loading case files and fixtures, observing and checking results.

A case file (``conformance/cases/<area>.json``) is one area of the search specification::

    {
      "area": "date",
      "description": "...",
      "fixtures": ["dates"],
      "cases": [
        {"id": "eq-day", "query": "Observation?date=2020-03-15",
         "expect": ["Observation/d-day", "..."], "spec": "#date", "note": "..."}
      ]
    }

A case names what it expects, any of:

* ``expect``: the matches of the first page (``Type/id``), in order if ``"ordered": true``;
* ``included``: what ``_include``/``_revinclude`` adds to the first page (any order);
* ``total``: ``Bundle.total``; ``next``: whether the first page links to a next one;
* ``pages``: the matches of each page, following ``next`` links, in order;
* ``error``: the OperationOutcome issue code of the expected error (``invalid`` or
  ``not-supported``).

Fixture files (``conformance/fixtures/<name>.json``) hold ``resources`` (written with
``update``, so they keep their ids) and optionally ``then``: later ``update`` and ``delete``
steps. Each case file's fixtures load into a tenant of their own, so one area's data never
shows up in another's results.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from helios_persistence.conformance.evaluator import DEFAULT_PAGE_SIZE
from helios_persistence.errors import HeliosError

__all__ = [
    "Case",
    "Observed",
    "check",
    "fixture_steps",
    "live_resources",
    "load_cases",
    "observe_evaluator",
    "observe_store",
    "packaged_dir",
    "simulate",
    "tenant_for",
]


def packaged_dir(name: str) -> Path:
    """The packaged ``cases`` or ``fixtures`` directory."""
    return Path(str(resources.files("helios_persistence.conformance") / name))


@dataclass(frozen=True, slots=True)
class Case:
    """One query and what it must return."""

    area: str
    name: str
    query: str
    fixtures: tuple[str, ...]
    fixtures_dirs: tuple[Path, ...]
    expect: tuple[str, ...] | None = None
    ordered: bool = False
    included: tuple[str, ...] | None = None
    total: int | None = None
    next: bool | None = None
    pages: tuple[tuple[str, ...], ...] | None = None
    error: str | None = None
    spec: str = ""
    note: str = ""

    @property
    def id(self) -> str:
        """``<area>/<name>``: how gaps and reports name the case."""
        return f"{self.area}/{self.name}"


def _tuple(value: Any) -> tuple[str, ...] | None:
    return None if value is None else tuple(value)


def load_cases(cases_dir: str | Path | None = None) -> list[Case]:
    """Every case of every ``*.json`` file in ``cases_dir`` (default: the packaged cases)."""
    directory = Path(cases_dir) if cases_dir is not None else packaged_dir("cases")
    if not directory.is_dir():
        raise FileNotFoundError(f"no case directory {directory}")
    fixture_dirs = (directory / "fixtures", directory.parent / "fixtures", packaged_dir("fixtures"))
    out: list[Case] = []
    for path in sorted(directory.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        area = data.get("area", path.stem)
        fixtures = tuple(data.get("fixtures", ()))
        seen: set[str] = set()
        for raw in data["cases"]:
            name = raw["id"]
            if name in seen:
                raise ValueError(f"{path}: case id {name!r} appears twice")
            seen.add(name)
            unknown = set(raw) - _CASE_KEYS
            if unknown:
                raise ValueError(f"{path}: case {name!r} has unknown keys {sorted(unknown)}")
            pages = raw.get("pages")
            out.append(
                Case(
                    area=area,
                    name=name,
                    query=raw["query"],
                    fixtures=tuple(raw.get("fixtures", fixtures)),
                    fixtures_dirs=fixture_dirs,
                    expect=_tuple(raw.get("expect")),
                    ordered=bool(raw.get("ordered", False)),
                    included=_tuple(raw.get("included")),
                    total=raw.get("total"),
                    next=raw.get("next"),
                    pages=None if pages is None else tuple(tuple(p) for p in pages),
                    error=raw.get("error"),
                    spec=raw.get("spec", ""),
                    note=raw.get("note", ""),
                )
            )
    return out


_CASE_KEYS = frozenset(
    {"id", "query", "fixtures", "expect", "ordered", "included", "total", "next", "pages",
     "error", "spec", "note"}
)  # fmt: skip


def _fixture_file(name: str, dirs: Iterable[Path]) -> Path:
    for directory in dirs:
        path = directory / f"{name}.json"
        if path.is_file():
            return path
    raise FileNotFoundError(f"no fixture file {name}.json in {', '.join(map(str, dirs))}")


def fixture_steps(names: Iterable[str], dirs: Iterable[Path]) -> list[tuple[str, Any]]:
    """The writes that set up fixtures ``names``: ``("update", resource)`` and
    ``("delete", "Type/id")``, in order."""
    dirs = tuple(dirs)
    steps: list[tuple[str, Any]] = []
    for name in names:
        data = json.loads(_fixture_file(name, dirs).read_text(encoding="utf-8"))
        steps.extend(("update", r) for r in data["resources"])
        for step in data.get("then", ()):
            if "update" in step:
                steps.append(("update", step["update"]))
            else:
                steps.append(("delete", step["delete"]))
    return steps


def tenant_for(fixtures: Iterable[str]) -> str:
    """The tenant a set of fixtures loads into."""
    return "conformance-" + "-".join(sorted(fixtures))


def live_resources(store: Any, ctx: Any, steps: list[tuple[str, Any]]) -> list[dict[str, Any]]:
    """Apply ``steps`` to ``store``; the resources as stored at the end (not deleted)."""
    current: dict[str, dict[str, Any]] = {}
    for action, value in steps:
        if action == "update":
            stored = store.update(ctx, value)
            current[f"{stored.resource_type}/{stored.id}"] = stored.resource
        else:
            rtype, rid = value.split("/")
            store.delete(ctx, rtype, rid)
            current.pop(value, None)
    return list(current.values())


def simulate(
    steps: list[tuple[str, Any]], start: int = 1_700_000_000_000_000
) -> list[dict[str, Any]]:
    """The resources ``steps`` leave behind, stamped as a store would (``meta.versionId``,
    ``meta.lastUpdated`` increasing by 1 µs per write), without any store."""
    from datetime import UTC, datetime, timedelta

    current: dict[str, dict[str, Any]] = {}
    versions: dict[str, int] = {}
    clock = start
    for action, value in steps:
        if action == "delete":
            current.pop(value, None)
            versions[value] = versions.get(value, 0) + 1
            clock += 1
            continue
        key = f"{value['resourceType']}/{value['id']}"
        versions[key] = versions.get(key, 0) + 1
        clock += 1
        moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=clock)
        meta = {
            **value.get("meta", {}),
            "versionId": str(versions[key]),
            "lastUpdated": moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        }
        current[key] = {**value, "meta": meta}
    return list(current.values())


# -- observing -----------------------------------------------------------------------------------
@dataclass(slots=True)
class Observed:
    """What a backend (or the evaluator) answered for a case."""

    ids: list[str] = field(default_factory=list)
    included: list[str] = field(default_factory=list)
    total: int | None = None
    has_next: bool = False
    pages: list[list[str]] | None = None
    error: str | None = None
    error_message: str = ""


def _key(resource: dict[str, Any]) -> str:
    return f"{resource['resourceType']}/{resource['id']}"


def observe_store(store: Any, ctx: Any, case: Case, max_pages: int = 50) -> Observed:
    """Run ``case`` on ``store`` (following ``next`` links when the case has ``pages``).

    Only library errors (``HeliosError``) are observed as outcomes; anything else propagates,
    so a crash is never mistaken for an expected error."""
    try:
        result = store.search(ctx, case.query)
        seen = Observed(
            ids=[_key(r) for r in result.resources],
            included=sorted(_key(r) for r in result.included),
            total=result.total,
            has_next=result.next is not None,
        )
        if case.pages is not None:
            seen.pages = [list(seen.ids)]
            while result.next is not None and len(seen.pages) < max_pages:
                result = store.search(ctx, result.next)
                seen.pages.append([_key(r) for r in result.resources])
    except HeliosError as exc:
        return Observed(error=exc.issue_code, error_message=str(exc))
    return seen


def observe_evaluator(evaluator: Any, case: Case) -> Observed:
    """Run ``case`` on the reference evaluator (pages by offset over its full order)."""
    try:
        outcome = evaluator.search(case.query)
    except HeliosError as exc:
        return Observed(error=exc.issue_code, error_message=str(exc))
    seen = Observed(
        ids=outcome.ids, included=outcome.included, total=outcome.total, has_next=outcome.has_next
    )
    if case.pages is not None:
        q = evaluator.parse(case.query)
        size = q.count if q.count else DEFAULT_PAGE_SIZE
        start = q.offset or 0
        rest = outcome.all_ids[start:]
        seen.pages = [rest[i : i + size] for i in range(0, len(rest), size)] or [[]]
    return seen


def check(case: Case, seen: Observed) -> list[str]:
    """How ``seen`` differs from what ``case`` expects (empty when it passes)."""
    problems: list[str] = []
    if case.error is not None:
        if seen.error != case.error:
            found = f"error {seen.error!r} ({seen.error_message})" if seen.error else "no error"
            problems.append(f"expected error {case.error!r}, got {found}")
        return problems
    if seen.error is not None:
        return [f"unexpected error {seen.error!r}: {seen.error_message}"]
    if case.expect is not None:
        want, got = list(case.expect), list(seen.ids)
        if not case.ordered:
            want, got = sorted(want), sorted(got)
        if want != got:
            missing = [i for i in want if i not in got]
            extra = [i for i in got if i not in want]
            detail = f"missing {missing}, extra {extra}" if missing or extra else f"order {got}"
            problems.append(f"matches differ: {detail}")
    if case.included is not None and sorted(case.included) != sorted(seen.included):
        problems.append(f"included {sorted(seen.included)}, expected {sorted(case.included)}")
    if case.total is not None and seen.total != case.total:
        problems.append(f"total {seen.total}, expected {case.total}")
    if case.next is not None and seen.has_next != case.next:
        problems.append(f"next link {'present' if seen.has_next else 'absent'}, expected "
                        f"{'present' if case.next else 'absent'}")  # fmt: skip
    if case.pages is not None:
        want_pages = [list(p) for p in case.pages]
        if seen.pages != want_pages:
            problems.append(f"pages {seen.pages}, expected {want_pages}")
    return problems
