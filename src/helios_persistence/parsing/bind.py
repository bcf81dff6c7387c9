"""Phase two: resolve names against the SearchParameter registry and type every value.

Input is the unresolved syntax of :mod:`parsing.syntax`; output is an :class:`ir.Query`.
Repeated parameters are AND, comma-separated values are OR (R4 search, "combining").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from helios_persistence import ir
from helios_persistence.errors import InvalidSearch
from helios_persistence.parsing.syntax import (
    Link,
    RawChain,
    RawFilter,
    RawHas,
    RawParam,
    RawQuery,
)
from helios_persistence.parsing.text import parse_text
from helios_persistence.parsing.typed_values import parse_value
from helios_persistence.registry import ParamType, Registry, SearchParam

__all__ = ["Binder", "Limits", "fan_out"]

_E = TypeVar("_E", ir.TotalMode, ir.Summary)

#: modifiers each parameter type accepts (R4 search, "modifiers"); ``:Type`` is separate
MODIFIERS: dict[ParamType, frozenset[str]] = {
    ParamType.STRING: frozenset({"exact", "contains", "missing"}),
    ParamType.TOKEN: frozenset(
        {"text", "not", "above", "below", "in", "not-in", "of-type", "missing", "text-advanced"}
    ),
    ParamType.REFERENCE: frozenset({"identifier", "missing", "text-advanced"}),
    ParamType.DATE: frozenset({"missing"}),
    ParamType.NUMBER: frozenset({"missing"}),
    ParamType.QUANTITY: frozenset({"missing"}),
    ParamType.URI: frozenset({"above", "below", "missing"}),
    ParamType.COMPOSITE: frozenset({"missing"}),
    ParamType.SPECIAL: frozenset(),
}
#: FHIR modifiers the library knows but no dialect implements yet
NOT_SUPPORTED_MODIFIERS = frozenset({"iterate", "code-text", "contains"})

#: parameters that only shape the result
_INCLUDES = ("_include", "_revinclude")
RESULT_PARAMS = frozenset(
    {
        "_sort", "_count", "_offset", "_total", "_summary", "_elements", "_include",
        "_revinclude", "_contained", "_containedType", "_type", "_cursor",
    }
)  # fmt: skip
#: HTTP-level parameters that never affect a search
IGNORED_PARAMS = frozenset({"_format", "_pretty"})


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds that protect the engines; exceeding one is an :class:`InvalidSearch`."""

    max_chain_depth: int = 4
    max_params: int = 64
    max_or_values: int = 100
    max_count: int = 1000
    default_count: int | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.max_chain_depth <= 8:
            raise ValueError("max_chain_depth must be between 1 and 8")


_UNSORTABLE = (ParamType.COMPOSITE, ParamType.SPECIAL)
#: the value of ``name=``: an empty value, the parameter is ignored
_EMPTY = (("",),)


@dataclass
class Binder:
    """Binds one query; ``strict=False`` ignores unknown parameters and records them."""

    registry: Registry
    limits: Limits = field(default_factory=Limits)
    strict: bool = True
    ignored: list[str] = field(default_factory=list)

    # -- entry ----------------------------------------------------------------------------------
    def bind(self, raw: RawQuery) -> ir.Query:
        rtype = raw.resource_type
        if rtype is not None:
            self._check_type(rtype, None)
        if len(raw.params) > self.limits.max_params:
            raise InvalidSearch(
                f"too many parameters ({len(raw.params)} > {self.limits.max_params})"
            )
        result: dict[str, RawParam] = {}
        predicates: list[ir.Predicate] = []
        for param in raw.params:
            if isinstance(param, RawFilter):
                predicates.append(self._filter(rtype, param))
                continue
            base = param.name.links[0].name if isinstance(param.name, RawChain) else "_has"
            if base in IGNORED_PARAMS:
                continue
            if len(param.values) > self.limits.max_or_values:
                raise InvalidSearch(
                    f"too many OR values ({len(param.values)} > {self.limits.max_or_values})",
                    parameter=param.text,
                    position=param.value_pos,
                )
            if param.values[0] == _EMPTY and all(v == _EMPTY for v in param.values):
                continue  # an empty value: the parameter is ignored
            if base in RESULT_PARAMS:
                self._check_result_param(base, param)
                if base in result and base not in ("_include", "_revinclude"):
                    raise InvalidSearch(
                        f"{base} given twice", parameter=param.text, position=param.pos
                    )
                result.setdefault(base, param)
                if base in ("_include", "_revinclude"):
                    result[f"{base}#{param.pos}"] = param
                continue
            bound = self._param(rtype, param)
            if bound is not None:
                predicates.append(bound)
        if not result:  # the common case: no result parameters
            return ir.Query(rtype, _and(predicates), count=self.limits.default_count)
        types = self._types(result.get("_type"), rtype)
        return ir.Query(
            resource_type=rtype,
            where=_and(predicates),
            types=types,
            sort=self._sort(rtype, result.get("_sort")),
            count=self._int(result.get("_count"), self.limits.max_count, self.limits.default_count),
            offset=self._int(result.get("_offset"), None, None),
            total=self._enum(result.get("_total"), ir.TotalMode),
            summary=self._enum(result.get("_summary"), ir.Summary),
            elements=self._elements(result.get("_elements")),
            include=self._includes(rtype, result),
            contained=self._contained(result.get("_contained")),
            cursor=self._cursor(result.get("_cursor")),
        )

    @staticmethod
    def _check_result_param(base: str, raw: RawParam) -> None:
        assert isinstance(raw.name, RawChain)
        links = raw.name.links
        if base == "_containedType":
            raise InvalidSearch(
                "_containedType is not supported", parameter=raw.text, position=raw.pos,
                not_supported=True,
            )  # fmt: skip
        if len(links) > 1 or (links[0].modifier is not None and base not in _INCLUDES):
            raise InvalidSearch(
                f"{base} takes no modifier and cannot be chained",
                parameter=raw.text,
                position=links[1].pos if len(links) > 1 else raw.pos,
            )

    # -- search parameters ----------------------------------------------------------------------
    def _param(self, rtype: str | None, raw: RawParam) -> ir.Predicate | None:
        try:
            if isinstance(raw.name, RawHas):
                return self._has(rtype, raw.name, raw, depth=1)
            return self._chain(rtype, raw.name.links, raw, depth=0)
        except _Unknown as unknown:
            if self.strict:
                raise InvalidSearch(
                    str(unknown), parameter=raw.text, position=unknown.position
                ) from None
            self.ignored.append(raw.text)
            return None

    def _lookup(self, rtype: str | None, link: Link) -> SearchParam:
        if rtype is None:
            param = self.registry.get("Resource", link.name) or self.registry.get(
                "DomainResource", link.name
            )
        else:
            param = self.registry.get(rtype, link.name)
        if param is None:
            where = rtype or "every resource type"
            raise _Unknown(f"unknown search parameter {link.name!r} for {where}", link.pos)
        return param

    def _chain(
        self, rtype: str | None, links: tuple[Link, ...], raw: RawParam, depth: int
    ) -> ir.Predicate:
        link = links[0]
        if link.name in ("_text", "_content"):
            return self._text(link, raw)
        if link.name == "_list":
            return self._list(link, raw)
        param = self._lookup(rtype, link)
        if len(links) == 1:
            return self._leaf(param, link, raw)
        if depth + 1 > self.limits.max_chain_depth:
            raise InvalidSearch(
                f"chain deeper than {self.limits.max_chain_depth} links",
                parameter=raw.text,
                position=link.pos,
            )
        if param.type is not ParamType.REFERENCE:
            raise InvalidSearch(
                f"cannot chain through {param.code!r}: it is a {param.type.value} parameter, "
                "not a reference",
                parameter=raw.text,
                position=link.pos,
            )
        targets = self._chain_targets(param, link, links[1], raw)
        return fan_out(param.code, targets, lambda t: self._chain(t, links[1:], raw, depth + 1))

    def _chain_targets(
        self, param: SearchParam, link: Link, nxt: Link, raw: RawParam
    ) -> tuple[str, ...]:
        """The types a chain step leads to: its ``:Type`` modifier, else every target type of
        ``param`` that defines the next parameter (sorted); none is an unknown parameter."""
        if link.modifier is not None:
            self._check_type(link.modifier, raw)
            if param.targets and link.modifier not in param.targets:
                raise InvalidSearch(
                    f"{param.code!r} cannot reference {link.modifier} "
                    f"(targets: {', '.join(param.targets)})",
                    parameter=raw.text,
                    position=link.pos,
                )
            return (link.modifier,)
        special = nxt.name in ("_id", "_lastUpdated", "_tag", "_profile", "_security", "_text")
        candidates = sorted(
            {t for t in param.targets if special or self.registry.get(t, nxt.name) is not None}
        )
        if not candidates:  # an unknown parameter (lenient handling ignores it)
            raise _Unknown(
                f"no resource type that {param.code!r} can reference has a parameter {nxt.name!r}",
                nxt.pos,
            )
        return tuple(candidates)

    def _has(self, rtype: str | None, has: RawHas, raw: RawParam, depth: int) -> ir.Predicate:
        if rtype is None:
            raise InvalidSearch("_has needs a resource type", parameter=raw.text, position=has.pos)
        if depth > self.limits.max_chain_depth:
            raise InvalidSearch(
                f"_has nested deeper than {self.limits.max_chain_depth}",
                parameter=raw.text,
                position=has.pos,
            )
        self._check_type(has.source_type, raw)
        ref = self.registry.get(has.source_type, has.param)
        if ref is None or ref.type is not ParamType.REFERENCE:
            raise InvalidSearch(
                f"{has.source_type} has no reference parameter {has.param!r}",
                parameter=raw.text,
                position=has.pos,
            )
        if ref.targets and rtype not in ref.targets:
            raise InvalidSearch(
                f"{has.source_type}.{has.param} cannot reference {rtype}",
                parameter=raw.text,
                position=has.pos,
            )
        if isinstance(has.inner, RawHas):
            inner = self._has(has.source_type, has.inner, raw, depth + 1)
        else:
            inner = self._chain(has.source_type, has.inner.links, raw, depth)
        return ir.Has(has.source_type, has.param, inner)

    def _leaf(self, param: SearchParam, link: Link, raw: RawParam) -> ir.Predicate:
        modifier = link.modifier
        if modifier is not None:
            if modifier == "missing":
                return self._missing(param, raw)
            if modifier[:1].isupper():
                if param.type is not ParamType.REFERENCE:
                    raise InvalidSearch(
                        f"a type modifier :{modifier} only applies to reference parameters",
                        parameter=raw.text,
                        position=link.pos,
                    )
                self._check_type(modifier, raw)
            elif modifier not in MODIFIERS[param.type]:
                raise InvalidSearch(
                    f"modifier :{modifier} cannot be used on {param.type.value} parameter "
                    f"{param.code!r}",
                    parameter=raw.text,
                    position=link.pos,
                    not_supported=modifier in NOT_SUPPORTED_MODIFIERS,
                )
        if param.type is ParamType.SPECIAL or param.expression is None:
            raise InvalidSearch(
                f"{param.type.value} parameter {param.code!r} is not supported",
                parameter=raw.text,
                position=link.pos,
                not_supported=True,
            )
        if param.code == "_id" and modifier not in (None, "not"):
            raise InvalidSearch(
                f"modifier :{modifier} cannot be used on _id",
                parameter=raw.text,
                position=link.pos,
            )
        if modifier == "text-advanced":
            return ir.Text(ir.TextKind.ADVANCED, parse_text(self._plain(raw)), param.code)
        negate = modifier == "not"
        if negate:
            modifier = None
        values = raw.values
        if len(values) == 1:  # the usual case: one value, no Or
            predicate = self._value(param, modifier, values[0], raw)
        else:
            predicate = _or([self._value(param, modifier, value, raw) for value in values])
        return ir.Not(predicate) if negate else predicate

    def _value(
        self,
        param: SearchParam,
        modifier: str | None,
        value: tuple[tuple[str, ...], ...],
        raw: RawParam,
    ) -> ir.Predicate:
        try:
            if param.type is ParamType.COMPOSITE:
                return self._composite(param, value)
            if param.code == "_id":
                return ir.TokenMatch("_id", ir.TokenOp.EQ, None, _text_of(value))
            parts = value[0] if len(value) == 1 else _literal_dollars(value)
            return parse_value(param.type, param.code, modifier, parts)
        except ValueError as exc:
            raise InvalidSearch(
                f"bad value for {param.code!r}: {exc}", parameter=raw.text, position=raw.value_pos
            ) from None

    def _composite(self, param: SearchParam, value: tuple[tuple[str, ...], ...]) -> ir.Predicate:
        if len(value) != len(param.components):
            raise ValueError(
                f"composite {param.code!r} takes {len(param.components)} '$'-separated values"
            )
        predicates = []
        for i, (component, parts) in enumerate(zip(param.components, value, strict=True)):
            target = self.registry.component_param(param.resource_type, component)
            if target is None:
                raise ValueError(f"component {component.definition} is not defined")
            predicates.append(parse_value(target.type, f"{param.code}${i}", None, parts))
        return ir.Composite(param.code, tuple(predicates))

    def _missing(self, param: SearchParam, raw: RawParam) -> ir.Predicate:
        texts = [_text_of(v) for v in raw.values]
        if texts not in (["true"], ["false"]):
            raise InvalidSearch(
                ":missing takes true or false", parameter=raw.text, position=raw.value_pos
            )
        return ir.Missing(param.code, param.type.value, texts == ["true"])

    def _text(self, link: Link, raw: RawParam) -> ir.Predicate:
        if link.modifier is not None:
            raise InvalidSearch(
                f"{link.name} takes no modifier", parameter=raw.text, position=link.pos
            )
        kind = ir.TextKind.NARRATIVE if link.name == "_text" else ir.TextKind.CONTENT
        return _or([ir.Text(kind, parse_text(_text_of(v))) for v in raw.values])

    def _list(self, link: Link, raw: RawParam) -> ir.Predicate:
        """``_list=id``: members of List/id, i.e. ``_has:List:item:_id=id``."""
        if link.modifier is not None:
            raise InvalidSearch("_list takes no modifier", parameter=raw.text, position=link.pos)
        ids = [_text_of(v) for v in raw.values]
        where = _or([ir.TokenMatch("_id", ir.TokenOp.EQ, None, i) for i in ids])
        return ir.Has("List", "item", where)

    def _filter(self, rtype: str | None, raw: RawFilter) -> ir.Predicate:
        from helios_persistence.parsing.filter import parse_filter

        if rtype is None:
            raise InvalidSearch(
                "_filter needs a resource type", parameter="_filter", position=raw.pos
            )
        return parse_filter(raw.text, rtype, self, offset=raw.pos)

    @staticmethod
    def _plain(raw: RawParam) -> str:
        return ",".join(_text_of(v) for v in raw.values)

    # -- result parameters ----------------------------------------------------------------------
    def _check_type(self, name: str, raw: RawParam | None, position: int | None = None) -> None:
        if name not in self.registry.resource_types:
            raise InvalidSearch(
                f"unknown resource type {name!r}",
                parameter=raw.text if raw else None,
                position=position if position is not None else raw.pos if raw else 0,
            )

    def _types(self, raw: RawParam | None, rtype: str | None) -> tuple[str, ...]:
        if raw is None:
            return ()
        if rtype is not None:
            raise InvalidSearch(
                "_type is for system-level searches", parameter=raw.text, position=raw.pos
            )
        names = tuple(t for t in (_text_of(v) for v in raw.values) if t)
        for name in names:
            self._check_type(name, raw, raw.value_pos)
        return names

    def _sort(self, rtype: str | None, raw: RawParam | None) -> tuple[ir.SortKey, ...]:
        if raw is None:
            return ()
        keys = []
        for value in raw.values:
            text = _text_of(value)
            descending = text.startswith("-")
            code = text[1:] if descending else text
            if code in ("_id", "_lastUpdated"):
                keys.append(ir.SortKey(code, "token" if code == "_id" else "date", descending))
                continue
            param = self.registry.get(rtype or "Resource", code) if code else None
            if param is None or param.expression is None or param.type in _UNSORTABLE:
                raise InvalidSearch(
                    f"cannot sort by {code!r}", parameter="_sort", position=raw.value_pos
                )
            keys.append(ir.SortKey(code, param.type.value, descending))
        return tuple(keys)

    @staticmethod
    def _int(raw: RawParam | None, maximum: int | None, default: int | None) -> int | None:
        if raw is None:
            return default
        text = ",".join(_text_of(v) for v in raw.values)
        if not (text.isascii() and text.isdigit()):
            raise InvalidSearch(
                f"{raw.text} must be a whole number ≥ 0, not {text!r}",
                parameter=raw.text,
                position=raw.value_pos,
            )
        if len(text.lstrip("0")) > 18:  # beyond a 64-bit integer in every engine
            raise InvalidSearch(
                f"{raw.text} is too large", parameter=raw.text, position=raw.value_pos
            )
        number = int(text)
        if maximum is not None and number > maximum:
            raise InvalidSearch(
                f"{raw.text}={number} is over the limit of {maximum}",
                parameter=raw.text,
                position=raw.value_pos,
            )
        return number

    @staticmethod
    def _enum(raw: RawParam | None, kind: type[_E]) -> _E | None:
        if raw is None:
            return None
        text = ",".join(_text_of(v) for v in raw.values)
        try:
            return kind(text)
        except ValueError:
            allowed = ", ".join(str(m.value) for m in kind)
            raise InvalidSearch(
                f"{raw.text} must be one of {allowed}", parameter=raw.text, position=raw.value_pos
            ) from None

    @staticmethod
    def _elements(raw: RawParam | None) -> tuple[str, ...]:
        if raw is None:
            return ()
        return tuple(t for t in (_text_of(v) for v in raw.values) if t)

    @staticmethod
    def _cursor(raw: RawParam | None) -> str | None:
        """``_cursor``: the keyset position of a next page (issued in ``SearchResult.next``)."""
        if raw is None:
            return None
        if len(raw.values) != 1:
            raise InvalidSearch(
                "_cursor takes one value", parameter=raw.text, position=raw.value_pos
            )
        return _text_of(raw.values[0]) or None

    @staticmethod
    def _contained(raw: RawParam | None) -> str | None:
        if raw is None:
            return None
        text = ",".join(_text_of(v) for v in raw.values)
        if text not in ("true", "false", "both"):
            raise InvalidSearch(
                "_contained must be true, false or both",
                parameter=raw.text,
                position=raw.value_pos,
            )
        return text

    def _includes(self, rtype: str | None, result: dict[str, RawParam]) -> tuple[ir.Include, ...]:
        out = []
        for key, raw in result.items():
            if "#" not in key:
                continue
            link = raw.name.links[0] if isinstance(raw.name, RawChain) else None
            modifier = link.modifier if link else None
            if modifier not in (None, "iterate", "recurse"):
                raise InvalidSearch(
                    f"{raw.text}: only :iterate is allowed", parameter=raw.text, position=raw.pos
                )
            reverse = key.startswith("_revinclude")
            for value in raw.values:
                out.append(self._include(rtype, _text_of(value), raw, modifier, reverse))
        return tuple(out)

    def _include(
        self, rtype: str | None, text: str, raw: RawParam, modifier: str | None, reverse: bool
    ) -> ir.Include:
        """One ``_include``/``_revinclude`` value. A source type other than the searched one
        is not an error: without ``:iterate`` the include applies to the matches only, so it
        includes nothing (R4 #include; as HAPI answers)."""
        iterate = modifier is not None
        if text == "*":
            return ir.Include(rtype or "*", "*", None, iterate, reverse)
        pieces = text.split(":")
        if len(pieces) not in (2, 3):
            raise InvalidSearch(
                f"{raw.text} takes SourceType:parameter[:TargetType], not {text!r}",
                parameter=raw.text,
                position=raw.value_pos,
            )
        source, code = pieces[0], pieces[1]
        target = pieces[2] if len(pieces) == 3 else None
        self._check_type(source, raw, raw.value_pos)
        if target is not None:
            self._check_type(target, raw, raw.value_pos)
        if code != "*":
            param = self.registry.get(source, code)
            if param is None or param.type is not ParamType.REFERENCE:
                raise InvalidSearch(
                    f"{source} has no reference parameter {code!r}",
                    parameter=raw.text,
                    position=raw.value_pos,
                )
            if target is not None and param.targets and target not in param.targets:
                raise InvalidSearch(
                    f"{source}.{code} cannot reference {target}",
                    parameter=raw.text,
                    position=raw.value_pos,
                )
        return ir.Include(source, code, target, iterate, reverse)


class _Unknown(Exception):
    """An unknown parameter name (an error when strict, ignored when lenient)."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(message)
        self.position = position


def _text_of(value: tuple[tuple[str, ...], ...]) -> str:
    """A value as one literal text: ``|`` and ``$`` are separators only where a type says so."""
    if len(value) == 1 and len(value[0]) == 1:
        return value[0][0]
    return "$".join("|".join(c) for c in value)


def _literal_dollars(value: tuple[tuple[str, ...], ...]) -> tuple[str, ...]:
    """The ``|``-parts of a non-composite value, where ``$`` is literal text:
    ``s|a$b`` is (``s``, ``a$b``), not (``s|a$b``,)."""
    if len(value) == 1:
        return value[0]
    parts = list(value[0])
    for component in value[1:]:
        parts[-1] += "$" + component[0]
        parts.extend(component[1:])
    return tuple(parts)


def fan_out(
    param: str, targets: tuple[str, ...], bind_rest: Callable[[str], ir.Predicate]
) -> ir.Predicate:
    """The chain through ``param`` to each of ``targets``, the rest bound per type by
    ``bind_rest``. Types where the rest binds alike share one :class:`ir.Chain` (the usual
    case: ``subject.name`` is a string on Patient and on Location); types where it binds
    differently get their own, under an :class:`ir.Or`; types where it does not bind (the
    value or modifier does not suit the parameter there) are left out. If it binds nowhere,
    the first type's error is raised."""
    groups: dict[ir.Predicate, list[str]] = {}
    first_error: Exception | None = None
    for target in targets:
        try:
            where = bind_rest(target)
        except (InvalidSearch, _Unknown) as exc:
            if len(targets) == 1:
                raise
            first_error = first_error or exc
            continue
        groups.setdefault(where, []).append(target)
    if not groups:
        assert first_error is not None
        raise first_error
    return _or([ir.Chain(param, tuple(types), where) for where, types in groups.items()])


def _and(predicates: list[ir.Predicate]) -> ir.Predicate | None:
    if not predicates:
        return None
    flat: list[ir.Predicate] = []
    for p in predicates:
        flat.extend(p.children if isinstance(p, ir.And) else (p,))
    return flat[0] if len(flat) == 1 else ir.And(tuple(flat))


def _or(predicates: list[ir.Predicate]) -> ir.Predicate:
    flat: list[ir.Predicate] = []
    for p in predicates:
        flat.extend(p.children if isinstance(p, ir.Or) else (p,))
    return flat[0] if len(flat) == 1 else ir.Or(tuple(flat))
