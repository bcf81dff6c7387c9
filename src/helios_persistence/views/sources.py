"""Where a view reads its resources: a small protocol and the sources the library has.

A :class:`ViewSource` names its SQL dialect, the table it exposes (``resources`` with a
``type`` column and a ``json`` column, plus ``tenant``/``deleted`` for a store) and runs a
compiled view into a :class:`pyarrow.Table`. Anything with those three members plugs in —
an analytics export directory only has to expose its resources as such a DuckDB table.

* :class:`DuckDBSource` — a DuckDB connection and table: :meth:`DuckDBSource.from_resources`
  (a list of dicts), :meth:`DuckDBSource.from_ndjson` (an NDJSON file or a folder of
  ``*.ndjson`` files, read with ``read_json_objects``; DuckDB's built-in json extension is
  ``LOAD``ed, never installed).
* :class:`StoreSource` — a SQLite (JSON1) or PostgreSQL (jsonb) store and a tenant context:
  the view runs on the store's ``resources`` table in one read transaction.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import orjson

from helios_persistence.errors import InvalidViewDefinition
from helios_persistence.views.arrow import to_arrow

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

    from helios_persistence.tenancy import TenantContext
    from helios_persistence.views.view import CompiledView

__all__ = ["DuckDBSource", "SQLSource", "StoreSource", "ViewSource", "as_source"]

_TABLES = itertools.count(1)


@runtime_checkable
class ViewSource(Protocol):
    """What :func:`helios_persistence.views.run` needs from a source of resources."""

    dialect: str
    table: str
    #: True: the table has ``tenant`` and ``deleted`` columns (bind ``tenant``)
    tenant_scoped: bool

    def execute(self, compiled: CompiledView) -> pa.Table: ...


def _duckdb() -> Any:
    try:
        import duckdb
    except ImportError as exc:  # pragma: no cover - an optional extra
        raise InvalidViewDefinition(
            "views over NDJSON or resource lists need DuckDB: pip install "
            "'helios-persistence[analytics]'"
        ) from exc
    return duckdb


class DuckDBSource:
    """A DuckDB table ``(type VARCHAR, json JSON)`` of resources."""

    dialect = "duckdb"
    tenant_scoped = False

    def __init__(self, conn: duckdb.DuckDBPyConnection, table: str) -> None:
        self.conn = conn
        self.table = table

    @classmethod
    def connect(cls, conn: duckdb.DuckDBPyConnection | None = None) -> duckdb.DuckDBPyConnection:
        if conn is None:
            conn = _duckdb().connect()
        conn.execute("LOAD json")
        return conn

    @classmethod
    def from_resources(
        cls, resources: list[dict[str, Any]], conn: duckdb.DuckDBPyConnection | None = None
    ) -> DuckDBSource:
        import pyarrow as pa

        conn = cls.connect(conn)
        name = f"view_resources_{next(_TABLES)}"
        batch = pa.table(
            {
                "type": pa.array([r.get("resourceType") for r in resources], pa.string()),
                "json": pa.array([orjson.dumps(r).decode() for r in resources], pa.string()),
            }
        )
        conn.register(f"{name}_arrow", batch)
        conn.execute(
            f'CREATE TEMP TABLE "{name}" AS SELECT type, CAST(json AS JSON) AS json '
            f'FROM "{name}_arrow"'
        )
        conn.unregister(f"{name}_arrow")
        return cls(conn, name)

    @classmethod
    def from_ndjson(
        cls, path: str | Path, conn: duckdb.DuckDBPyConnection | None = None
    ) -> DuckDBSource:
        """Resources from an NDJSON file, or from every ``*.ndjson`` file of a folder."""
        conn = cls.connect(conn)
        path = Path(path)
        if path.is_dir():
            files = sorted(str(p) for p in path.rglob("*.ndjson"))
        elif path.is_file():
            files = [str(path)]
        else:
            raise InvalidViewDefinition(f"source {str(path)!r} is not a file or a folder")
        name = f"view_resources_{next(_TABLES)}"
        if not files:
            conn.execute(f'CREATE TEMP TABLE "{name}" (type VARCHAR, json JSON)')
            return cls(conn, name)
        conn.execute(
            f"CREATE TEMP TABLE \"{name}\" AS SELECT json ->> '$.resourceType' AS type, json "
            "FROM read_json_objects(?, format = 'newline_delimited')",
            [files],
        )
        return cls(conn, name)

    def execute(self, compiled: CompiledView) -> pa.Table:
        table = self.conn.sql(compiled.text, params=compiled.params).to_arrow_table()
        return to_arrow(compiled, table)


class SQLSource:
    """A plain table ``resources(type, json)`` on an apsw (SQLite) or psycopg (PostgreSQL)
    connection."""

    tenant_scoped = False

    def __init__(self, conn: Any, dialect: str, table: str = "resources") -> None:
        self.conn = conn
        self.dialect = dialect
        self.table = table

    def execute(self, compiled: CompiledView) -> pa.Table:
        return to_arrow(compiled, list(self.conn.execute(compiled.text, compiled.params)))


class StoreSource:
    """A SQLite or PostgreSQL store's current resources, seen through one tenant context."""

    tenant_scoped = True
    table = "resources"

    def __init__(self, store: Any, ctx: TenantContext) -> None:
        from helios_persistence.tenancy import TenantContext

        if not isinstance(ctx, TenantContext):
            raise TypeError("a TenantContext is required")
        self.store = store
        self.ctx = ctx
        kind = type(store).__name__.lower()
        if "sqlite" in kind:
            self.dialect = "sqlite"
        elif "postgres" in kind:
            self.dialect = "postgres"
        else:
            raise InvalidViewDefinition(f"views cannot run on a {type(store).__name__}")

    def execute(self, compiled: CompiledView) -> pa.Table:
        with self.store.read_session(self.ctx) as session:
            params = {**compiled.params, "tenant": session.tenant}
            rows = list(session.conn.execute(compiled.text, params))
        return to_arrow(compiled, rows)


def as_source(source: Any, ctx: TenantContext | None = None) -> ViewSource:
    """``source`` as a :class:`ViewSource`: a source, a list of resources, an NDJSON path, or
    a store (with ``ctx``)."""
    if isinstance(source, ViewSource):
        return source
    if isinstance(source, list | tuple):
        return DuckDBSource.from_resources(list(source))
    if isinstance(source, str | Path):
        text = str(source)
        if text.startswith("file://"):
            text = text[len("file://") :]
        return DuckDBSource.from_ndjson(text)
    if hasattr(source, "read_session"):
        if ctx is None:
            raise InvalidViewDefinition("a view over a store needs a TenantContext (ctx=...)")
        return StoreSource(source, ctx)
    raise InvalidViewDefinition(f"cannot read resources from a {type(source).__name__}")
