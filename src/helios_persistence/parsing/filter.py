"""``_filter`` (grammar/filter.lark) → the same IR as ordinary search parameters.

Operators map onto the IR's operator enums: ``eq ne gt lt ge le sa eb ap`` are prefixes on
ordered types; ``co sw ew`` and ``eq`` on strings are contains / starts / ends / equals
(case- and accent-insensitive); ``pr`` is ``:missing`` inverted; ``in ni ss sb`` are
terminology operations. ``po`` and ``re`` have no IR form and are rejected by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedInput, VisitError

from helios_persistence import ir
from helios_persistence.errors import InvalidSearch
from helios_persistence.parsing.syntax import Link, RawChain, RawParam
from helios_persistence.parsing.typed_values import parse_value
from helios_persistence.registry import ParamType

if TYPE_CHECKING:
    from helios_persistence.parsing.bind import Binder

__all__ = ["parse_filter"]


@dataclass(frozen=True, slots=True)
class _Step:
    name: str
    where: object | None
    pos: int


@dataclass(frozen=True, slots=True)
class _Comparison:
    path: tuple[_Step, ...]
    op: str
    value: str
    quoted: bool
    pos: int


@dataclass(frozen=True, slots=True)
class _Logical:
    kind: str  # and | or | not
    children: tuple[object, ...]


@v_args(inline=True)
class _FilterBuilder(Transformer):  # type: ignore[type-arg]
    def or_(self, a: object, b: object) -> _Logical:
        return _Logical("or", (a, b))

    def and_(self, a: object, b: object) -> _Logical:
        return _Logical("and", (a, b))

    def not_(self, a: object) -> _Logical:
        return _Logical("not", (a,))

    def comparison(self, path: tuple[_Step, ...], op: Token, value: tuple[str, bool]) -> _Comparison:
        return _Comparison(path, str(op).lower(), value[0], value[1], path[0].pos)

    def path(self, *steps: _Step) -> tuple[_Step, ...]:
        return steps

    def step(self, name: Token, where: object | None = None) -> _Step:
        return _Step(str(name), where, name.start_pos or 0)

    def string_value(self, token: Token) -> tuple[str, bool]:
        text = str(token)[1:-1]
        out, i = [], 0
        while i < len(text):
            if text[i] == "\\" and i + 1 < len(text):
                out.append(text[i + 1])
                i += 2
            else:
                out.append(text[i])
                i += 1
        return "".join(out), True

    def token_value(self, token: Token) -> tuple[str, bool]:
        return str(token), False


@cache
def _parser() -> Lark:
    return Lark.open(
        "../grammar/filter.lark",
        rel_to=__file__,
        parser="lalr",
        transformer=_FilterBuilder(),
        maybe_placeholders=True,
    )


_PREFIX_OPS = {p.value: p for p in ir.Prefix}
_STRING_OPS = {
    "eq": ir.StringOp.EQUALS,
    "co": ir.StringOp.CONTAINS,
    "sw": ir.StringOp.STARTS,
    "ew": ir.StringOp.ENDS,
}
_TERMINOLOGY_OPS = {
    "in": ir.TerminologyOp.IN,
    "ni": ir.TerminologyOp.NOT_IN,
    "ss": ir.TerminologyOp.ABOVE,
    "sb": ir.TerminologyOp.BELOW,
}


def parse_filter(text: str, resource_type: str, binder: Binder, offset: int = 0) -> ir.Predicate:
    """Parse and bind one ``_filter`` expression for ``resource_type``."""
    if not text.strip():
        raise InvalidSearch("_filter is empty", parameter="_filter", position=offset)
    try:
        tree = _parser().parse(text)
    except UnexpectedInput as exc:
        raise InvalidSearch(
            f"_filter syntax error near {text[exc.pos_in_stream or 0:][:20]!r}",
            parameter="_filter",
            position=offset + (exc.pos_in_stream or 0),
        ) from None
    except VisitError as exc:  # pragma: no cover - the builder raises nothing of its own
        raise InvalidSearch(str(exc.orig_exc), parameter="_filter", position=offset) from None
    return _Lowering(binder, offset).lower(tree, resource_type)


class _Lowering:
    def __init__(self, binder: Binder, offset: int) -> None:
        self.binder = binder
        self.offset = offset

    def error(self, message: str, pos: int, *, not_supported: bool = False) -> InvalidSearch:
        return InvalidSearch(
            message, parameter="_filter", position=self.offset + pos, not_supported=not_supported
        )

    def lower(self, node: object, rtype: str) -> ir.Predicate:
        if isinstance(node, _Logical):
            children = [self.lower(c, rtype) for c in node.children]
            if node.kind == "not":
                return ir.Not(children[0])
            cls = ir.And if node.kind == "and" else ir.Or
            flat: list[ir.Predicate] = []
            for c in children:
                flat.extend(c.children if isinstance(c, cls) else (c,))
            return cls(tuple(flat))
        assert isinstance(node, _Comparison)
        return self.comparison(node, node.path, rtype, 0)

    def comparison(
        self, cmp: _Comparison, path: tuple[_Step, ...], rtype: str, depth: int
    ) -> ir.Predicate:
        step = path[0]
        raw = RawParam(RawChain((Link(step.name, None, step.pos),)), (), step.name, step.pos, -1)
        try:
            param = self.binder._lookup(rtype, Link(step.name, None, step.pos))
        except Exception as exc:
            raise self.error(str(exc), step.pos) from None
        if len(path) == 1 and step.where is None:
            return self.leaf(param.type, param.code, rtype, cmp)
        if param.type is not ParamType.REFERENCE:
            raise self.error(
                f"_filter: '{step.name}' is a {param.type.value} parameter; only reference "
                "parameters can be followed with '.' or '[...]'",
                step.pos,
                not_supported=True,
            )
        if depth + 1 > self.binder.limits.max_chain_depth:
            raise self.error(f"chain deeper than {self.binder.limits.max_chain_depth}", step.pos)
        if step.where is not None:
            first = _first_name(step.where)
            target = self.binder._chain_target(param, Link(step.name, None, step.pos), first, raw)
            inner = self.lower(step.where, target)
            if len(path) == 1:
                raise self.error(
                    "_filter: a '[...]' filter must be followed by '.parameter' and a comparison",
                    step.pos,
                    not_supported=True,
                )
            rest = self.comparison(cmp, path[1:], target, depth + 1)
            return ir.Chain(param.code, target, ir.And((inner, rest)))
        nxt = Link(path[1].name, None, path[1].pos)
        target = self.binder._chain_target(param, Link(step.name, None, step.pos), nxt, raw)
        return ir.Chain(param.code, target, self.comparison(cmp, path[1:], target, depth + 1))

    def leaf(self, kind: ParamType, code: str, rtype: str, cmp: _Comparison) -> ir.Predicate:
        op, value = cmp.op, cmp.value
        if op == "pr":
            if value not in ("true", "false"):
                raise self.error("pr takes true or false", cmp.pos)
            return ir.Missing(code, kind.value, value == "false")
        if op in ("po", "re"):
            raise self.error(f"_filter operator {op!r} is not supported", cmp.pos, not_supported=True)
        if op in _TERMINOLOGY_OPS:
            if kind is not ParamType.TOKEN:
                raise self.error(f"{op} applies to token parameters only", cmp.pos)
            system, _, code_value = value.rpartition("|")
            return ir.Terminology(code, _TERMINOLOGY_OPS[op], system or None, code_value)
        negate = op == "ne" and kind in (
            ParamType.STRING, ParamType.TOKEN, ParamType.REFERENCE, ParamType.URI
        )  # fmt: skip
        if negate:
            op = "eq"
        try:
            predicate = self.value(kind, code, op, value, cmp)
        except ValueError as exc:
            raise self.error(f"bad value for {code!r}: {exc}", cmp.pos) from None
        return ir.Not(predicate) if negate else predicate

    def value(self, kind: ParamType, code: str, op: str, value: str, cmp: _Comparison) -> ir.Predicate:
        if code == "_id":
            if op != "eq":
                raise ValueError("_id supports eq and ne")
            return ir.TokenMatch("_id", ir.TokenOp.EQ, None, value)
        if kind is ParamType.STRING:
            if op not in _STRING_OPS:
                raise ValueError(f"operator {op!r} does not apply to strings")
            return ir.StringMatch(code, _STRING_OPS[op], value)
        if kind in (ParamType.DATE, ParamType.NUMBER, ParamType.QUANTITY):
            if op not in _PREFIX_OPS:
                raise ValueError(f"operator {op!r} does not apply to {kind.value} parameters")
            parts = tuple(value.split("|")) if kind is ParamType.QUANTITY else (value,)
            return parse_value(kind, code, None, (op + parts[0], *parts[1:]))
        if kind is ParamType.URI and op in ("sw", "eq"):
            return ir.UriMatch(code, ir.UriOp.BELOW if op == "sw" else ir.UriOp.EQ, value)
        if op != "eq":
            raise ValueError(f"operator {op!r} does not apply to {kind.value} parameters")
        if kind in (ParamType.TOKEN, ParamType.REFERENCE):
            return parse_value(kind, code, None, tuple(value.split("|")))
        raise ValueError(f"{kind.value} parameters cannot be used in _filter")


def _first_name(node: object) -> Link:
    while isinstance(node, _Logical):
        node = node.children[0]
    assert isinstance(node, _Comparison)
    return Link(node.path[0].name, None, node.path[0].pos)
