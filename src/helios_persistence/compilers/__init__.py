"""Dialect compilers: one module and one class per dialect."""

from __future__ import annotations

from importlib import import_module

from helios_persistence.compilers.base import BaseCompiler, Compiled
from helios_persistence.engines import engines

__all__ = ["ALIASES", "DIALECTS", "BaseCompiler", "Compiled", "get_compiler"]

#: dialect name → module (each module exposes ``compiler``), from the engine table
DIALECTS = {name: e.compiler for name, e in engines().items() if e.compiler is not None}
#: other names accepted for a dialect
ALIASES = {"postgresql": "postgres"}


def get_compiler(dialect: str) -> BaseCompiler:
    """The compiler singleton of ``dialect`` (or of one of its :data:`ALIASES`)."""
    try:
        module = DIALECTS[ALIASES.get(dialect, dialect)]
    except KeyError:
        known = ", ".join(sorted(DIALECTS) + [f"{a} (= {d})" for a, d in ALIASES.items()])
        raise ValueError(f"unknown dialect {dialect!r} (known: {known})") from None
    compiler: BaseCompiler = import_module(module).compiler
    return compiler
