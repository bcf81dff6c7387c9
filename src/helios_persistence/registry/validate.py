"""Validation of (custom) SearchParameter resources before they are registered.

A SearchParameter is usable when a server can index and search with it: it names its
``url``, ``code``, ``base`` (known resource types), ``type`` and ``status``; it has a FHIRPath
``expression`` that parses and applies to its bases (every type but ``special``); a reference
parameter's ``target`` types exist; a composite's components point at registered
non-composite parameters and their expressions parse; ``comparator``/``modifier`` use R4
codes. Codes starting with ``_`` and the result parameters (``_sort``, ``_include``, …) are
reserved for the specification.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from helios_persistence.errors import InvalidResource
from helios_persistence.registry.params import ParamType, split_union

if TYPE_CHECKING:
    from helios_persistence.registry import Registry

__all__ = ["validate"]

_CODE_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9\-_.]{0,63}")
_URL_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:\S+")
_STATUSES = frozenset({"draft", "active", "retired", "unknown"})
_COMPARATORS = frozenset({"eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap"})
_MODIFIERS = frozenset(
    {
        "missing", "exact", "contains", "not", "text", "in", "not-in", "below", "above",
        "type", "identifier", "ofType",
    }
)  # fmt: skip
_BASE_ANY = frozenset({"Resource", "DomainResource"})


def _fail(message: str, where: str | None = None) -> InvalidResource:
    return InvalidResource(f"invalid SearchParameter: {message}", expression=where)


def _known_types(registry: Registry) -> frozenset[str]:
    from helios_persistence.indexing.model import resource_types

    return resource_types() | frozenset(registry.resource_types)


def _parse_fhirpath(expression: str, where: str) -> None:
    """Parse with fhirpathpy's grammar, strictly: fhirpathpy's own ``parse`` recovers from
    syntax errors silently, so errors are raised here and the whole text must be consumed."""
    from antlr4 import CommonTokenStream, InputStream, Token
    from antlr4.error.ErrorListener import ErrorListener
    from fhirpathpy.parser.generated.FHIRPathLexer import FHIRPathLexer
    from fhirpathpy.parser.generated.FHIRPathParser import FHIRPathParser

    class Raise(ErrorListener):  # type: ignore[misc]
        def syntaxError(
            self, recognizer: Any, symbol: Any, line: int, column: int, msg: str, e: Any
        ) -> None:
            raise ValueError(f"column {column}: {msg}")

    try:
        lexer = FHIRPathLexer(InputStream(expression))
        lexer.removeErrorListeners()
        lexer.addErrorListener(Raise())
        parser = FHIRPathParser(CommonTokenStream(lexer))
        parser.removeErrorListeners()
        parser.addErrorListener(Raise())
        parser.expression()
        if parser.getCurrentToken().type != Token.EOF:
            raise ValueError(f"unexpected {parser.getCurrentToken().text!r}")
    except Exception as exc:
        raise _fail(f"{where} is not valid FHIRPath ({exc})", where) from None


def _strings(resource: dict[str, Any], key: str) -> list[str]:
    value = resource.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _fail(f"{key} must be a list of strings", f"SearchParameter.{key}")
    return value


def _check_expression(expression: str, bases: list[str], types: frozenset[str]) -> None:
    """Parses, and every union part applies to a base: it starts with a base type, or (with a
    single base) is relative to the resource, as R4's own ``InsurancePlan-name`` is."""
    _parse_fhirpath(expression, "SearchParameter.expression")
    if _BASE_ANY & set(bases):
        return
    for part in split_union(expression):
        head = re.match(r"\(*\s*([A-Za-z_][A-Za-z0-9_]*)", part)
        name = head.group(1) if head else None
        if name in bases:
            continue
        if name in types or name in _BASE_ANY:
            raise _fail(
                f"expression part {part!r} starts with {name}, which is not a base "
                f"({', '.join(bases)})",
                "SearchParameter.expression",
            )
        if len(bases) > 1:
            raise _fail(
                f"expression part {part!r} must start with one of its bases ({', '.join(bases)})",
                "SearchParameter.expression",
            )


def validate(resource: Any, registry: Registry) -> dict[str, Any]:
    """The definition to register, or ``InvalidResource`` saying what is wrong."""
    if not isinstance(resource, dict) or resource.get("resourceType") != "SearchParameter":
        raise _fail("not a SearchParameter resource", "resourceType")
    url = resource.get("url")
    if not isinstance(url, str) or not _URL_RE.fullmatch(url):
        raise _fail("url must be an absolute URI", "SearchParameter.url")
    code = resource.get("code")
    if not isinstance(code, str) or not _CODE_RE.fullmatch(code):
        raise _fail(f"code {code!r} is not a valid parameter code", "SearchParameter.code")
    standard = registry.by_url(url)
    if code.startswith("_") and not (standard is not None and standard.get("code") == code):
        raise _fail(f"code {code!r} is reserved: custom codes cannot start with '_'")
    status = resource.get("status")
    if status not in _STATUSES:
        raise _fail(f"status must be one of {sorted(_STATUSES)}", "SearchParameter.status")
    try:
        param_type = ParamType(resource.get("type"))
    except ValueError:
        raise _fail(f"unknown type {resource.get('type')!r}", "SearchParameter.type") from None
    types = _known_types(registry)
    bases = _strings(resource, "base")
    if not bases:
        raise _fail("base must name at least one resource type", "SearchParameter.base")
    for base in bases:
        if base not in types and base not in _BASE_ANY:
            raise _fail(f"unknown base resource type {base!r}", "SearchParameter.base")
    expression = resource.get("expression")
    if expression is None:
        # (the standard _text/_content/_query are answered by the store, not by an expression)
        if param_type is not ParamType.SPECIAL and not code.startswith("_"):
            raise _fail("a searchable parameter needs an expression", "SearchParameter.expression")
    elif not isinstance(expression, str) or not expression.strip():
        raise _fail("expression must be a non-empty string", "SearchParameter.expression")
    else:
        _check_expression(expression, bases, types)
    for target in _strings(resource, "target"):
        if target not in types:
            raise _fail(f"unknown target resource type {target!r}", "SearchParameter.target")
    if resource.get("target") and param_type is not ParamType.REFERENCE:
        raise _fail("only reference parameters have targets", "SearchParameter.target")
    for key, allowed in (("comparator", _COMPARATORS), ("modifier", _MODIFIERS)):
        for value in _strings(resource, key):
            if value not in allowed:
                raise _fail(f"unknown {key} {value!r}", f"SearchParameter.{key}")
    for key in ("multipleOr", "multipleAnd"):
        if key in resource and not isinstance(resource[key], bool):
            raise _fail(f"{key} must be a boolean", f"SearchParameter.{key}")
    components = resource.get("component")
    if param_type is ParamType.COMPOSITE:
        if not isinstance(components, list) or len(components) < 2:
            raise _fail("a composite needs at least two components", "SearchParameter.component")
        for i, component in enumerate(components):
            where = f"SearchParameter.component[{i}]"
            if not isinstance(component, dict):
                raise _fail("a component must be an object", where)
            definition, expr = component.get("definition"), component.get("expression")
            if not isinstance(definition, str) or not isinstance(expr, str) or not expr.strip():
                raise _fail("a component needs a definition and an expression", where)
            referenced = registry.by_url(definition)
            if referenced is None:
                raise _fail(f"component definition {definition!r} is not registered", where)
            if referenced.get("type") == "composite":
                raise _fail("a component cannot itself be a composite", where)
            _parse_fhirpath(expr, f"{where}.expression")
    elif components:
        raise _fail("only composite parameters have components", "SearchParameter.component")
    return resource
