"""The first page of one type read through one index subquery (``compilers.sql_driven``): the
page's ids are the outer loop and SQLite sorts nothing else for them, whichever way it reads
the driver (in id order, or by value and then sorted), and the page is the plain statement's."""

from __future__ import annotations

from typing import Any

import apsw
import pytest

from helios_persistence.compilers.sqlite import SQLiteCompiler
from helios_persistence.generator import generate
from helios_persistence.pipeline import bind
from helios_persistence.tenancy import TenantContext

#: driven pages: a string prefix (read by value), a system|code token (in id order), a
#: reference of a _has (a joined driver), a quantity comparison with an offset
QUERIES = [
    "Patient?name=mar&_count=5",
    "Patient?name=a&_count=5",
    "Observation?code=http://loinc.org|8867-4&_count=5",
    "Patient?_has:Condition:patient:code=http://snomed.info/sct|44054006&_count=5",
    "Observation?value-quantity=gt100&_count=5&_offset=3",
    "Observation?subject:Patient.name=smith&_count=5",
]


class _Plain(SQLiteCompiler):
    """The same lowering with the page statement every other dialect writes."""

    DRIVEN_PAGE = False


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from helios_persistence.store_urls import open_store

    path = tmp_path_factory.mktemp("plan") / "store.db"
    ctx = TenantContext.for_tenant("acme")
    with open_store(f"sqlite:///{path}") as store:
        store.bulk_load(ctx, generate(patients=60, seed=7))
    conn = apsw.Connection(str(path), flags=apsw.SQLITE_OPEN_READONLY)
    yield conn
    conn.close()


def _statement(compiler: SQLiteCompiler, query: str) -> tuple[str, dict[str, Any]]:
    compiled = compiler.compile(compiler.lower(bind(query)))
    return compiled.text, {**compiled.params, "tenant": "acme"}


@pytest.mark.parametrize("query", QUERIES)
def test_driven_page_sorts_nothing_after_its_ids(loaded: apsw.Connection, query: str) -> None:
    text, params = _statement(SQLiteCompiler(), query)
    assert "CROSS JOIN" in text, "the page's ids drive the page"
    plan = [(row[1], row[3]) for row in loaded.execute("EXPLAIN QUERY PLAN " + text, params)]
    top = [detail for parent, detail in plan if parent == 0 and detail != "CO-ROUTINE d"]
    assert top[0] == "SCAN d" and top[1].startswith("SEARCH r "), plan
    assert not any("FOR ORDER BY" in detail for detail in top), plan  # (d's order kept)
    temporary = [detail for _, detail in plan if "TEMP B-TREE" in detail]
    assert len(temporary) <= 1, plan  # at most the driver's own DISTINCT sort


@pytest.mark.parametrize("query", QUERIES)
def test_driven_page_is_the_plain_page(loaded: apsw.Connection, query: str) -> None:
    driven, plain = (_statement(c, query) for c in (SQLiteCompiler(), _Plain()))
    rows = [list(loaded.execute(*statement)) for statement in (driven, plain)]
    assert rows[0] == rows[1]
    assert rows[0], "each query finds resources in the generated data"
