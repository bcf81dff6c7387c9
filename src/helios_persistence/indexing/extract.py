"""``extract(resource)``: a FHIR resource → its :class:`ResourceIndex`.

For the resource's type the registry's parameters are compiled once into a *plan* (cached on
the registry and dropped when its definitions change): per parameter, one getter per fast-path
branch paired with the normaliser for that branch's FHIR type, or fhirpathpy plus a
normaliser that looks at each value's shape. ``_id`` and ``_lastUpdated`` are not extracted
(the store keeps them as columns), nor are parameters without an expression (``_text``,
``_content``, ``_query``) or of type ``special`` (``Location.near``).
"""

from __future__ import annotations

import html
import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from helios_persistence.errors import InvalidResource
from helios_persistence.indexing import model as m
from helios_persistence.indexing.fhirpath import compile_fast, evaluate_slow
from helios_persistence.indexing.normalize import BadValue, Normaliser, dynamic, normaliser
from helios_persistence.indexing.rows import CompositeRow, IndexRow, ResourceIndex
from helios_persistence.registry import ParamType, Registry, SearchParam, default_registry

__all__ = ["Plan", "extract", "narrative_text", "plan_for", "string_content"]

Getter = Callable[[Any, dict[str, Any]], Sequence[Any]]

#: kept by the store as columns, not as index rows
SKIPPED_CODES = frozenset({"_id", "_lastUpdated"})


@dataclass(frozen=True, slots=True)
class Step:
    """One way to get values of one parameter: a getter and the normaliser for its values."""

    code: str
    expression: str
    get: Getter
    normalise: Normaliser


@dataclass(frozen=True, slots=True)
class CompositeStep:
    """A composite parameter: base element getter(s), and per component its steps."""

    code: str
    expression: str
    bases: tuple[tuple[Getter, tuple[tuple[Step, ...], ...]], ...]


@dataclass(frozen=True, slots=True)
class Plan:
    resource_type: str
    steps: tuple[Step, ...]
    composites: tuple[CompositeStep, ...]
    #: expressions the fast path does not handle (evaluated by fhirpathpy)
    slow: tuple[str, ...]
    #: ``steps`` unpacked for the extraction loop: ``(get, normalise, code, step)``
    loop: tuple[tuple[Getter, Normaliser, str, Step], ...] = ()


def _slow_getter(expression: str, base: str | None = None) -> Getter:
    def get(node: Any, root: dict[str, Any]) -> Sequence[Any]:
        try:
            return evaluate_slow(expression, node, root, base if node is not root else None)
        except Exception as exc:  # fhirpathpy failing on this resource's data
            raise BadValue(f"fhirpathpy cannot evaluate it here ({exc})") from exc

    return get


def _steps(
    code: str,
    param_type: ParamType,
    expression: str,
    context: str,
    root_type: str,
    slow: list[str],
) -> list[Step]:
    fast = compile_fast(expression, context, root_type)
    if fast is None:
        slow.append(expression)
        base = None if context == root_type else context
        return [Step(code, expression, _slow_getter(expression, base), dynamic(param_type))]
    steps = []
    for branch, get in zip(fast.branches, fast.getters, strict=True):
        found = normaliser(param_type, branch.type)
        if found is not None:
            steps.append(Step(code, expression, get, found))
    return steps


def _composite(registry: Registry, param: SearchParam, slow: list[str]) -> CompositeStep | None:
    assert param.expression is not None
    rtype = param.resource_type
    components = []
    for component in param.components:
        target = registry.component_param(rtype, component)
        if target is None:
            return None  # a component definition this registry does not know
        components.append((target, component.expression))
    fast = compile_fast(param.expression, rtype, rtype)
    if fast is None:
        return None
    bases = []
    for branch, get in zip(fast.branches, fast.getters, strict=True):
        context = branch.type_key or branch.type
        per_component = tuple(
            tuple(_steps(t.code, t.type, expr, context, rtype, slow)) for t, expr in components
        )
        bases.append((get, per_component))
    return CompositeStep(param.code, param.expression, tuple(bases))


def plan_for(resource_type: str, registry: Registry | None = None) -> Plan:
    """The compiled extraction plan of ``resource_type`` (cached on the registry)."""
    if registry is None:
        registry = default_registry()
    return registry.derived(
        ("indexing.plan", resource_type), lambda: _build(registry, resource_type)
    )


def _build(registry: Registry, resource_type: str) -> Plan:
    steps: list[Step] = []
    composites: list[CompositeStep] = []
    slow: list[str] = []
    for param in registry.params_for(resource_type):
        if param.code in SKIPPED_CODES or not param.expression:
            continue
        if param.type is ParamType.SPECIAL:
            continue
        if param.type is ParamType.COMPOSITE:
            found = _composite(registry, param, slow)
            if found is not None:
                composites.append(found)
            continue
        steps += _steps(
            param.code, param.type, param.expression, resource_type, resource_type, slow
        )
    loop = tuple((s.get, s.normalise, s.code, s) for s in steps)
    return Plan(resource_type, tuple(steps), tuple(composites), tuple(slow), loop)


# -- narrative and content ----------------------------------------------------------------------
_TAG_RE = re.compile(r"<[^>]*>")
_SPACE_RE = re.compile(r"\s+")
#: keys whose strings are not text: the XHTML narrative (``_text`` has it) and base64 data
_NOT_CONTENT = frozenset({"div", "data", "resourceType"})


def narrative_text(resource: dict[str, Any]) -> str:
    """``text.div`` without markup, entities decoded, white space collapsed."""
    text = resource.get("text")
    div = text.get("div") if isinstance(text, dict) else None
    if not isinstance(div, str):
        return ""
    return _SPACE_RE.sub(" ", html.unescape(_TAG_RE.sub(" ", div))).strip()


def _strings(node: Any, out: list[str]) -> None:
    if type(node) is dict:
        for key, value in node.items():
            kind = type(value)
            if kind is str:
                if key not in _NOT_CONTENT:
                    out.append(value)
            elif kind is dict or kind is list:
                _strings(value, out)
    else:
        for value in node:
            kind = type(value)
            if kind is str:
                out.append(value)
            elif kind is dict or kind is list:
                _strings(value, out)


def string_content(resource: dict[str, Any]) -> str:
    """Every string value of the resource, in document order, joined by spaces (``_content``).

    Leaves out the narrative XHTML, base64 ``data`` and ``resourceType``.
    """
    out: list[str] = []
    _strings(resource, out)
    return " ".join(out)


# -- extract ------------------------------------------------------------------------------------
def _check(resource: Any, registry: Registry) -> str:
    if not isinstance(resource, dict):
        raise InvalidResource(f"a resource must be a JSON object, not {type(resource).__name__}")
    rtype = resource.get("resourceType")
    if rtype is None:
        raise InvalidResource("the resource has no resourceType", expression="resourceType")
    if not isinstance(rtype, str):
        raise InvalidResource("resourceType must be a string", expression="resourceType")
    if not (m.is_resource_type(rtype) or rtype in registry.resource_types):
        raise InvalidResource(f"unknown resourceType {rtype!r}", expression="resourceType")
    rid = resource.get("id")
    if rid is not None and not isinstance(rid, str):
        raise InvalidResource("id must be a string", expression=f"{rtype}.id")
    return rtype


def _composite_rows(step: CompositeStep, resource: dict[str, Any], out: list[Any]) -> None:
    for get, components in step.bases:
        for item in get(resource, resource):
            if item is None:
                continue
            # all components' raw values first (cheap), normalised only when none is empty
            found: list[list[tuple[Step, Any]]] = []
            for component_steps in components:
                values = [
                    (s, value)
                    for s in component_steps
                    for value in s.get(item, resource)
                    if value is not None
                ]
                if not values:
                    break
                found.append(values)
            else:
                per_component: list[list[IndexRow]] = []
                for values in found:
                    rows: list[IndexRow] = []
                    for s, value in values:
                        s.normalise(s.code, value, resource, rows)
                    if not rows:
                        break
                    per_component.append(list(dict.fromkeys(rows)))
                else:
                    for combo in itertools.product(*per_component):
                        out.append(CompositeRow(step.code, combo))


def extract(resource: dict[str, Any], registry: Registry | None = None) -> ResourceIndex:
    """Every index row of ``resource`` for the parameters of its type, plus ``_text`` and
    ``_content`` text. Raises ``InvalidResource`` when the resource cannot be indexed."""
    if registry is None:
        registry = default_registry()
    rtype = _check(resource, registry)
    plan = plan_for(rtype, registry)
    rows: list[Any] = []
    current: Step | CompositeStep | None = None
    try:
        for get, norm, code, current in plan.loop:  # noqa: B007 - the handler reads current
            values = get(resource, resource)
            if values:
                for value in values:
                    if value is not None:
                        norm(code, value, resource, rows)
        for current in plan.composites:
            _composite_rows(current, resource, rows)
    except (BadValue, AttributeError, TypeError) as exc:
        where = current.expression if current else rtype
        detail = str(exc)
        if isinstance(exc, AttributeError | TypeError):
            detail = f"the JSON has the wrong shape here ({exc})"
        raise InvalidResource(
            f"{rtype}: cannot index parameter {current.code if current else '?'!s} "
            f"({where}): {detail}",
            expression=where,
        ) from exc
    return ResourceIndex(
        tuple(dict.fromkeys(rows)), narrative_text(resource), string_content(resource)
    )
