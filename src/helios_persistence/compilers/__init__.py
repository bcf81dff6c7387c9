"""Dialect compilers: one module and one class per dialect."""

from __future__ import annotations

from importlib import import_module

from helios_persistence import ir
from helios_persistence.compilers.base import BaseCompiler, Compiled

__all__ = ["DIALECTS", "BaseCompiler", "Compiled", "compile", "get_compiler"]

#: dialect name → module (each module exposes ``compiler``)
DIALECTS = {
    "sqlite": "helios_persistence.compilers.sqlite",
    "postgres": "helios_persistence.compilers.postgres",
}


def get_compiler(dialect: str) -> BaseCompiler:
    """The compiler singleton of ``dialect``."""
    try:
        module = DIALECTS[dialect]
    except KeyError:
        known = ", ".join(sorted(DIALECTS))
        raise ValueError(f"unknown dialect {dialect!r} (known: {known})") from None
    compiler: BaseCompiler = import_module(module).compiler
    return compiler


def compile(query: ir.Query, dialect: str = "sqlite") -> Compiled:
    """Compile ``query`` for ``dialect``: ``.text`` + ``.params`` (SQL, Cypher) or ``.body``."""
    return get_compiler(dialect).compile(query)
