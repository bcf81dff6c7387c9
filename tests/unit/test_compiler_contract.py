"""The compiler contract: what a dialect declares it supports is exactly what compiles.

Every conformance query (and every query of the snapshot set) is parsed and compiled on every
dialect; ``supports()`` must be true exactly when compiling raises no
``UnsupportedInDialect``. Support is checked when a compiler class is defined.
"""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
import sqlglot.expressions as exp

import helios_persistence as hp
from helios_persistence import ir
from helios_persistence.compilers import DIALECTS, get_compiler
from helios_persistence.compilers.base import PREDICATES, BaseCompiler
from helios_persistence.compilers.sql import SQLCompiler
from helios_persistence.conformance.cases import load_cases
from helios_persistence.errors import InvalidSearch, UnsupportedInDialect

try:
    from tests.unit.test_compile_snapshots import QUERIES
except ImportError:  # plain `pytest`: tests/ itself is on sys.path
    from unit.test_compile_snapshots import QUERIES  # type: ignore[no-redef]


def _queries() -> list[str]:
    found = {c.query for c in load_cases()} | set(QUERIES.values())
    return sorted(found)


def _bound(text: str) -> ir.Query | None:
    try:
        return hp.parse(text)
    except InvalidSearch:
        return None


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
def test_supports_is_what_compiles(dialect: str) -> None:
    compiler = get_compiler(dialect)
    checked = refused = 0
    for text in _queries():
        query = _bound(text)
        if query is None:
            continue
        lowered = compiler.lower(query)
        declared = compiler.supports(lowered)
        try:
            compiler.compile(lowered)
            compiled = True
        except UnsupportedInDialect:
            compiled = False
        assert declared == compiled, f"{dialect}: supports()={declared} for {text}"
        checked += 1
        refused += not compiled
    assert checked > 300
    assert refused < checked


def test_a_bare_sql_dialect_supports_no_full_text() -> None:
    class Bare(SQLCompiler):
        dialect: ClassVar[str] = "sqlite"

    text = hp.parse("Patient?_text=cardiac")
    assert not Bare.supports_node(ir.Text)
    assert not Bare.supports(text)
    with pytest.raises(UnsupportedInDialect, match="Text"):
        Bare().compile(text)


def test_finer_limits_are_declared() -> None:
    sqlite = get_compiler("sqlite")
    has = ir.Query(  # the binder refuses it, so build it as another front end could
        None, ir.Has("Observation", "subject", ir.TokenMatch("status", ir.TokenOp.EQ, None, "x"))
    )
    assert sqlite.unsupported_reason(has) == "_has in a search across types"
    above = ir.Query(
        "Observation", ir.ReferenceMatch("subject", ir.ReferenceOp.ABOVE, None, None, "http://x")
    )
    assert sqlite.unsupported_reason(above) == "reference :above"
    sort = ir.Query("Observation", None, sort=(ir.SortKey("combo", "composite"),))
    assert sqlite.unsupported_reason(sort) == "_sort on a composite parameter"
    for query in (has, above, sort):
        with pytest.raises(UnsupportedInDialect):
            sqlite.compile(query)


def test_a_handler_for_a_declared_unsupported_node_is_an_error() -> None:
    with pytest.raises(TypeError, match="declares Terminology unsupported"):

        class Confused(SQLCompiler):
            UNSUPPORTED: ClassVar[frozenset[type[ir.Node]]] = frozenset({ir.Terminology})

            def visit_Terminology(self, node: ir.Terminology, scope: Any) -> exp.Expr:
                return exp.true()


def test_every_predicate_is_handled_or_declared() -> None:
    class Nothing(BaseCompiler):
        dialect: ClassVar[str] = "nothing"

    assert Nothing.support_matrix() == {t.__name__: False for t in PREDICATES}
    for dialect in DIALECTS:
        compiler = get_compiler(dialect)
        for node_type in PREDICATES:
            handler = getattr(compiler, f"visit_{node_type.__name__}")
            assert compiler.supports_node(node_type) != getattr(handler, "undefined", False)
