"""The query algebra: a handful of frozen, hashable nodes every dialect lowers.

A :class:`Query` names a resource type, a ``where`` predicate and the result controls
(sort, paging, includes, summary). Predicates are few and closed: :class:`And`, :class:`Or`,
:class:`Not`, one ``*Match`` per parameter type (with an operator enum rather than a class per
operator), :class:`Missing`, :class:`Chain`, :class:`Has`, :class:`Composite`, :class:`Text`
and :class:`Terminology`.

Values are already typed and normalised by the binder (dates are ranges, numbers carry their
precision range), so compilers never parse text. Every node prints as a deterministic
S-expression (``str(node)``).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from decimal import Decimal
from enum import Enum
from typing import Any, ClassVar

from helios_persistence.ir.text import TextNode, TextQuery

__all__ = [
    "And",
    "Chain",
    "Composite",
    "DateMatch",
    "Has",
    "Include",
    "Missing",
    "Node",
    "Not",
    "NumberMatch",
    "Or",
    "Predicate",
    "Prefix",
    "QuantityMatch",
    "Query",
    "ReferenceMatch",
    "ReferenceOp",
    "SortKey",
    "StringMatch",
    "StringOp",
    "Summary",
    "Terminology",
    "TerminologyOp",
    "Text",
    "TextKind",
    "TextNode",
    "TextQuery",
    "TokenMatch",
    "TokenOp",
    "TotalMode",
    "UriMatch",
    "UriOp",
    "children",
]


class Prefix(Enum):
    """Comparison prefixes for ordered values (R4 search, "prefixes"), all defined on ranges."""

    EQ = "eq"
    NE = "ne"
    GT = "gt"
    LT = "lt"
    GE = "ge"
    LE = "le"
    SA = "sa"
    EB = "eb"
    AP = "ap"


class StringOp(Enum):
    """How a string value is compared with the folded (or, for EXACT, the written) text."""

    STARTS = "starts"  # default: case/accent-insensitive prefix
    EXACT = "exact"  # :exact, case/accent-sensitive whole value
    CONTAINS = "contains"  # :contains
    EQUALS = "equals"  # _filter eq: case/accent-insensitive whole value
    ENDS = "ends"  # _filter ew


class TokenOp(Enum):
    EQ = "eq"  # system|code, |code, system|, code
    TEXT = "text"  # :text on display / CodeableConcept.text
    OF_TYPE = "of-type"  # :of-type on Identifier (type system|type code|value)


class ReferenceOp(Enum):
    EQ = "eq"
    IDENTIFIER = "identifier"  # :identifier (system|value of Reference.identifier)
    ABOVE = "above"  # canonical reference :above (version-insensitive url prefix)
    BELOW = "below"


class UriOp(Enum):
    EQ = "eq"
    ABOVE = "above"  # value is a prefix... of the search value
    BELOW = "below"  # the stored uri starts with the search value


class TextKind(Enum):
    NARRATIVE = "_text"
    CONTENT = "_content"
    ADVANCED = "text-advanced"  # :text-advanced on a token/reference/string param


class TerminologyOp(Enum):
    IN = "in"
    NOT_IN = "not-in"
    ABOVE = "above"
    BELOW = "below"


class TotalMode(Enum):
    NONE = "none"
    ESTIMATE = "estimate"
    ACCURATE = "accurate"


class Summary(Enum):
    FALSE = "false"
    TRUE = "true"
    TEXT = "text"
    DATA = "data"
    COUNT = "count"


def _atom(value: Any) -> str:
    """Render a leaf value in an S-expression, deterministically."""
    if value is None:
        return "nil"
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, Decimal)):
        return str(value)
    if isinstance(value, TextQuery):
        value = value.source
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{escaped}"'
    if isinstance(value, tuple):
        return "(" + " ".join(_atom(v) for v in value) + ")"
    return str(value)


#: fields printed without ``name=`` in S-expressions
_BARE_FIELDS = frozenset({"param", "op", "prefix", "kind", "resource_type", "source_type"})


@dataclass(frozen=True, slots=True)
class Node:
    """Base of every IR node: frozen, hashable, printed as an S-expression."""

    #: fields that are values (bound as parameters), not shape; see ``ir.shape_key``
    VALUE_FIELDS: ClassVar[tuple[str, ...]] = ()

    def __str__(self) -> str:
        parts = [type(self).__name__]
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Node):
                parts.append(str(value))
            elif isinstance(value, tuple) and value and isinstance(value[0], Node):
                parts.append(" ".join(str(v) for v in value))
            elif value is None or value == () or value is False:
                continue
            elif f.name in _BARE_FIELDS:
                parts.append(value.value if isinstance(value, Enum) else str(value))
            else:
                parts.append(f"{f.name}={_atom(value)}")
        return "(" + " ".join(parts) + ")"


# --- predicates -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class And(Node):
    """All children hold."""

    children: tuple[Predicate, ...]


@dataclass(frozen=True, slots=True)
class Or(Node):
    """At least one child holds."""

    children: tuple[Predicate, ...]


@dataclass(frozen=True, slots=True)
class Not(Node):
    """The child does not hold (``:not``, ``ne`` in ``_filter``, ``not(...)``)."""

    child: Predicate


@dataclass(frozen=True, slots=True)
class StringMatch(Node):
    """A string parameter compared with ``value`` (as written; compilers fold it)."""

    VALUE_FIELDS: ClassVar[tuple[str, ...]] = ("value",)
    param: str
    op: StringOp
    value: str


@dataclass(frozen=True, slots=True)
class TokenMatch(Node):
    """A token: ``system`` None means any system, ``""`` means no system (``|code``);
    ``code`` None means any code in the system (``system|``).

    For ``of-type``, ``system``/``code`` are the Identifier type and ``value`` the identifier.
    For ``text``, ``value`` is the text searched. ``_id`` is a token on the resource id.
    """

    VALUE_FIELDS: ClassVar[tuple[str, ...]] = ("system", "code", "value")
    param: str
    op: TokenOp
    system: str | None
    code: str | None
    value: str | None = None


@dataclass(frozen=True, slots=True)
class DateMatch(Node):
    """A date parameter against the search range ``[low, high)`` (µs since epoch, UTC)."""

    VALUE_FIELDS: ClassVar[tuple[str, ...]] = ("low", "high", "text")
    param: str
    prefix: Prefix
    low: int
    high: int
    text: str = ""

    def __str__(self) -> str:
        return f"(DateMatch {self.param} {self.prefix.value} {_atom(self.text)})"


@dataclass(frozen=True, slots=True)
class NumberMatch(Node):
    """A number against ``value`` written with the precision range ``[low, high)``."""

    VALUE_FIELDS: ClassVar[tuple[str, ...]] = ("value", "low", "high")
    param: str
    prefix: Prefix
    value: Decimal
    low: Decimal
    high: Decimal

    def __str__(self) -> str:
        return f"(NumberMatch {self.param} {self.prefix.value} {self.value})"


@dataclass(frozen=True, slots=True)
class QuantityMatch(Node):
    """A quantity; ``system``/``code`` None match any unit. ``canonical_*`` are the UCUM
    canonical form when the unit converts (then stored canonical values are compared)."""

    VALUE_FIELDS: ClassVar[tuple[str, ...]] = (
        "value",
        "low",
        "high",
        "system",
        "code",
        "canonical_value",
        "canonical_low",
        "canonical_high",
        "canonical_unit",
    )
    param: str
    prefix: Prefix
    value: Decimal
    low: Decimal
    high: Decimal
    system: str | None = None
    code: str | None = None
    canonical_value: Decimal | None = None
    canonical_low: Decimal | None = None
    canonical_high: Decimal | None = None
    canonical_unit: str | None = None

    def __str__(self) -> str:
        unit = f" {_atom(self.system)}|{_atom(self.code)}" if self.code or self.system else ""
        return f"(QuantityMatch {self.param} {self.prefix.value} {self.value}{unit})"


@dataclass(frozen=True, slots=True)
class ReferenceMatch(Node):
    """A reference: ``type/id`` (type None = any), a URL (``url``, optional ``version``),
    or an identifier (``IDENTIFIER``: ``url`` holds the system, ``id`` the value)."""

    VALUE_FIELDS: ClassVar[tuple[str, ...]] = ("target_type", "id", "url", "version")
    param: str
    op: ReferenceOp
    target_type: str | None
    id: str | None
    url: str | None = None
    version: str | None = None


@dataclass(frozen=True, slots=True)
class UriMatch(Node):
    VALUE_FIELDS: ClassVar[tuple[str, ...]] = ("value",)
    param: str
    op: UriOp
    value: str


@dataclass(frozen=True, slots=True)
class Missing(Node):
    """``:missing``: ``missing=True`` holds for resources with no value for ``param``."""

    param: str
    kind: str  # the parameter type ("string", "token", ...): which index holds it
    missing: bool


@dataclass(frozen=True, slots=True)
class Chain(Node):
    """``param`` references a resource of one of ``target_types`` for which ``where`` holds.

    One type when the chain names it (``subject:Patient.name``) or only one target of
    ``param`` has the next parameter; several (sorted) when more do: ``subject.name`` searches
    every target type that defines ``name``, as HAPI does. Target types whose ``where`` binds
    differently (a parameter code with another type there) get a Chain of their own under an
    :class:`Or`."""

    param: str
    target_types: tuple[str, ...]
    where: Predicate

    def __post_init__(self) -> None:
        if not isinstance(self.target_types, tuple) or not self.target_types:
            raise TypeError("Chain.target_types is a non-empty tuple of resource types")


@dataclass(frozen=True, slots=True)
class Has(Node):
    """Reverse chain: some ``source_type`` resource whose ``param`` references this resource
    satisfies ``where`` (``_has:source_type:param:...``)."""

    source_type: str
    param: str
    where: Predicate


@dataclass(frozen=True, slots=True)
class Composite(Node):
    """All component predicates hold on the same repetition (group) of ``param``.

    Component predicates name their parameter ``<param>$<i>``."""

    param: str
    components: tuple[Predicate, ...]


@dataclass(frozen=True, slots=True)
class Text(Node):
    """Full-text search: ``_text`` (narrative), ``_content`` (all text) or ``:text-advanced``.

    ``query`` is parsed when the search is bound (a :class:`TextQuery`; a string given here
    is parsed on construction): words, ``"phrases"``, ``OR``, ``-`` or ``NOT``, and a
    trailing ``*`` for prefixes."""

    VALUE_FIELDS: ClassVar[tuple[str, ...]] = ("query",)

    kind: TextKind
    query: TextQuery
    param: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.query, str):
            from helios_persistence.parsing.text import parse_text

            object.__setattr__(self, "query", parse_text(self.query))


@dataclass(frozen=True, slots=True)
class Terminology(Node):
    """Token ``:in``/``:not-in`` a ValueSet, or ``:above``/``:below`` a code (subsumption)."""

    VALUE_FIELDS: ClassVar[tuple[str, ...]] = ("system", "code")
    param: str
    op: TerminologyOp
    system: str | None
    code: str


Predicate = (
    And
    | Or
    | Not
    | StringMatch
    | TokenMatch
    | DateMatch
    | NumberMatch
    | QuantityMatch
    | ReferenceMatch
    | UriMatch
    | Missing
    | Chain
    | Has
    | Composite
    | Text
    | Terminology
)


def children(node: Node) -> tuple[Node, ...]:
    """The sub-predicates of a predicate node (``()`` for a leaf)."""
    if isinstance(node, (And, Or)):
        return node.children
    if isinstance(node, Not):
        return (node.child,)
    if isinstance(node, (Chain, Has)):
        return (node.where,)
    if isinstance(node, Composite):
        return node.components
    return ()


# --- result controls ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SortKey(Node):
    """``_sort`` key: a parameter (or ``_id``/``_lastUpdated``) and its direction."""

    param: str
    kind: str
    descending: bool = False


@dataclass(frozen=True, slots=True)
class Include(Node):
    """``_include``/``_revinclude``: ``source_type:param[:target_type]`` (``param`` ``*`` =
    every reference parameter), optionally ``:iterate``."""

    source_type: str
    param: str
    target_type: str | None = None
    iterate: bool = False
    reverse: bool = False


@dataclass(frozen=True, slots=True)
class Query(Node):
    """One FHIR search: ``resource_type`` (None = system search over ``types``) and controls.

    ``cursor`` is the keyset position of a next page, opaque outside the backend."""

    resource_type: str | None
    where: Predicate | None = None
    types: tuple[str, ...] = ()
    sort: tuple[SortKey, ...] = ()
    count: int | None = None
    offset: int | None = None
    total: TotalMode | None = None
    summary: Summary | None = None
    elements: tuple[str, ...] = ()
    include: tuple[Include, ...] = ()
    contained: str | None = None
    cursor: str | None = None
