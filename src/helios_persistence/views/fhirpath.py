"""The FHIRPath of ViewDefinitions: a small AST parsed with fhirpathpy's grammar.

fhirpathpy ships the official FHIRPath ANTLR grammar; it is used here strictly (syntax errors
raise, the whole text must be consumed) and its parse tree is turned into the few frozen
nodes below, which :mod:`helios_persistence.views.lower` lowers to SQL. Everything the
grammar accepts parses; what the lowering does not support is rejected there, by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any

from helios_persistence.errors import InvalidViewDefinition

__all__ = [
    "Binary",
    "Call",
    "Constant",
    "Empty",
    "Index",
    "Literal",
    "Member",
    "Node",
    "This",
    "TypeOp",
    "Unary",
    "parse",
]


class Node:
    """Base of the FHIRPath nodes."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class This(Node):
    """``$this``, or the implicit input of a path."""


@dataclass(frozen=True, slots=True)
class Empty(Node):
    """``{}``, the empty collection."""


@dataclass(frozen=True, slots=True)
class Literal(Node):
    """A literal: ``type`` is string, boolean, integer, decimal, date, dateTime, time, Quantity."""

    value: Any
    type: str


@dataclass(frozen=True, slots=True)
class Constant(Node):
    """``%name``: a ViewDefinition constant, or ``%rowIndex``, ``%resource``, ``%context``."""

    name: str


@dataclass(frozen=True, slots=True)
class Member(Node):
    """``base.name`` (``base`` is :class:`This` for a leading name)."""

    base: Node
    name: str


@dataclass(frozen=True, slots=True)
class Call(Node):
    """``base.name(args...)``."""

    base: Node
    name: str
    args: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Index(Node):
    """``base[index]``."""

    base: Node
    index: Node


@dataclass(frozen=True, slots=True)
class Binary(Node):
    """``left op right`` for every binary operator (``and``, ``=``, ``+``, ``|``, ...)."""

    op: str
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Unary(Node):
    """``-x`` / ``+x``."""

    op: str
    operand: Node


@dataclass(frozen=True, slots=True)
class TypeOp(Node):
    """``x is T`` / ``x as T``."""

    op: str
    operand: Node
    type: str


@lru_cache(maxsize=2048)
def parse(text: str, where: str = "path") -> Node:
    """Parse ``text``; a syntax error raises :class:`InvalidViewDefinition` naming ``where``."""
    from antlr4 import CommonTokenStream, InputStream, Token
    from antlr4.error.ErrorListener import ErrorListener
    from fhirpathpy.parser.generated.FHIRPathLexer import FHIRPathLexer
    from fhirpathpy.parser.generated.FHIRPathParser import FHIRPathParser

    class Raise(ErrorListener):  # type: ignore[misc]
        def syntaxError(
            self, recognizer: Any, symbol: Any, line: int, column: int, msg: str, e: Any
        ) -> None:
            raise ValueError(f"column {column}: {msg}")

    if not isinstance(text, str) or not text.strip():
        raise InvalidViewDefinition(f"{where}: a FHIRPath expression must be a non-empty string")
    try:
        lexer = FHIRPathLexer(InputStream(text))
        lexer.removeErrorListeners()
        lexer.addErrorListener(Raise())
        parser = FHIRPathParser(CommonTokenStream(lexer))
        parser.removeErrorListeners()
        parser.addErrorListener(Raise())
        tree = parser.expression()
        if parser.getCurrentToken().type != Token.EOF:
            raise ValueError(f"unexpected {parser.getCurrentToken().text!r}")
    except ValueError as exc:
        raise InvalidViewDefinition(
            f"{where}: {text!r} is not valid FHIRPath ({exc})", expression=where
        ) from None
    return _Builder(where).build(tree)


def _identifier(ctx: Any) -> str:
    text: str = ctx.getText()
    if text.startswith("`") and text.endswith("`"):
        return text[1:-1]
    return text


def _string(token: str) -> str:
    body = token[1:-1]
    escapes = {"'": "'", '"': '"', "`": "`", "\\": "\\", "/": "/", "f": "\f", "n": "\n"}
    escapes |= {"r": "\r", "t": "\t"}
    out: list[str] = []
    i = 0
    while i < len(body):
        char = body[i]
        if char == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if nxt == "u" and i + 5 < len(body):
                out.append(chr(int(body[i + 2 : i + 6], 16)))
                i += 6
                continue
            out.append(escapes.get(nxt, nxt))
            i += 2
            continue
        out.append(char)
        i += 1
    return "".join(out)


class _Builder:
    """Turns the ANTLR parse tree into :class:`Node` objects.

    One dispatch: each parse-tree context class (expression, term, invocation or literal
    alternative of the grammar) has a ``ctx_<ClassName>`` method taking the context and the
    node its invocation applies to; a class without one is an unsupported construct.
    """

    def __init__(self, where: str) -> None:
        self.where = where

    def build(self, ctx: Any, base: Node | None = None) -> Node:
        name = type(ctx).__name__.removesuffix("Context")
        method = getattr(self, f"ctx_{name}", None)
        if method is None:
            raise InvalidViewDefinition(
                f"{self.where}: unsupported FHIRPath {ctx.getText()!r}", expression=self.where
            )
        node: Node = method(ctx, This() if base is None else base)
        return node

    # -- expressions -----------------------------------------------------------------------
    def ctx_TermExpression(self, ctx: Any, base: Node) -> Node:
        return self.build(ctx.term(), base)

    def ctx_InvocationExpression(self, ctx: Any, base: Node) -> Node:
        return self.build(ctx.invocation(), self.build(ctx.expression()))

    def ctx_IndexerExpression(self, ctx: Any, base: Node) -> Node:
        return Index(self.build(ctx.expression(0)), self.build(ctx.expression(1)))

    def ctx_PolarityExpression(self, ctx: Any, base: Node) -> Node:
        return Unary(ctx.getChild(0).getText(), self.build(ctx.expression()))

    def ctx_TypeExpression(self, ctx: Any, base: Node) -> Node:
        type_name = ctx.typeSpecifier().getText()
        return TypeOp(ctx.getChild(1).getText(), self.build(ctx.expression()), type_name)

    def binary(self, ctx: Any, base: Node) -> Node:
        """``expression OP expression``: every other expression alternative."""
        op = ctx.getChild(1).getText()
        return Binary(op, self.build(ctx.expression(0)), self.build(ctx.expression(1)))

    ctx_MultiplicativeExpression = ctx_AdditiveExpression = ctx_UnionExpression = binary
    ctx_InequalityExpression = ctx_EqualityExpression = ctx_MembershipExpression = binary
    ctx_AndExpression = ctx_OrExpression = ctx_ImpliesExpression = binary

    # -- terms -----------------------------------------------------------------------------
    def ctx_InvocationTerm(self, ctx: Any, base: Node) -> Node:
        return self.build(ctx.invocation(), base)

    def ctx_LiteralTerm(self, ctx: Any, base: Node) -> Node:
        return self.build(ctx.literal(), base)

    def ctx_ExternalConstantTerm(self, ctx: Any, base: Node) -> Node:
        const = ctx.externalConstant()
        if const.identifier() is not None:
            return Constant(_identifier(const.identifier()))
        return Constant(_string(const.STRING().getText()))

    def ctx_ParenthesizedTerm(self, ctx: Any, base: Node) -> Node:
        return self.build(ctx.expression())

    # -- invocations -----------------------------------------------------------------------
    def ctx_MemberInvocation(self, ctx: Any, base: Node) -> Node:
        return Member(base, _identifier(ctx.identifier()))

    def ctx_FunctionInvocation(self, ctx: Any, base: Node) -> Node:
        fn = ctx.functn()
        params = fn.paramList()
        args = tuple(self.build(e) for e in params.expression()) if params else ()
        return Call(base, _identifier(fn.identifier()), args)

    def ctx_ThisInvocation(self, ctx: Any, base: Node) -> Node:
        return This()

    def not_in_views(self, ctx: Any, base: Node) -> Node:
        raise InvalidViewDefinition(
            f"{self.where}: {ctx.getText()} is not supported in ViewDefinitions",
            expression=self.where,
        )

    ctx_IndexInvocation = ctx_TotalInvocation = not_in_views

    # -- literals --------------------------------------------------------------------------
    def ctx_NullLiteral(self, ctx: Any, base: Node) -> Node:
        return Empty()

    def ctx_BooleanLiteral(self, ctx: Any, base: Node) -> Node:
        return Literal(ctx.getText() == "true", "boolean")

    def ctx_StringLiteral(self, ctx: Any, base: Node) -> Node:
        return Literal(_string(ctx.getText()), "string")

    def ctx_NumberLiteral(self, ctx: Any, base: Node) -> Node:
        text = ctx.getText()
        if "." in text:
            return Literal(Decimal(text), "decimal")
        return Literal(int(text), "integer")

    def ctx_DateTimeLiteral(self, ctx: Any, base: Node) -> Node:
        value = ctx.getText()[1:]
        return Literal(value, "dateTime" if "T" in value else "date")

    def ctx_TimeLiteral(self, ctx: Any, base: Node) -> Node:
        return Literal(ctx.getText()[2:], "time")

    def ctx_QuantityLiteral(self, ctx: Any, base: Node) -> Node:
        quantity = ctx.quantity()
        unit = quantity.unit().getText() if quantity.unit() else "'1'"
        quoted = unit.startswith("'")
        number = Decimal(quantity.NUMBER().getText())
        return Literal((number, _string(unit) if quoted else unit, quoted), "Quantity")
