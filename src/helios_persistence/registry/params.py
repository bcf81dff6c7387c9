"""SearchParameter definitions as the rest of the library sees them."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

__all__ = ["Component", "ParamType", "SearchParam", "split_union"]


class ParamType(Enum):
    """The FHIR search parameter types (R4 ``search-param-type``)."""

    NUMBER = "number"
    DATE = "date"
    STRING = "string"
    TOKEN = "token"
    REFERENCE = "reference"
    COMPOSITE = "composite"
    QUANTITY = "quantity"
    URI = "uri"
    SPECIAL = "special"


@dataclass(frozen=True, slots=True)
class Component:
    """One component of a composite parameter: the component's definition and its expression."""

    definition: str
    expression: str


@dataclass(frozen=True, slots=True)
class SearchParam:
    """A search parameter bound to one resource type.

    ``expression`` is the FHIRPath restricted to ``resource_type`` (the parts of a multi-base
    union that start with another type are dropped), or None for parameters with no expression
    (``_text``, ``_content``, ``_query``).
    """

    code: str
    type: ParamType
    resource_type: str
    expression: str | None
    url: str
    targets: tuple[str, ...] = ()
    components: tuple[Component, ...] = ()
    description: str = field(default="", compare=False)


def split_union(expression: str) -> list[str]:
    """Split a FHIRPath expression on its top-level ``|`` operators."""
    parts: list[str] = []
    depth = 0
    quote = False
    start = 0
    for i, ch in enumerate(expression):
        if quote:
            if ch == "'" and expression[i - 1] != "\\":
                quote = False
        elif ch == "'":
            quote = True
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            parts.append(expression[start:i].strip())
            start = i + 1
    parts.append(expression[start:].strip())
    return [p for p in parts if p]
