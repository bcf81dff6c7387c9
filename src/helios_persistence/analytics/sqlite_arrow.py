"""Query results of a SQLite store's file as Arrow tables, through ADBC's SQLite driver
(``adbc-driver-sqlite``): the rows are read into Arrow buffers in C, without a Python object
per row (the bulk export reads ≈ 20 index and text rows per resource).

The driver infers a column's Arrow type from the values of each batch it makes, so a query
whose columns may hold NULLs is read as one batch (:data:`WHOLE`) and cast to its schema (a
column NULL throughout comes as int64). Parameters are bound as Arrow arrays built from their
bytes (``pa.array`` of Python values would import pandas, a second of start-up).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import Any

import pyarrow as pa

try:  # (an optional dependency of the analytics extra: without it, reads go through apsw)
    import adbc_driver_manager as _adbc
    import adbc_driver_sqlite as _adbc_sqlite
except ImportError:  # pragma: no cover - the analytics extra installs it
    _adbc = _adbc_sqlite = None  # type: ignore[assignment]

__all__ = ["WHOLE", "ArrowReadError", "SQLiteArrow", "available"]

#: rows per batch for a query read whole (the driver infers types per batch)
WHOLE = 1 << 30
_BATCH_ROWS = "adbc.sqlite.query.batch_rows"


class ArrowReadError(Exception):
    """The driver could not read a query (its values did not fit the types it inferred)."""


def available() -> bool:
    return _adbc is not None


def _param(value: Any) -> pa.Array:
    """A one-value Arrow array of ``value`` (str or int), from its bytes."""
    if isinstance(value, str):
        data = value.encode()
        offsets = pa.py_buffer(struct.pack("<2i", 0, len(data)))
        return pa.Array.from_buffers(pa.string(), 1, [None, offsets, pa.py_buffer(data)])
    if isinstance(value, int) and not isinstance(value, bool):
        return pa.Array.from_buffers(pa.int64(), 1, [None, pa.py_buffer(struct.pack("<q", value))])
    raise TypeError(f"cannot bind {type(value).__name__}")


class SQLiteArrow:
    """One ADBC connection to a SQLite file; :meth:`read` runs a query with bound
    parameters, :meth:`snapshot` holds one read transaction over several reads."""

    def __init__(self, path: str, busy_timeout_ms: int = 30_000) -> None:
        if _adbc is None:
            raise ArrowReadError("adbc-driver-sqlite is not installed")
        self._db = _adbc_sqlite.connect(path)
        try:
            self._conn = _adbc.AdbcConnection(self._db)
        except BaseException:
            self._db.close()
            raise
        self._run(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")

    def close(self) -> None:
        self._conn.close()
        self._db.close()

    def _run(self, sql: str) -> None:
        stmt = _adbc.AdbcStatement(self._conn)
        try:
            stmt.set_sql_query(sql)
            stmt.execute_update()
        finally:
            stmt.close()

    def begin(self) -> None:
        self._run("BEGIN")

    def end(self) -> None:
        self._run("COMMIT")

    def batches(
        self, sql: str, params: list[Any], batch_rows: int = WHOLE
    ) -> Iterator[pa.RecordBatch]:
        """The result's batches (of ``batch_rows`` rows; types inferred per batch)."""
        stmt = _adbc.AdbcStatement(self._conn)
        try:
            stmt.set_sql_query(sql)
            stmt.set_options(**{_BATCH_ROWS: str(batch_rows)})
            if params:
                arrays = [_param(v) for v in params]
                stmt.bind(pa.RecordBatch.from_arrays(arrays, [str(i) for i in range(len(arrays))]))
            handle, _ = stmt.execute_query()
            reader = pa.RecordBatchReader._import_from_c(handle.address)
            try:
                yield from reader
            except (OSError, pa.ArrowException) as exc:  # a value of another type
                raise ArrowReadError(str(exc)) from exc
            finally:
                reader.close()
        except _adbc.Error as exc:
            raise ArrowReadError(str(exc)) from exc
        finally:
            stmt.close()

    def read(self, sql: str, params: list[Any], schema: pa.Schema) -> pa.Table:
        """The whole result, cast to ``schema`` (its columns in order; names replaced)."""
        batches = list(self.batches(sql, params))
        if not batches:
            return pa.Table.from_batches([], schema=schema)  # (empty_table imports pandas)
        table = pa.Table.from_batches(batches).rename_columns(schema.names)
        try:
            return table.cast(schema)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise ArrowReadError(str(exc)) from exc
