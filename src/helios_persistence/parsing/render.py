"""IR → the canonical FHIR search string, such that ``parse(render(q)) == q``.

The canonical form:

* ``Type?`` then the predicates, then the result parameters in a fixed order (``_type``,
  ``_sort``, ``_count``, ``_offset``, ``_total``, ``_summary``, ``_elements``,
  ``_contained``, each ``_include``/``_revinclude`` in order, ``_cursor``). A system-level
  search starts with ``?``.
* A top-level :class:`~ir.And` becomes one parameter per child (repeated names are AND).
  A predicate with a plain-parameter form is written that way: an :class:`~ir.Or` of leaves
  of one parameter and modifier is a comma list; :class:`~ir.Not` of tokens is ``:not``;
  chains always name their type (``subject:Patient.name``); ``_has:``; composites join their
  components with ``$``; ``Has(List, item, _id …)`` is ``_list``; a chain over several
  types (the binder's fan-out) is written without a type (``subject.name``) and checked by
  reading it back. Equality prefixes are left out (``date=2020``); quantities always write
  both ``|`` (``5.4||mg``); literal references with a version use ``Type/id/_history/v``.
* Anything else (an Or across parameters, Not of a non-token, nesting) is a ``_filter``.
* Values are escaped for FHIR (``\\`` ``\\,`` ``\\|`` ``\\$``) and then percent-encoded:
  everything but ASCII letters, digits and ``-._~/:,|$\\@!'()*;`` is encoded, so ``&``,
  ``=``, ``%``, ``#``, ``+`` (a form decoder would read it as a space), spaces, quotes and
  non-ASCII text travel safely through any HTTP stack. The parser decodes exactly once.

What has **no** query-string form raises :class:`Unrenderable` (a ``ValueError``). Every IR
the binder builds renders, with these structural limits of ``_filter`` that matter only for
IR built by hand, outside plain-parameter positions (inside an Or across parameters, a Not
of a non-token, or a chain of such): ``_filter`` has no ``:exact``, ``:text``,
``:of-type``, ``:identifier``, uri ``:above``, ``_has``, composites, ``_text``/``_content``/
``:text-advanced``, no type modifier on chains (the next parameter name must pick the
type), and cannot write a ``|`` inside a token, quantity or reference part.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import quote

from helios_persistence import ir
from helios_persistence.parsing.bind import Binder
from helios_persistence.parsing.filter import SYSTEM_ALIASES
from helios_persistence.parsing.syntax import Link, RawChain, RawParam
from helios_persistence.registry import ParamType, Registry, default_registry

__all__ = ["Unrenderable", "render"]

#: characters left as they are in names and values (besides ASCII letters, digits, "-._~")
_SAFE = "/:,|$\\@!'()*;"
#: a bare (unquoted) value in _filter: filter.lark's TOKEN
_FILTER_TOKEN = re.compile(r'[^\s()\[\]"]+')


#: _filter operators of the string and terminology matches
_STRING_OPS = {
    ir.StringOp.EQUALS: "eq",
    ir.StringOp.CONTAINS: "co",
    ir.StringOp.STARTS: "sw",
    ir.StringOp.ENDS: "ew",
}
_TERMINOLOGY_OPS = {
    ir.TerminologyOp.IN: "in",
    ir.TerminologyOp.NOT_IN: "ni",
    ir.TerminologyOp.ABOVE: "ss",
    ir.TerminologyOp.BELOW: "sb",
}


class Unrenderable(ValueError):
    """The IR node has no FHIR query-string form (it was not built by the parser)."""


def render(query: ir.Query, *, registry: Registry | None = None) -> str:
    """The canonical query string of ``query`` (percent-encoded; ``parse`` reads it back).

    ``registry`` (default: the R4 one) is needed to check that a chain written in
    ``_filter`` leads to the same resource type."""
    return _Renderer(registry or default_registry()).query(query)


def _pct(text: str) -> str:
    return quote(text, safe=_SAFE)


def _esc(text: str) -> str:
    """FHIR search escaping of one literal part of a value."""
    if not any(c in text for c in "\\,|$"):
        return text
    return text.replace("\\", "\\\\").replace(",", "\\,").replace("|", "\\|").replace("$", "\\$")


class _Renderer:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    # -- the query ------------------------------------------------------------------------------
    def query(self, q: ir.Query) -> str:
        rtype = q.resource_type
        params: list[str] = []
        where = q.where
        children = (
            where.children if isinstance(where, ir.And) else () if where is None else (where,)
        )
        for child in children:
            params.append(self.top(child, rtype))
        if q.types:
            if rtype is not None:
                raise Unrenderable("_type is only for system-level searches")
            params.append("_type=" + ",".join(_pct(_esc(t)) for t in q.types))
        if q.sort:
            keys = ",".join(("-" if k.descending else "") + k.param for k in q.sort)
            params.append("_sort=" + _pct(keys))
        if q.count is not None:
            params.append(f"_count={q.count}")
        if q.offset is not None:
            params.append(f"_offset={q.offset}")
        if q.total is not None:
            params.append(f"_total={q.total.value}")
        if q.summary is not None:
            params.append(f"_summary={q.summary.value}")
        if q.elements:
            if not all(q.elements):
                raise Unrenderable("an empty _elements entry")
            params.append("_elements=" + ",".join(_pct(_esc(e)) for e in q.elements))
        if q.contained is not None:
            params.append(f"_contained={_pct(q.contained)}")
        for inc in q.include:
            name = "_revinclude" if inc.reverse else "_include"
            if inc.iterate:
                name += ":iterate"
            if inc.source_type == "*" and inc.param == "*" and inc.target_type is None:
                value = "*"
            else:
                value = f"{inc.source_type}:{inc.param}"
                if inc.target_type is not None:
                    value += f":{inc.target_type}"
            params.append(f"{name}={_pct(value)}")
        if q.cursor is not None:
            if not q.cursor:
                raise Unrenderable("an empty _cursor")
            params.append("_cursor=" + _pct(_esc(q.cursor)))
        return (rtype or "") + "?" + "&".join(params)

    def top(self, predicate: ir.Predicate, rtype: str | None) -> str:
        """One top-level predicate as ``name=value``, or as ``_filter=...``."""
        form = self.param_form(predicate)
        if form is not None and any(form[1]):
            name, values = form
            text = f"{name}={_pct(','.join(values))}"
            if not _has_fan_out(predicate) or self.reads_back(f"{rtype or ''}?{text}", predicate):
                return text
        if rtype is None:
            raise Unrenderable(f"{predicate} needs _filter, which needs a resource type")
        return "_filter=" + _pct(self.filter(predicate, rtype))

    # -- plain parameters ---------------------------------------------------------------------
    def param_form(self, p: ir.Predicate) -> tuple[str, list[str]] | None:
        """``(name, escaped values)`` when ``p`` is one search parameter, else None."""
        if isinstance(p, ir.Or) and all(isinstance(c, ir.Chain) for c in p.children):
            return self.fan_out_form(p.children)  # type: ignore[arg-type]
        if isinstance(p, ir.Or):
            forms = [self.leaf_form(c) for c in p.children]
            first = forms[0]
            if first is None or any(f is None or f[0] != first[0] for f in forms):
                return None
            return first[0], [f[1] for f in forms if f is not None]
        if isinstance(p, ir.Not):
            child = p.child
            alternatives = child.children if isinstance(child, ir.Or) else (child,)
            if not all(_is_plain_token(c) for c in alternatives):
                return None
            params = {c.param for c in alternatives if isinstance(c, ir.TokenMatch)}
            if len(params) != 1:
                return None
            return f"{params.pop()}:not", [self.value(c) for c in alternatives]
        if isinstance(p, ir.Chain):
            if len(p.target_types) > 1:
                return self.fan_out_form((p,))
            inner = self.param_form(p.where)
            if inner is None or inner[0].startswith("_has:"):
                return None
            return f"{p.param}:{p.target_types[0]}.{inner[0]}", inner[1]
        if isinstance(p, ir.Has):
            ids = _list_ids(p)
            if ids is not None:
                return "_list", [_esc(i) for i in ids]
            inner = self.param_form(p.where)
            if inner is None:
                return None
            return f"_has:{p.source_type}:{p.param}:{inner[0]}", inner[1]
        if isinstance(p, ir.Missing):
            return f"{p.param}:missing", ["true" if p.missing else "false"]
        if isinstance(p, ir.Text) and p.kind is ir.TextKind.ADVANCED:
            if p.param is None:
                raise Unrenderable(":text-advanced needs a parameter")
            return f"{p.param}:text-advanced", [_esc(p.query.source)]
        form = self.leaf_form(p)
        return None if form is None else (form[0], [form[1]])

    def fan_out_form(self, chains: tuple[ir.Chain, ...]) -> tuple[str, list[str]] | None:
        """``param.next=...`` without a type: the form of a chain the binder fanned out over
        several target types (checked by reading it back, in :meth:`top`)."""
        forms = [self.param_form(c.where) for c in chains]
        first = forms[0]
        if (
            first is None
            or first[0].startswith("_has:")
            or any(c.param != chains[0].param for c in chains)
            or any(f != first for f in forms)
        ):
            return None
        return f"{chains[0].param}.{first[0]}", first[1]

    def reads_back(self, query: str, predicate: ir.Predicate) -> bool:
        """Whether ``query`` (one parameter) parses to exactly ``predicate``."""
        from helios_persistence.parsing import parse

        try:
            return parse(query, registry=self.registry).where == predicate
        except ValueError:  # InvalidSearch
            return False

    def leaf_form(self, p: ir.Predicate) -> tuple[str, str] | None:
        """``(name, escaped value)`` of a predicate that can be one value of an OR list."""
        if isinstance(p, ir.Text):
            if p.kind is ir.TextKind.ADVANCED:
                return None
            return p.kind.value, _esc(p.query.source)
        if isinstance(p, ir.Composite):
            return p.param, "$".join(self.value(c) for c in p.components)
        modifier = _modifier(p)
        if modifier is None:
            return None
        param = getattr(p, "param", None)
        assert isinstance(param, str)
        return param + modifier, self.value(p)

    def value(self, p: ir.Predicate) -> str:
        """One value of a leaf predicate, FHIR-escaped (not yet percent-encoded)."""
        if isinstance(p, ir.StringMatch | ir.UriMatch):
            return _esc(p.value)
        if isinstance(p, ir.TokenMatch):
            if p.op is ir.TokenOp.TEXT:
                return _esc(p.value or "")
            if p.op is ir.TokenOp.OF_TYPE:
                return "|".join(_esc(x or "") for x in (p.system, p.code, p.value))
            if p.system is None:
                if p.code is None:
                    raise Unrenderable("a token with neither system nor code")
                return _esc(p.code)
            return f"{_esc(p.system)}|{_esc(p.code or '')}"
        if isinstance(p, ir.DateMatch):
            return _prefix(p.prefix) + p.text
        if isinstance(p, ir.NumberMatch):
            return _prefix(p.prefix) + str(p.value)
        if isinstance(p, ir.QuantityMatch):
            text = _prefix(p.prefix) + str(p.value)
            if p.system is None and p.code is None:
                return text
            return f"{text}|{_esc(p.system or '')}|{_esc(p.code or '')}"
        if isinstance(p, ir.ReferenceMatch):
            return _reference(p, _esc)
        if isinstance(p, ir.Terminology):
            if p.op in (ir.TerminologyOp.IN, ir.TerminologyOp.NOT_IN):
                if p.system is not None:
                    raise Unrenderable(f":{p.op.value} takes a ValueSet URL, not system|code")
                return _esc(p.code)
            return (f"{_esc(p.system)}|" if p.system is not None else "") + _esc(p.code)
        raise Unrenderable(f"{type(p).__name__} is not a parameter value")

    # -- _filter --------------------------------------------------------------------------------
    def filter(self, p: ir.Predicate, rtype: str) -> str:
        if isinstance(p, ir.And | ir.Or):
            word = " and " if isinstance(p, ir.And) else " or "
            parts = []
            children, i = p.children, 0
            while i < len(children):
                child = children[i]
                if isinstance(child, type(p)):
                    raise Unrenderable(f"nested {type(p).__name__} is flattened by _filter")
                if isinstance(p, ir.Or) and isinstance(child, ir.Chain):
                    text, used = self.filter_chains(children, i, rtype)
                    parts.append(text)
                    i += used
                    continue
                text = self.filter(child, rtype)
                parts.append(f"({text})" if isinstance(child, ir.And | ir.Or) else text)
                i += 1
            return word.join(parts)
        if isinstance(p, ir.Not) and not _is_ne(p.child):
            return f"not({self.filter(p.child, rtype)})"
        path, op, value = self.comparison(p, rtype)
        return f"{path} {op} {value}"

    def filter_chains(
        self, siblings: tuple[ir.Predicate, ...], i: int, rtype: str
    ) -> tuple[str, int]:
        """The _filter comparison for the chain ``siblings[i]`` of an Or, and how many
        siblings it stands for: a chain the binder fanned out over target types that bind
        differently is several Chains side by side (checked by reading the text back)."""
        from helios_persistence.parsing.filter import parse_filter

        chain = siblings[i]
        path, op, value = self.comparison(chain, rtype, check=False)
        text = f"{path} {op} {value}"
        try:
            lowered = parse_filter(text, rtype, Binder(self.registry))
        except ValueError:  # InvalidSearch
            lowered = None
        chains = lowered.children if isinstance(lowered, ir.Or) else (lowered,)
        if tuple(siblings[i : i + len(chains)]) != chains:
            raise Unrenderable(f"_filter cannot say which types {chain} leads to")
        return text, len(chains)

    def comparison(
        self, p: ir.Predicate, rtype: str, *, check: bool = True
    ) -> tuple[str, str, str]:
        """``(path, operator, value)`` of a predicate that is one _filter comparison
        (``check``: that a chain's first step leads to its types; see :meth:`check_target`)."""
        if isinstance(p, ir.Chain):
            param = self.registry.get(rtype, p.param)
            if param is None or param.type is not ParamType.REFERENCE:
                raise Unrenderable(f"{rtype} has no reference parameter {p.param!r}")
            where = p.where
            target = p.target_types[0]  # the rest of the chain is the same for every type
            bracket = ""
            if isinstance(where, ir.And) and len(where.children) == 2:
                first = where.children[0]
                bracket = f"[{self.filter(first, target)}]"
                if check:
                    self.check_target(param, p.target_types, _first_param(first))
                where = where.children[1]
            path, op, value = self.comparison(where, target)
            if check and not bracket:
                self.check_target(param, p.target_types, path.split(".")[0].split("[")[0])
            return f"{p.param}{bracket}.{path}", op, value
        if isinstance(p, ir.Not):
            if not _is_ne(p.child):
                raise Unrenderable(f"{p} is not one _filter comparison")
            path, _, value = self.comparison(p.child, rtype)
            return path, "ne", value
        if isinstance(p, ir.Missing):
            return p.param, "pr", "false" if p.missing else "true"
        if isinstance(p, ir.StringMatch):
            if p.op not in _STRING_OPS:
                raise Unrenderable("_filter has no :exact")
            return p.param, _STRING_OPS[p.op], _quoted(p.value)
        if isinstance(p, ir.TokenMatch):
            if p.op is not ir.TokenOp.EQ:
                raise Unrenderable(f"_filter has no :{p.op.value}")
            if p.param == "_id":
                return p.param, "eq", _fvalue(p.code or "")
            return p.param, "eq", _fvalue(_raw_token(p))
        if isinstance(p, ir.DateMatch):
            return p.param, p.prefix.value, _fvalue(p.text)
        if isinstance(p, ir.NumberMatch):
            return p.param, p.prefix.value, _fvalue(str(p.value))
        if isinstance(p, ir.QuantityMatch):
            text = str(p.value)
            if p.system is not None or p.code is not None:
                text += "|" + _filter_system(p.system or "") + "|" + _unpiped(p.code or "")
            return p.param, p.prefix.value, _fvalue(text)
        if isinstance(p, ir.ReferenceMatch):
            if p.op is not ir.ReferenceOp.EQ:
                raise Unrenderable(f"_filter has no reference :{p.op.value}")
            for part in (p.url, p.id, p.target_type, p.version):
                _unpiped(part or "")
            return p.param, "eq", _fvalue(_reference(p, _same))
        if isinstance(p, ir.UriMatch):
            if p.op is ir.UriOp.ABOVE:
                raise Unrenderable("_filter has no uri :above")
            return p.param, "sw" if p.op is ir.UriOp.BELOW else "eq", _fvalue(p.value)
        if isinstance(p, ir.Terminology):
            if p.op in (ir.TerminologyOp.IN, ir.TerminologyOp.NOT_IN):
                if p.system is not None:
                    raise Unrenderable(f":{p.op.value} takes a ValueSet URL, not system|code")
                return p.param, _TERMINOLOGY_OPS[p.op], _fvalue(p.code)
            system = "" if p.system is None else _filter_system(p.system) + "|"
            text = system + _unpiped(p.code)
            return p.param, _TERMINOLOGY_OPS[p.op], _fvalue(text)
        raise Unrenderable(f"{type(p).__name__} has no _filter form")

    def check_target(self, param: object, targets: tuple[str, ...], next_name: str) -> None:
        """_filter cannot name a chain's types: the next parameter must imply them (every
        target type of the reference that has it)."""
        binder = Binder(self.registry)
        link = Link(getattr(param, "code", ""), None, 0)
        raw = RawParam(RawChain((link,)), (), link.name, 0, 0)
        try:
            found = binder._chain_targets(param, link, Link(next_name, None, 0), raw)  # type: ignore[arg-type]
        except Exception:  # InvalidSearch, or an unknown parameter
            found = None
        if found != targets:
            raise Unrenderable(
                f"_filter cannot say that {link.name} leads to {', '.join(targets)} "
                f"({next_name!r} does not imply it)"
            )


def _has_fan_out(p: ir.Node) -> bool:
    """Whether ``p`` holds a chain over several target types (written without a type)."""
    if isinstance(p, ir.Chain) and len(p.target_types) > 1:
        return True
    if isinstance(p, ir.Or) and any(isinstance(c, ir.Chain) for c in p.children):
        return True
    return any(_has_fan_out(c) for c in ir.children(p))


def _raw_token(p: ir.TokenMatch) -> str:
    if p.system is None:
        if p.code is None:
            raise Unrenderable("a token with neither system nor code")
        return _unpiped(p.code)
    return f"{_filter_system(p.system)}|{_unpiped(p.code or '')}"


def _filter_system(system: str) -> str:
    """A system in a _filter value, where ``loinc``, ``snomed``... are aliases."""
    if system in SYSTEM_ALIASES:
        raise Unrenderable(f"_filter reads the system {system!r} as an alias")
    return _unpiped(system)


def _same(text: str) -> str:
    return text


def _reference(p: ir.ReferenceMatch, esc: Callable[[str], str]) -> str:
    """A reference value: ``[Type/]id[/_history/v]``, ``url[|version]``, ``[system|]value``."""
    if p.op is ir.ReferenceOp.IDENTIFIER:
        if p.url is None:
            if not p.id:
                raise Unrenderable(":identifier needs a value")
            return esc(p.id)
        return f"{esc(p.url)}|{esc(p.id or '')}"
    if p.op is not ir.ReferenceOp.EQ:
        raise Unrenderable(f"reference :{p.op.value} has no search form")
    if p.url is not None:
        if p.id is not None or p.target_type is not None or not _is_url(p.url):
            raise Unrenderable(f"{p.url!r} would not be read back as a URL")
        text = esc(p.url)
    else:
        if not p.id or "/" in p.id or (p.target_type is not None and not p.target_type):
            raise Unrenderable(f"reference id {p.id!r} cannot be written")
        literal = f"{p.target_type}/{p.id}" if p.target_type else p.id
        if _is_url(literal) or (p.target_type and "/" in p.target_type):
            raise Unrenderable(f"{literal!r} would be read back as a URL")
        text = esc(literal)
        if p.version and p.target_type and "/" not in p.version:
            return f"{text}/_history/{esc(p.version)}"
    if p.version is not None:
        if not p.version:
            raise Unrenderable("an empty reference version")
        return f"{text}|{esc(p.version)}"
    return text


def _modifier(p: ir.Predicate) -> str | None:
    """The ``:modifier`` suffix of a leaf predicate ("" for none); None without a plain form."""
    if isinstance(p, ir.StringMatch):
        return {
            ir.StringOp.STARTS: "",
            ir.StringOp.EXACT: ":exact",
            ir.StringOp.CONTAINS: ":contains",
        }.get(p.op)
    if isinstance(p, ir.TokenMatch):
        return {ir.TokenOp.EQ: "", ir.TokenOp.TEXT: ":text", ir.TokenOp.OF_TYPE: ":of-type"}[p.op]
    if isinstance(p, ir.DateMatch | ir.NumberMatch | ir.QuantityMatch):
        return ""
    if isinstance(p, ir.ReferenceMatch):
        return {ir.ReferenceOp.EQ: "", ir.ReferenceOp.IDENTIFIER: ":identifier"}.get(p.op)
    if isinstance(p, ir.UriMatch):
        return "" if p.op is ir.UriOp.EQ else f":{p.op.value}"
    if isinstance(p, ir.Terminology):
        return f":{p.op.value}"
    return None


def _prefix(prefix: ir.Prefix) -> str:
    return "" if prefix is ir.Prefix.EQ else prefix.value


def _is_plain_token(p: ir.Predicate) -> bool:
    return isinstance(p, ir.TokenMatch) and p.op is ir.TokenOp.EQ


def _is_ne(p: ir.Predicate) -> bool:
    """Whether ``Not(p)`` is what ``_filter``'s ``ne`` builds for ``p``."""
    return (
        (isinstance(p, ir.StringMatch) and p.op is ir.StringOp.EQUALS)
        or _is_plain_token(p)
        or (isinstance(p, ir.ReferenceMatch) and p.op is ir.ReferenceOp.EQ)
        or (isinstance(p, ir.UriMatch) and p.op is ir.UriOp.EQ)
    )


def _is_url(text: str) -> bool:
    return "://" in text or text.startswith(("urn:", "#"))


def _list_ids(p: ir.Has) -> list[str] | None:
    """The ids of ``_list=...`` when ``p`` is what the binder builds for it."""
    if p.source_type != "List" or p.param != "item":
        return None
    where = p.where
    alternatives = where.children if isinstance(where, ir.Or) else (where,)
    ids = []
    for alt in alternatives:
        if not (
            isinstance(alt, ir.TokenMatch)
            and alt.param == "_id"
            and alt.op is ir.TokenOp.EQ
            and alt.system is None
            and alt.code is not None
            and alt.value is None
        ):
            return None
        ids.append(alt.code)
    return ids


def _first_param(p: ir.Predicate) -> str:
    while True:
        if isinstance(p, ir.And | ir.Or):
            p = p.children[0]
        elif isinstance(p, ir.Not):
            p = p.child
        else:
            param = getattr(p, "param", None)
            if not isinstance(param, str):
                raise Unrenderable(f"{type(p).__name__} has no _filter form")
            return param


def _unpiped(text: str) -> str:
    if "|" in text:
        raise Unrenderable(f"_filter cannot write a '|' inside {text!r}")
    return text


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _fvalue(text: str) -> str:
    """A _filter value: bare when filter.lark's TOKEN reads it whole, else quoted."""
    return text if _FILTER_TOKEN.fullmatch(text) else _quoted(text)
