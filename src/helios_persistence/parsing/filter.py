"""``_filter`` (grammar/filter.lark) → the same IR as ordinary search parameters.

Operators map onto the IR's operator enums: ``eq ne gt lt ge le sa eb ap`` are prefixes on
ordered types; ``co sw ew`` and ``eq`` on strings are contains / starts / ends / equals
(case- and accent-insensitive); ``pr`` is ``:missing`` inverted; ``in ni ss sb`` are
terminology operations. ``po`` and ``re`` have no IR form and are rejected by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, lru_cache
from typing import TYPE_CHECKING

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedInput, UnexpectedToken, VisitError

from helios_persistence import ir
from helios_persistence.assets import read_asset
from helios_persistence.errors import InvalidSearch
from helios_persistence.parsing.bind import fan_out
from helios_persistence.parsing.syntax import MEMOS, Link, RawChain, RawParam
from helios_persistence.parsing.typed_values import parse_value
from helios_persistence.registry import ParamType, SearchParam
from helios_persistence.ucum import UCUM_SYSTEM

if TYPE_CHECKING:
    from helios_persistence.parsing.bind import Binder

__all__ = ["SYSTEM_ALIASES", "parse_filter"]


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

    @property
    def link(self) -> Link:
        return Link(self.path[0].name, None, self.path[0].pos)


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

    def comparison(
        self, path: tuple[_Step, ...], op: Token, value: tuple[str, bool]
    ) -> _Comparison:
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
    return Lark(
        read_asset("grammar", "filter.lark"),
        parser="lalr",
        transformer=_FilterBuilder(),
        maybe_placeholders=True,
    )


@lru_cache(maxsize=1024)
def _syntax(text: str) -> object:
    """The syntax tree of a _filter (immutable, so memoised: clients repeat their filters)."""
    return _parser().parse(text)


MEMOS.append(_syntax.cache_clear)

_PREFIX_OPS = {p.value: p for p in ir.Prefix}
_STRING_OPS = {
    "eq": ir.StringOp.EQUALS,
    "co": ir.StringOp.CONTAINS,
    "sw": ir.StringOp.STARTS,
    "ew": ir.StringOp.ENDS,
}
#: system aliases a _filter token (or quantity) value may use (search_filter.html, "token")
SYSTEM_ALIASES = {
    "loinc": "http://loinc.org",
    "snomed": "http://snomed.info/sct",
    "rxnorm": "http://www.nlm.nih.gov/research/umls/rxnorm",
    "ucum": UCUM_SYSTEM,
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
        tree = _syntax(text)
    except UnexpectedInput as exc:
        pos = exc.pos_in_stream or 0
        if isinstance(exc, UnexpectedToken) and exc.token.type == "$END":
            message, pos = "_filter ends where more was expected", len(text.rstrip())
        else:
            message = f"_filter syntax error near {text[pos:][:20]!r}"
        raise InvalidSearch(message, parameter="_filter", position=offset + pos) from None
    except VisitError as exc:  # pragma: no cover - the builder raises nothing of its own
        raise InvalidSearch(str(exc.orig_exc), parameter="_filter", position=offset) from None
    return _Lowering(binder, offset).lower(tree, resource_type)


#: how deeply ``not(...)``, ``and``/``or`` and ``[...]`` may nest in one ``_filter``
MAX_FILTER_DEPTH = 32
_TERMINOLOGY_MODIFIERS = {"in": "in", "ni": "not-in", "ss": "above", "sb": "below"}


class _Lowering:
    def __init__(self, binder: Binder, offset: int) -> None:
        self.binder = binder
        self.offset = offset

    def error(self, message: str, pos: int, *, not_supported: bool = False) -> InvalidSearch:
        return InvalidSearch(
            message, parameter="_filter", position=self.offset + pos, not_supported=not_supported
        )

    def lower(self, node: object, rtype: str, depth: int = 0, hops: int = 0) -> ir.Predicate:
        """``hops`` counts the chain links above ``node`` (``a[...]`` nests a chain)."""
        if depth > MAX_FILTER_DEPTH:
            raise self.error(
                f"_filter nested more than {MAX_FILTER_DEPTH} levels deep", _first(node).pos
            )
        if isinstance(node, _Logical):
            if node.kind == "not":
                return ir.Not(self.lower(node.children[0], rtype, depth + 1, hops))
            operands = _operands(node)
            limits = self.binder.limits
            limit = limits.max_or_values if node.kind == "or" else limits.max_params
            if len(operands) > limit:
                raise self.error(
                    f"too many '{node.kind}' terms in _filter ({len(operands)} > {limit})",
                    _first(node).pos,
                )
            cls = ir.And if node.kind == "and" else ir.Or
            flat: list[ir.Predicate] = []
            for operand in operands:
                lowered = self.lower(operand, rtype, depth + 1, hops)
                flat.extend(lowered.children if isinstance(lowered, cls) else (lowered,))
            return cls(tuple(flat))
        assert isinstance(node, _Comparison)
        return self.comparison(node, node.path, rtype, hops, depth)

    def targets(self, param: SearchParam, step: _Step, nxt: Link) -> tuple[str, ...]:
        """The resource types a ``_filter`` chain step leads to (never written in _filter:
        every target type of the reference that has the next parameter)."""
        link = Link(step.name, None, step.pos)
        raw = RawParam(RawChain((link,)), (), step.name, step.pos, -1)
        try:
            return self.binder._chain_targets(param, link, nxt, raw)
        except InvalidSearch as exc:
            raise self.error(exc.message, exc.position or step.pos) from None
        except Exception as exc:  # an unknown parameter after the chain
            raise self.error(str(exc), getattr(exc, "position", step.pos)) from None

    def comparison(
        self, cmp: _Comparison, path: tuple[_Step, ...], rtype: str, hops: int, depth: int
    ) -> ir.Predicate:
        step = path[0]
        try:
            param = self.binder._lookup(rtype, Link(step.name, None, step.pos))
        except Exception as exc:
            raise self.error(str(exc), step.pos) from None
        if len(path) == 1 and step.where is None:
            return self.leaf(param, cmp)
        if param.type is not ParamType.REFERENCE:
            raise self.error(
                f"_filter: '{step.name}' is a {param.type.value} parameter; only reference "
                "parameters can be followed with '.' or '[...]'",
                step.pos,
                not_supported=True,
            )
        if hops + 1 > self.binder.limits.max_chain_depth:
            raise self.error(
                f"chain deeper than {self.binder.limits.max_chain_depth} links", step.pos
            )
        if step.where is not None:
            if len(path) == 1:
                raise self.error(
                    "_filter: a '[...]' filter must be followed by '.parameter' and a comparison",
                    step.pos,
                    not_supported=True,
                )
            where = step.where

            def filtered(target: str) -> ir.Predicate:
                inner = self.lower(where, target, depth + 1, hops + 1)
                return ir.And((inner, self.comparison(cmp, path[1:], target, hops + 1, depth)))

            return fan_out(param.code, self.targets(param, step, _first(where).link), filtered)
        targets = self.targets(param, step, Link(path[1].name, None, path[1].pos))
        return fan_out(
            param.code, targets, lambda t: self.comparison(cmp, path[1:], t, hops + 1, depth)
        )

    def leaf(self, param: SearchParam, cmp: _Comparison) -> ir.Predicate:
        kind, code = param.type, param.code
        op, value = cmp.op, cmp.value
        if param.expression is None:
            raise self.error(
                f"_filter cannot search {code!r} (use the {code} parameter)",
                cmp.pos,
                not_supported=True,
            )
        if op == "pr":
            if value not in ("true", "false"):
                raise self.error("pr takes true or false", cmp.pos)
            return ir.Missing(code, kind.value, value == "false")
        if op in ("po", "re"):
            raise self.error(
                f"_filter operator {op!r} is not supported", cmp.pos, not_supported=True
            )
        if op in _TERMINOLOGY_OPS:
            if kind is not ParamType.TOKEN or code == "_id":
                raise self.error(f"{op} applies to token parameters only", cmp.pos)
            parts = (value,) if op in ("in", "ni") else _with_system(value.split("|"), 0)
            try:
                return parse_value(kind, code, _TERMINOLOGY_MODIFIERS[op], parts)
            except ValueError as exc:
                raise self.error(f"bad value for {code!r}: {exc}", cmp.pos) from None
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

    def value(
        self, kind: ParamType, code: str, op: str, value: str, cmp: _Comparison
    ) -> ir.Predicate:
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
            parts = _with_system(value.split("|"), 1) if kind is ParamType.QUANTITY else (value,)
            return parse_value(kind, code, None, (op + parts[0], *parts[1:]))
        if kind is ParamType.URI and op in ("sw", "eq"):
            return parse_value(kind, code, "below" if op == "sw" else None, (value,))
        if op != "eq":
            raise ValueError(f"operator {op!r} does not apply to {kind.value} parameters")
        if kind is ParamType.TOKEN:
            return parse_value(kind, code, None, _with_system(value.split("|"), 0))
        if kind is ParamType.REFERENCE:
            return parse_value(kind, code, None, tuple(value.split("|")))
        raise ValueError(f"{kind.value} parameters cannot be used in _filter")


def _with_system(parts: list[str], at: int) -> tuple[str, ...]:
    """``parts`` with a system alias at ``parts[at]`` (``loinc|8867-4``) spelled out; only
    a value with a system part has one (``loinc`` alone is a code)."""
    if len(parts) > at + 1 and parts[at] in SYSTEM_ALIASES:
        parts = [*parts[:at], SYSTEM_ALIASES[parts[at]], *parts[at + 1 :]]
    return tuple(parts)


def _first(node: object) -> _Comparison:
    """The leftmost comparison of a filter expression."""
    while isinstance(node, _Logical):
        node = node.children[0]
    assert isinstance(node, _Comparison)
    return node


def _operands(node: _Logical) -> list[object]:
    """The operands of a run of the same ``and``/``or`` (iteratively: long runs are deep)."""
    out: list[object] = []
    stack: list[object] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, _Logical) and current.kind == node.kind:
            stack.extend(reversed(current.children))
        else:
            out.append(current)
    return out
