"""FHIRPath for index extraction: a compiled fast path, and fhirpathpy for everything else.

Search parameter expressions are overwhelmingly a few shapes: dotted paths, choice types
(``Observation.value``), ``ofType(T)`` / ``as(T)`` / ``(x as T)``, ``where(resolve() is T)``,
``where(system='email')``-style filters, ``extension('url')``, ``[0]``/``first()``, ``%resource``
and unions of those. :func:`compile_fast` turns such an expression into *branches*: a static
list of JSON keys and filters that ends in one known FHIR type, each compiled into a small
Python function. Anything else (``exists()``, ``!=``, unknown elements) returns None and is
evaluated by fhirpathpy (:func:`compile_slow`), compiled once per expression.

``resolve()`` is never a database lookup: ``resolve() is Patient`` is decided from the
reference itself (its ``Patient/…`` type part, a contained resource's ``resourceType``, or
``Reference.type``), see :func:`helios_persistence.indexing.references.reference_type`. The
fhirpathpy side gets the same rule through a ``resolve`` user function, so both evaluators
agree (tests/unit/indexing/test_differential.py checks this on every example resource).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from helios_persistence.indexing import model as m
from helios_persistence.indexing.references import reference_type

__all__ = ["Branch", "FastPath", "Unsupported", "compile_fast", "compile_slow", "evaluate_slow"]

Getter = Callable[[Any, dict[str, Any]], Sequence[Any]]


class Unsupported(Exception):
    """The expression is outside the fast path's shapes (fhirpathpy evaluates it instead)."""


# -- tokens -------------------------------------------------------------------------------------
_TOKEN_RE = re.compile(
    r"""\s*(?:
      (?P<str>'(?:[^'\\]|\\.)*')
    | (?P<num>\d+(?:\.\d+)?)
    | (?P<var>%[A-Za-z_][A-Za-z0-9_]*)
    | (?P<ident>[A-Za-z_][A-Za-z0-9_]*|`[^`]+`)
    | (?P<op>!=|<=|>=|[().\[\]|=,<>])
    )""",
    re.VERBOSE,
)


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN_RE.match(text, pos)
        if match is None or match.end() == pos:
            raise Unsupported(f"cannot tokenise {text[pos:]!r}")
        kind = match.lastgroup
        assert kind is not None
        value = match.group(kind)
        if kind == "ident" and value.startswith("`"):
            value = value[1:-1]
        out.append((kind, value))
        pos = match.end()
    out.append(("end", ""))
    return out


def _literal(token: tuple[str, str]) -> Any:
    kind, value = token
    if kind == "str":
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    if kind == "num":
        return float(value) if "." in value else int(value)
    if kind == "ident" and value in ("true", "false"):
        return value == "true"
    raise Unsupported(f"unsupported literal {value!r}")


# -- branches -----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Branch:
    """One static route through the JSON, ending in values of one FHIR type.

    ``ops`` are ``("key", json_key)``, ``("first",)``, ``("eq", key, literal)``,
    ``("ref", types)`` (``where(resolve() is …)``), ``("restype", type)`` (a resource's type
    test) and ``("root",)`` (``%resource``).
    """

    ops: tuple[tuple[Any, ...], ...]
    type: str
    type_key: str | None


class _Parser:
    def __init__(self, text: str, context: str, root_type: str) -> None:
        self.tokens = _tokens(text)
        self.i = 0
        self.context = context
        self.root_type = root_type

    # token helpers
    def peek(self, offset: int = 0) -> tuple[str, str]:
        return self.tokens[min(self.i + offset, len(self.tokens) - 1)]

    def take(self, kind: str | None = None, value: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if (kind and token[0] != kind) or (value is not None and token[1] != value):
            raise Unsupported(f"expected {value or kind}, found {token[1]!r}")
        self.i += 1
        return token

    def at(self, kind: str, value: str | None = None) -> bool:
        token = self.peek()
        return token[0] == kind and (value is None or token[1] == value)

    # grammar
    def parse(self) -> list[Branch]:
        branches = self.union()
        self.take("end")
        return branches

    def union(self) -> list[Branch]:
        branches = self.as_expr()
        while self.at("op", "|"):
            self.take()
            branches = branches + self.as_expr()
        return branches

    def as_expr(self) -> list[Branch]:
        branches = self.term()
        if self.at("ident", "as"):
            self.take()
            branches = self.of_type(branches, self.type_name())
            branches = self.postfix(branches)
        return branches

    def type_name(self) -> str:
        name = self.take("ident")[1]
        while self.at("op", "."):
            self.take()
            name += "." + self.take("ident")[1]
        return m.normalise_type_name(name)

    def term(self) -> list[Branch]:
        if self.at("op", "("):
            self.take()
            branches = self.union()
            self.take("op", ")")
        elif self.at("var"):
            name = self.take()[1]
            if name not in ("%resource", "%rootResource"):
                raise Unsupported(f"variable {name}")
            branches = [Branch((("root",),), self.root_type, self.root_type)]
        else:
            name = self.take("ident")[1]
            if self.at("op", "("):
                raise Unsupported(f"function {name}() at the start")
            start = Branch((), self.context, self.context)
            if name == self.context and m.is_resource_type(name):
                branches = [start]
            elif m.is_resource_type(name) and "." not in self.context:
                branches = []  # a type filter that cannot match this context
            else:
                branches = self.member([start], name)
        return self.postfix(branches)

    def postfix(self, branches: list[Branch]) -> list[Branch]:
        while True:
            if self.at("op", "."):
                self.take()
                name = self.take("ident")[1]
                if self.at("op", "("):
                    branches = self.function(branches, name)
                else:
                    branches = self.member(branches, name)
            elif self.at("op", "["):
                self.take()
                index = self.take("num")[1]
                self.take("op", "]")
                if index != "0":
                    raise Unsupported("indexer other than [0]")
                branches = self.first(branches)
            else:
                return branches

    def member(self, branches: list[Branch], name: str) -> list[Branch]:
        out = []
        known = not branches
        for branch in branches:
            if branch.type_key is None:
                # a primitive's id/extension live in "_name": outside the fast path
                if name in ("id", "extension"):
                    raise Unsupported(f"{name} of primitive {branch.type}")
                continue  # any other member of a primitive is empty
            kids = m.children(branch.type_key, name)
            if kids is None:
                continue  # this branch's type has no such element: empty
            known = True
            for kid in kids:
                out.append(Branch((*branch.ops, ("key", kid.key)), kid.type, kid.type_key))
        if not known:
            raise Unsupported(f"no element {name} on {', '.join(b.type for b in branches)}")
        return out

    def first(self, branches: list[Branch]) -> list[Branch]:
        if len(branches) > 1:
            raise Unsupported("first() over several branches")
        return [Branch((*b.ops, ("first",)), b.type, b.type_key) for b in branches]

    def of_type(self, branches: list[Branch], name: str) -> list[Branch]:
        out = []
        for b in branches:
            if m.is_subtype(b.type, name):
                out.append(b)
            elif b.type == "Resource" and m.is_resource_type(name):
                out.append(Branch((*b.ops, ("restype", name)), name, name))
        return out

    def function(self, branches: list[Branch], name: str) -> list[Branch]:
        self.take("op", "(")
        if name in ("ofType", "as"):
            type_name = self.type_name()
            self.take("op", ")")
            return self.of_type(branches, type_name)
        if name == "first":
            self.take("op", ")")
            return self.first(branches)
        if name == "extension":
            url = _literal(self.take("str"))
            self.take("op", ")")
            return [
                Branch((*b.ops, ("eq", "url", url)), b.type, b.type_key)
                for b in self.member(branches, "extension")
            ]
        if name == "where":
            return self.where(branches)
        raise Unsupported(f"function {name}()")

    def where(self, branches: list[Branch]) -> list[Branch]:
        if self.at("ident", "resolve"):
            types = set()
            while True:
                self.take("ident", "resolve")
                self.take("op", "(")
                self.take("op", ")")
                self.take("ident", "is")
                types.add(self.type_name())
                if not self.at("ident", "or"):
                    break
                self.take()
            self.take("op", ")")
            op: tuple[Any, ...] = ("ref", frozenset(types))
            return [Branch((*b.ops, op), b.type, b.type_key) for b in branches]
        name = self.take("ident")[1]
        self.take("op", "=")
        literal = _literal(self.take())
        self.take("op", ")")
        out = []
        for b in branches:
            if b.type_key is None:
                raise Unsupported("where() on a primitive")
            kids = m.children(b.type_key, name)
            if kids is None or len(kids) != 1 or kids[0].type_key is not None:
                raise Unsupported(f"where({name}=…) on a non-primitive element")
            out.append(Branch((*b.ops, ("eq", kids[0].key, literal)), b.type, b.type_key))
        return out


# -- code generation ----------------------------------------------------------------------------
def _is_resource_of(value: Any, type_name: str) -> bool:
    return (
        isinstance(value, dict)
        and isinstance(value.get("resourceType"), str)
        and m.is_subtype(value["resourceType"], type_name)
    )


def _generate(branch: Branch) -> Getter:
    """A function ``(node, root) -> values`` for one branch (straight-line Python)."""
    lines = ["def get(node, root):"]
    env: dict[str, Any] = {"_reftype": reference_type, "_isres": _is_resource_of}
    single = "node"  # the current value while it is a single item, else None (list in c)
    for n, op in enumerate(branch.ops):
        kind = op[0]
        if kind == "root":
            single = "root"
        elif kind == "key":
            if single:
                lines += [
                    f"    v = {single}.get({op[1]!r})",
                    "    if v is None: return ()",
                    "    c = v if type(v) is list else [v]",
                ]
                single = ""
            else:
                lines += [
                    "    n = []",
                    "    for x in c:",
                    f"        v = x.get({op[1]!r})",
                    "        if v is not None:",
                    "            if type(v) is list: n.extend(v)",
                    "            else: n.append(v)",
                    "    if not n: return ()",
                    "    c = n",
                ]
        else:
            if single:
                lines.append(f"    c = [{single}]")
                single = ""
            if kind == "first":
                lines.append("    c = c[:1]")
            elif kind == "eq":
                env[f"lit{n}"] = op[2]
                lines.append(f"    c = [x for x in c if x.get({op[1]!r}) == lit{n}]")
            elif kind == "ref":
                env[f"types{n}"] = op[1]
                lines.append(f"    c = [x for x in c if _reftype(x, root) in types{n}]")
            elif kind == "restype":
                lines.append(f"    c = [x for x in c if _isres(x, {op[1]!r})]")
            else:  # pragma: no cover - the parser emits nothing else
                raise AssertionError(kind)
    lines.append(f"    return [{single}]" if single else "    return c")
    exec("\n".join(lines), env)
    return env["get"]  # type: ignore[no-any-return]


@dataclass(frozen=True, slots=True)
class FastPath:
    """A compiled expression: its branches and one getter per branch."""

    expression: str
    branches: tuple[Branch, ...]
    getters: tuple[Getter, ...]

    def values(self, node: Any, root: dict[str, Any] | None = None) -> list[tuple[Any, str]]:
        """Every value with its FHIR type (null array items dropped, as FHIRPath does)."""
        root = node if root is None else root
        out: list[tuple[Any, str]] = []
        for branch, get in zip(self.branches, self.getters, strict=True):
            out.extend((v, branch.type) for v in get(node, root) if v is not None)
        return out


@cache
def compile_fast(expression: str, context: str, root_type: str | None = None) -> FastPath | None:
    """Compile ``expression`` evaluated on a ``context`` (a resource type, or a type key for a
    composite component); None when it is outside the fast path's shapes."""
    try:
        branches = _Parser(expression, context, root_type or context.split(".")[0]).parse()
    except Unsupported:
        return None
    return FastPath(expression, tuple(branches), tuple(_generate(b) for b in branches))


# -- fhirpathpy ---------------------------------------------------------------------------------
def _resolve_shim(inputs: list[Any]) -> list[Any]:
    """``resolve()`` for fhirpathpy: a stand-in resource of the reference's type, no lookup."""
    from fhirpathpy.engine.nodes import ResourceNode

    out = []
    for value in inputs:
        target = reference_type(value, getattr(_state, "root", None))
        if target:
            node = ResourceNode.create_node({"resourceType": target}, target)  # type: ignore[no-untyped-call]
            out.append(node)
    return out


_state = threading.local()


@cache
def compile_slow(expression: str) -> Callable[..., list[Any]]:
    """fhirpathpy, compiled once per expression, with the ``resolve()`` shim."""
    import fhirpathpy

    options = {"userInvocationTable": {"resolve": {"fn": _resolve_shim, "arity": {0: []}}}}
    return fhirpathpy.compile(expression, m.model(), options)


def evaluate_slow(
    expression: str, node: Any, root: dict[str, Any], base: str | None = None
) -> list[Any]:
    """Evaluate with fhirpathpy on ``node`` (a sub-node of ``root`` typed ``base`` if given)."""
    from fhirpathpy.engine.nodes import ResourceNode

    fn = compile_slow(expression)
    target = ResourceNode.create_node(node, base) if base else node  # type: ignore[no-untyped-call]
    _state.root = root
    try:
        result = fn(target, {"resource": root, "rootResource": root})
    finally:
        _state.root = None
    return [v for v in result if v is not None]
