"""FHIRPath functions of the ViewDefinition subset, one small lowering each (``FUNCTIONS``).

The required SQL-on-FHIR functions (``getResourceKey()``, ``getReferenceKey([type])``), the
shareable-profile subset (``where``, ``exists``, ``empty``, ``first``, ``join``, ``ofType``,
``extension(url)``, ``not``, ``lowBoundary``/``highBoundary``) and a few cheap, common ones
(``last``, ``count``, ``iif``, ``hasValue``, ``as``/``is``, string helpers). Any other
function is an error naming it (:meth:`Lowerer.visit_Call`).

Keys: ``getResourceKey()`` is the resource ``id``; ``getReferenceKey(T)`` is the id part of a
relative literal reference ``T/id`` (``Type/id/_history/v`` too), empty when the reference is
of another type or not a relative literal (absolute URLs with a ``/Type/id`` tail are read
the same way; ``#contained`` and logical references give empty).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from sqlglot import exp

from helios_persistence.views import fhirpath as fp
from helios_persistence.views.lower import Coll, Lowerer

__all__ = ["FUNCTIONS"]

Handler = Callable[[Lowerer, fp.Call, Coll], Coll]
FUNCTIONS: dict[str, Handler] = {}


def _fn(*names: str, arity: tuple[int, ...] = (0,)) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        def checked(lw: Lowerer, node: fp.Call, ctx: Coll) -> Coll:
            if len(node.args) not in arity:
                expected = " or ".join(str(a) for a in arity)
                raise lw.fail(f"{node.name}() takes {expected} argument(s), not {len(node.args)}")
            return handler(lw, node, ctx)

        for name in names:
            FUNCTIONS[name] = checked
        return handler

    return register


def _bool(value: exp.Expr) -> Coll:
    return Coll(value, "sql", "boolean")


def _type_name(lw: Lowerer, node: fp.Node) -> str:
    if isinstance(node, fp.Member) and isinstance(node.base, fp.This):
        return node.name
    if isinstance(node, fp.Member) and isinstance(node.base, fp.Member):  # FHIR.Quantity
        return node.name
    raise lw.fail("expected a type name")


@_fn("where", arity=(1,))
def _where(lw: Lowerer, node: fp.Call, ctx: Coll) -> Coll:
    base = lw.lower(node.base, ctx)
    cond = lw.boolean(lw.lower(node.args[0], lw.item(base)))
    return lw.filter(base, cond)


@_fn("exists", arity=(0, 1))
def _exists(lw: Lowerer, node: fp.Call, ctx: Coll) -> Coll:
    base = _where(lw, node, ctx) if node.args else lw.lower(node.base, ctx)
    return _bool(lw.exists(base))


@_fn("empty")
def _empty(lw: Lowerer, node: fp.Call, ctx: Coll) -> Coll:
    return _bool(exp.not_(lw.exists(lw.lower(node.base, ctx))))


@_fn("hasValue")
def _has_value(lw: Lowerer, node: fp.Call, ctx: Coll) -> Coll:
    return _bool(lw.exists(lw.lower(node.base, ctx)))


@_fn("not")
def _not(lw: Lowerer, node: fp.Call, ctx: Coll) -> Coll:
    return _bool(exp.not_(lw.boolean(lw.lower(node.base, ctx))))


@_fn("first")
def _first(lw: Lowerer, node: fp.Call, ctx: Coll) -> Coll:
    return lw.scalar(lw.lower(node.base, ctx))


@_fn("last")
def _last(lw: Lowerer, node: fp.Call, ctx: Coll) -> Coll:
    return lw.scalar(lw.lower(node.base, ctx), desc=True)


@_fn("single")
def _single(lw: Lowerer, node: fp.Call, ctx: Coll) -> Coll:
    return lw.scalar(lw.lower(node.base, ctx))


@_fn("count")
def _count(lw: Lowerer, node: fp.Call, ctx: Coll) -> Coll:
    return Coll(lw.count(lw.lower(node.base, ctx)), "sql", "integer")


@_fn("join", arity=(0, 1))
def _join(lw: Lowerer, node: fp.Call, ctx: Coll) -> Coll:
    base = lw.lower(node.base, ctx)
    sep = lw.typed(lw.lower(node.args[0], ctx), "text") if node.args else lw.bind("")
    return Coll(lw.join(base, sep), "sql", "string")


@_fn("ofType", "as", arity=(1,))
def _of_type(lw: Lowerer, node: fp.Call, ctx: Coll) -> Coll:
    return lw.of_type(node.base, _type_name(lw, node.args[0]), ctx)


@_fn("is", arity=(1,))
def _is(lw: Lowerer, node: fp.Call, ctx: Coll) -> Coll:
    return _bool(lw.exists(lw.of_type(node.base, _type_name(lw, node.args[0]), ctx)))


@_fn("extension", arity=(1,))
def _extension(lw: Lowerer, node: fp.Call, ctx: Coll) -> Coll:
    base = lw.lower(node.base, ctx)
    extensions = lw.member(base, "extension")
    url = lw.typed(lw.lower(node.args[0], ctx), "text")
    cond = exp.EQ(this=lw.d.op("text", lw.d.get(extensions.value, "url")), expression=url)
    return lw.filter(extensions, cond)


@_fn("union", "combine", arity=(1,))
def _union(lw: Lowerer, node: fp.Call, ctx: Coll) -> Coll:
    left = lw.lower(node.base, ctx)
    right = lw.lower(node.args[0], ctx)
    return lw.union(left, right, distinct=node.name == "union")


@_fn("iif", arity=(2, 3))
def _iif(lw: Lowerer, node: fp.Call, ctx: Coll) -> Coll:
    cond = lw.boolean(lw.lower(node.args[0], ctx))
    then = lw.scalar(lw.lower(node.args[1], ctx))
    other = lw.scalar(lw.lower(node.args[2], ctx)) if len(node.args) == 3 else None
    if other is not None and then.kind != other.kind:
        then, other = (Coll(lw.as_json(c), "json", c.type, c.type_key) for c in (then, other))
    value = exp.Case(
        ifs=[exp.If(this=cond, true=then.value)], default=other.value if other is not None else None
    )
    return replace(then, value=value)


@_fn("getResourceKey")
def _resource_key(lw: Lowerer, node: fp.Call, ctx: Coll) -> Coll:
    return Coll(lw.d.op("text", lw.d.get(lw.root.value, "id")), "sql", "id")


@_fn("getReferenceKey", arity=(0, 1))
def _reference_key(lw: Lowerer, node: fp.Call, ctx: Coll) -> Coll:
    refs = lw.member(lw.lower(node.base, ctx), "reference")
    ref = lw.typed(lw.item(refs), "text")
    # Type/id/_history/v -> Type/id
    history = lw.d.op("strpos", ref, exp.Literal.string("/_history/"))
    plain = exp.Case(
        ifs=[
            exp.If(
                this=exp.GT(this=history, expression=exp.Literal.number(0)),
                true=exp.Substring(
                    this=ref.copy(),
                    start=exp.Literal.number(1),
                    length=exp.Sub(this=history.copy(), expression=exp.Literal.number(1)),
                ),
            )
        ],
        default=ref.copy(),
    )
    key = lw.d.op("last_segment", plain)
    kind = lw.d.op("before_last_segment", plain)
    relative = exp.and_(
        lw.d.op("contains_text", plain, exp.Literal.string("/")),
        exp.NEQ(
            this=exp.Substring(
                this=plain.copy(), start=exp.Literal.number(1), length=exp.Literal.number(1)
            ),
            expression=exp.Literal.string("#"),
        ),
    )
    cond = relative
    if node.args:
        cond = exp.and_(cond, exp.EQ(this=kind, expression=lw.bind(_type_name(lw, node.args[0]))))
    value = exp.Case(ifs=[exp.If(this=cond, true=key)])
    keys = replace(refs, value=value, kind="sql", type="string", type_key=None, source=None)
    return lw.scalar(keys)


def _text_fn(
    name: str,
    build: Callable[[Lowerer, exp.Expr, list[Coll]], exp.Expr],
    result: str,
    arity: tuple[int, ...] = (0,),
) -> None:
    def handler(lw: Lowerer, node: fp.Call, ctx: Coll) -> Coll:
        base = lw.scalar(lw.lower(node.base, ctx))
        args = [lw.lower(a, ctx) for a in node.args]
        return Coll(build(lw, lw.typed(base, "text"), args), "sql", result)

    _fn(name, arity=arity)(handler)


_text_fn("lower", lambda lw, s, a: exp.Lower(this=s), "string")
_text_fn("upper", lambda lw, s, a: exp.Upper(this=s), "string")
_text_fn("length", lambda lw, s, a: exp.Length(this=s), "integer")
_text_fn("toString", lambda lw, s, a: s, "string")
_text_fn("trim", lambda lw, s, a: exp.Trim(this=s), "string")
_text_fn(
    "startsWith",
    lambda lw, s, a: exp.EQ(
        this=exp.Substring(
            this=s, start=exp.Literal.number(1), length=exp.Length(this=lw.typed(a[0], "text"))
        ),
        expression=lw.typed(a[0], "text"),
    ),
    "boolean",
    (1,),
)
_text_fn(
    "contains",
    lambda lw, s, a: lw.d.op("contains_text", s, lw.typed(a[0], "text")),
    "boolean",
    (1,),
)


@_fn("lowBoundary", "highBoundary", arity=(0,))
def _boundary(lw: Lowerer, node: fp.Call, ctx: Coll) -> Coll:
    from helios_persistence.views.boundaries import boundary

    return boundary(lw, lw.scalar(lw.lower(node.base, ctx)), high=node.name == "highBoundary")
