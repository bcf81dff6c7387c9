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
    return _Builder(FHIRPathParser, where).expression(tree)


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
    """Turns the ANTLR parse tree into :class:`Node` objects."""

    def __init__(self, parser: Any, where: str) -> None:
        self.p = parser
        self.where = where

    def expression(self, ctx: Any) -> Node:
        p = self.p
        if isinstance(ctx, p.TermExpressionContext):
            return self.term(ctx.term(), This())
        if isinstance(ctx, p.InvocationExpressionContext):
            return self.invocation(ctx.invocation(), self.expression(ctx.expression()))
        if isinstance(ctx, p.IndexerExpressionContext):
            return Index(self.expression(ctx.expression(0)), self.expression(ctx.expression(1)))
        if isinstance(ctx, p.PolarityExpressionContext):
            return Unary(ctx.getChild(0).getText(), self.expression(ctx.expression()))
        if isinstance(ctx, p.TypeExpressionContext):
            type_name = ctx.typeSpecifier().getText()
            return TypeOp(ctx.getChild(1).getText(), self.expression(ctx.expression()), type_name)
        # every other alternative is `expression OP expression`
        op = ctx.getChild(1).getText()
        return Binary(op, self.expression(ctx.expression(0)), self.expression(ctx.expression(1)))

    def term(self, ctx: Any, base: Node) -> Node:
        p = self.p
        if isinstance(ctx, p.InvocationTermContext):
            return self.invocation(ctx.invocation(), base)
        if isinstance(ctx, p.LiteralTermContext):
            return self.literal(ctx.literal())
        if isinstance(ctx, p.ExternalConstantTermContext):
            const = ctx.externalConstant()
            if const.identifier() is not None:
                return Constant(_identifier(const.identifier()))
            return Constant(_string(const.STRING().getText()))
        if isinstance(ctx, p.ParenthesizedTermContext):
            return self.expression(ctx.expression())
        raise InvalidViewDefinition(f"{self.where}: unsupported term {ctx.getText()!r}")

    def invocation(self, ctx: Any, base: Node) -> Node:
        p = self.p
        if isinstance(ctx, p.MemberInvocationContext):
            return Member(base, _identifier(ctx.identifier()))
        if isinstance(ctx, p.FunctionInvocationContext):
            fn = ctx.functn()
            params = fn.paramList()
            args = tuple(self.expression(e) for e in params.expression()) if params else ()
            return Call(base, _identifier(fn.identifier()), args)
        if isinstance(ctx, p.ThisInvocationContext):
            return This()
        name = ctx.getText()  # $index, $total
        raise InvalidViewDefinition(
            f"{self.where}: {name} is not supported in ViewDefinitions", expression=self.where
        )

    def literal(self, ctx: Any) -> Node:
        p = self.p
        text = ctx.getText()
        if isinstance(ctx, p.NullLiteralContext):
            return Empty()
        if isinstance(ctx, p.BooleanLiteralContext):
            return Literal(text == "true", "boolean")
        if isinstance(ctx, p.StringLiteralContext):
            return Literal(_string(text), "string")
        if isinstance(ctx, p.NumberLiteralContext):
            if "." in text:
                return Literal(Decimal(text), "decimal")
            return Literal(int(text), "integer")
        if isinstance(ctx, p.DateTimeLiteralContext):
            value = text[1:]
            return Literal(value, "dateTime" if "T" in value else "date")
        if isinstance(ctx, p.TimeLiteralContext):
            return Literal(text[2:], "time")
        if isinstance(ctx, p.QuantityLiteralContext):
            quantity = ctx.quantity()
            unit = quantity.unit().getText() if quantity.unit() else "'1'"
            quoted = unit.startswith("'")
            number = Decimal(quantity.NUMBER().getText())
            return Literal((number, _string(unit) if quoted else unit, quoted), "Quantity")
        raise InvalidViewDefinition(f"{self.where}: unsupported literal {text!r}")
