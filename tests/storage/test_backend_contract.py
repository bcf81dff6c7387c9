"""Every store satisfies the backend seam: its records and writer modules are
:class:`~helios_persistence.storage.backend.Records` and ``IndexWriter``, its sessions' connection
is a ``Transaction``, and it names a dialect compiler from the engine table."""

from __future__ import annotations

import inspect
from typing import Any

from helios_persistence.compilers import get_compiler
from helios_persistence.storage.backend import IndexWriter, Records, Transaction
from helios_persistence.tenancy import TenantContext


def _shape(function: Any, skip: int) -> tuple[int, set[str]]:
    """How many positional parameters (after the first ``skip``) and which keyword-only."""
    params = list(inspect.signature(function).parameters.values())[skip:]
    positional = [p for p in params if p.kind is p.POSITIONAL_OR_KEYWORD]
    return len(positional), {p.name for p in params if p.kind is p.KEYWORD_ONLY}


def test_the_seam(store: Any) -> None:
    assert isinstance(store._records, Records)
    assert isinstance(store._writer, IndexWriter)
    for protocol, implementation in ((Records, store._records), (IndexWriter, store._writer)):
        names = [n for n in vars(protocol) if not n.startswith("_")]
        assert names
        for name in names:
            positional, keywords = _shape(getattr(protocol, name), 1)  # without self
            got_positional, got_keywords = _shape(getattr(implementation, name), 0)
            assert got_positional == positional and keywords <= got_keywords, name
    assert get_compiler(store.compiler.dialect) is store.compiler
    with store.read_session(TenantContext.for_tenant("seam")) as s:
        assert isinstance(s.conn, Transaction) and s.conn.tenant == s.tenant
    with store.write_session(TenantContext.for_tenant("seam")) as s:
        assert isinstance(s.conn, Transaction)
