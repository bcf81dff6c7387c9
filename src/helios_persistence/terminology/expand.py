"""ValueSet expansion (R4 valueset.html#compose) over any :class:`Source` of terminology.

``compose.include`` entries are unioned and ``compose.exclude`` entries removed. Within one
entry, the codes its ``system`` part selects (an explicit ``concept`` list, ``filter``\\ s that
must all hold, or the whole code system) are intersected with every ``valueSet`` it imports.
Filters: ``is-a``, ``descendent-of``, ``is-not-a``, ``generalizes``, ``=``, ``in``,
``not-in``, ``regex`` and ``exists``, on the ``concept``/``code`` property or any concept
property. A ValueSet with no ``compose`` but an ``expansion`` is taken as expanded.

An explicit concept list needs no stored code system (many ValueSets list SNOMED CT or LOINC
codes); filters and whole-system includes do. Anything that cannot be expanded — an unknown
code system or ValueSet, an import cycle, an unsupported filter — raises
:class:`~helios_persistence.errors.TerminologyError` naming the ValueSet.

Every expansion records what it ``used`` (``("CodeSystem" | "ValueSet", url)``), so a cached
expansion can be dropped when any of them changes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from helios_persistence.errors import TerminologyError
from helios_persistence.terminology.model import CodeSystemModel

__all__ = ["Code", "Expansion", "ResourceSource", "Source", "expand_valueset", "split_canonical"]

#: (system, code) → display
Code = tuple[str, str]
#: an expansion's bound on the number of codes (a runaway whole-system include)
MAX_CODES = 1_000_000


class Source(Protocol):
    """Where expansion finds code systems and ValueSets (by canonical url, optional version)."""

    def codesystem(self, url: str, version: str | None = None) -> CodeSystemModel | None: ...

    def valueset(self, url: str, version: str | None = None) -> dict[str, Any] | None: ...


def split_canonical(text: str) -> tuple[str, str | None]:
    """``url|version`` → (url, version); no ``|`` → (url, None)."""
    url, bar, version = text.partition("|")
    return url, (version or None) if bar else None


def _latest(found: list[dict[str, Any]], version: str | None) -> dict[str, Any] | None:
    if version is not None:
        found = [r for r in found if r.get("version") == version]
    if not found:
        return None
    # the one stored last wins (FHIR leaves "latest" of unordered versions to the server):
    # by meta.lastUpdated when the resources are stored ones, else the last given
    return max(enumerate(found), key=lambda p: (_updated(p[1]), p[0]))[1]


def _updated(resource: dict[str, Any]) -> str:
    meta = resource.get("meta")
    stamp = meta.get("lastUpdated") if isinstance(meta, dict) else None
    return stamp if isinstance(stamp, str) else ""


class ResourceSource:
    """Terminology from resources in memory (the reference evaluator, pure library use)."""

    def __init__(self, resources: Iterable[dict[str, Any]]) -> None:
        self._by: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._ids: dict[str, dict[str, Any]] = {}
        self._models: dict[int, CodeSystemModel] = {}
        for r in resources:
            kind = r.get("resourceType")
            if kind in ("CodeSystem", "ValueSet"):
                if isinstance(r.get("url"), str):
                    self._by.setdefault((kind, r["url"]), []).append(r)
                if isinstance(r.get("id"), str):
                    self._ids[f"{kind}/{r['id']}"] = r

    def resource(self, reference: str) -> dict[str, Any] | None:
        """A resource by literal reference (``ValueSet/id``)."""
        return self._ids.get(reference)

    def codesystem(self, url: str, version: str | None = None) -> CodeSystemModel | None:
        found = _latest(self._by.get(("CodeSystem", url), []), version)
        if found is None:
            return None
        key = id(found)
        if key not in self._models:
            self._models[key] = CodeSystemModel.from_resource(found)
        return self._models[key]

    def valueset(self, url: str, version: str | None = None) -> dict[str, Any] | None:
        return _latest(self._by.get(("ValueSet", url), []), version)


@dataclass(slots=True)
class Expansion:
    """The codes of one ValueSet, and what expanding it used."""

    url: str | None
    version: str | None
    codes: dict[Code, str | None] = field(default_factory=dict)
    used: set[tuple[str, str]] = field(default_factory=set)


def _name(vs: dict[str, Any]) -> str:
    label = vs.get("url") or (f"ValueSet/{vs['id']}" if vs.get("id") else "a ValueSet")
    return f"{label}|{vs['version']}" if vs.get("version") else str(label)


class _Expander:
    def __init__(self, source: Source) -> None:
        self.source = source
        self.used: set[tuple[str, str]] = set()

    def valueset(self, vs: dict[str, Any], stack: tuple[str, ...]) -> dict[Code, str | None]:
        name = _name(vs)
        compose = vs.get("compose")
        if not isinstance(compose, dict):
            expansion = vs.get("expansion")
            if isinstance(expansion, dict):
                return _contains(expansion.get("contains") or ())
            raise TerminologyError(f"ValueSet {name} has neither compose nor expansion")
        codes: dict[Code, str | None] = {}
        for include in compose.get("include") or ():
            codes.update(self.entry(include, name, stack))
            if len(codes) > MAX_CODES:
                raise TerminologyError(f"ValueSet {name} has over {MAX_CODES} codes")
        for exclude in compose.get("exclude") or ():
            for key in self.entry(exclude, name, stack):
                codes.pop(key, None)
        return codes

    def entry(
        self, entry: dict[str, Any], name: str, stack: tuple[str, ...]
    ) -> dict[Code, str | None]:
        """One include/exclude: its system part intersected with its imported ValueSets."""
        parts: list[dict[Code, str | None]] = []
        system = entry.get("system")
        if isinstance(system, str) and system:
            parts.append(self.system_part(entry, system, name))
        for canonical in entry.get("valueSet") or ():
            parts.append(self.imported(str(canonical), name, stack))
        if not parts:
            raise TerminologyError(f"ValueSet {name}: an include names no system and no valueSet")
        result = parts[0]
        for other in parts[1:]:
            result = {k: v for k, v in result.items() if k in other}
        return result

    def imported(self, canonical: str, name: str, stack: tuple[str, ...]) -> dict[Code, str | None]:
        url, version = split_canonical(canonical)
        if url in stack:
            cycle = " → ".join((*stack, url))
            raise TerminologyError(f"ValueSet {name} imports itself: {cycle}")
        self.used.add(("ValueSet", url))
        vs = self.source.valueset(url, version)
        if vs is None:
            raise TerminologyError(
                f"ValueSet {name} imports {canonical}, which is not stored", issue_code="not-found"
            )
        return self.valueset(vs, (*stack, url))

    def system_part(self, entry: dict[str, Any], system: str, name: str) -> dict[Code, str | None]:
        self.used.add(("CodeSystem", system))
        version = entry.get("version")
        cs = self.source.codesystem(system, version)
        concepts = entry.get("concept")
        filters = entry.get("filter")
        if concepts:
            out: dict[Code, str | None] = {}
            for c in concepts:
                code = c.get("code") if isinstance(c, dict) else None
                if isinstance(code, str):
                    known = cs.concepts.get(code) if cs is not None else None
                    out[(system, code)] = c.get("display") or (known.display if known else None)
            return out
        where = f"ValueSet {name} includes {system}" + (f"|{version}" if version else "")
        if cs is None:
            raise TerminologyError(f"{where}, a code system that is not stored",
                                   issue_code="not-found")  # fmt: skip
        if cs.content not in ("complete", "fragment", "example"):
            raise TerminologyError(f"{where}, whose content is {cs.content!r} (no concepts)",
                                   issue_code="not-supported")  # fmt: skip
        selected = set(cs.concepts)
        for f in filters or ():
            selected &= _filter(cs, f, where)
        return {(system, code): cs.concepts[code].display for code in sorted(selected)}


def _contains(items: Iterable[Any]) -> dict[Code, str | None]:
    """The codes of an ``expansion.contains`` tree."""
    out: dict[Code, str | None] = {}
    stack = [i for i in items if isinstance(i, dict)]
    while stack:
        item = stack.pop()
        if isinstance(item.get("system"), str) and isinstance(item.get("code"), str):
            out[(item["system"], item["code"])] = item.get("display")
        stack.extend(i for i in item.get("contains") or () if isinstance(i, dict))
    return out


def _values(cs: CodeSystemModel, prop: str) -> dict[str, set[str]]:
    """``{code: values of property prop}`` (``concept``/``code``: the code itself)."""
    if prop in ("concept", "code"):
        return {code: {code} for code in cs.concepts}
    if prop == "display":
        return {c.code: {c.display} for c in cs.concepts.values() if c.display is not None}
    return {
        c.code: {v for p, v in c.properties if p == prop}
        for c in cs.concepts.values()
        if any(p == prop for p, _ in c.properties)
    }


def _filter(cs: CodeSystemModel, f: dict[str, Any], where: str) -> set[str]:
    """The codes of ``cs`` one ``compose.include.filter`` selects."""
    prop, op, value = f.get("property"), f.get("op"), f.get("value")
    if not isinstance(prop, str) or not isinstance(op, str) or not isinstance(value, str):
        raise TerminologyError(f"{where} with a filter missing property, op or value")
    hierarchy = prop in ("concept", "code")
    if op in ("is-a", "descendent-of", "is-not-a", "generalizes"):
        if not hierarchy:
            raise TerminologyError(f"{where} with filter {prop} {op}: only on concept",
                                   issue_code="not-supported")  # fmt: skip
        if op == "is-a":
            return cs.descendants(value)
        if op == "descendent-of":
            return cs.descendants(value, inclusive=False)
        if op == "generalizes":
            return cs.ancestors(value)
        return set(cs.concepts) - cs.descendants(value)
    values = _values(cs, prop)
    if op == "=":
        return {code for code, vs in values.items() if value in vs}
    if op in ("in", "not-in"):
        wanted = {v.strip() for v in value.split(",")}
        inside = {code for code, vs in values.items() if vs & wanted}
        return inside if op == "in" else set(cs.concepts) - inside
    if op == "regex":
        try:
            pattern = re.compile(value)
        except re.error as exc:
            raise TerminologyError(f"{where} with a bad regex {value!r}: {exc}") from None
        return {code for code, vs in values.items() if any(pattern.fullmatch(v) for v in vs)}
    if op == "exists":
        has = set(values)
        return has if value == "true" else set(cs.concepts) - has
    raise TerminologyError(f"{where} with filter op {op!r}, which is not supported",
                           issue_code="not-supported")  # fmt: skip


def expand_valueset(vs: dict[str, Any], source: Source) -> Expansion:
    """Expand ``vs`` (a ValueSet resource) with the code systems and ValueSets of ``source``."""
    expander = _Expander(source)
    url = vs.get("url") if isinstance(vs.get("url"), str) else None
    if url:
        expander.used.add(("ValueSet", url))
    try:
        codes = expander.valueset(vs, (url,) if url else ())
    except TerminologyError as exc:
        name = _name(vs)
        if str(exc).startswith(f"ValueSet {name} "):
            raise
        raise TerminologyError(f"ValueSet {name} cannot be expanded: {exc}",
                               issue_code=exc.issue_code) from None  # fmt: skip
    return Expansion(url, vs.get("version"), codes, expander.used)
