"""Query results of a SQLite store's file as Arrow tables, through ADBC's SQLite driver
(``adbc-driver-sqlite``): the rows are read into Arrow buffers in C, without a Python object
per row (the bulk export reads ≈ 20 index and text rows per resource).

The driver links its own copy of SQLite. Two copies of SQLite in one process must never open
the same database: POSIX file locks belong to the process, so each copy takes the other's
locks for its own, and one of them truncates the WAL index the other has mapped (a bus
error, or a corrupt database). So :class:`SQLiteArrow` runs the driver in a child process
(``python -m helios_persistence.analytics.sqlite_arrow FILE``), which locks like any other
process: it gets one request per line (JSON) on its standard input and answers each with a
JSON line, then an Arrow IPC stream of the rows. The child ends when its input closes (the
export ended, or its process died).

The driver infers a column's Arrow type from the values of each batch it makes, so a query
is read as one batch (:data:`WHOLE`: a column NULL in its first rows is typed by the rest)
and cast to its schema (a column NULL throughout comes as int64).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import IO, Any

import pyarrow as pa

try:  # (an optional dependency of the analytics extra: without it, reads go through apsw)
    import adbc_driver_manager as _adbc
    import adbc_driver_sqlite as _adbc_sqlite
except ImportError:  # pragma: no cover - the analytics extra installs it
    _adbc = _adbc_sqlite = None  # type: ignore[assignment]

__all__ = ["WHOLE", "ArrowReadError", "SQLiteArrow", "available"]

#: rows per batch (the driver infers types per batch): a query is read whole
WHOLE = 1 << 30
_BATCH_ROWS = "adbc.sqlite.query.batch_rows"


class ArrowReadError(Exception):
    """The child could not read a query (its values did not fit the types the driver
    inferred, or the child is gone)."""


def available() -> bool:
    return _adbc is not None


class SQLiteArrow:
    """Reads of one SQLite file by a child process: :meth:`read` runs a query with bound
    parameters; :meth:`begin` and :meth:`end` hold one read transaction over several."""

    def __init__(self, path: str, busy_timeout_ms: int = 30_000) -> None:
        if not available():
            raise ArrowReadError("adbc-driver-sqlite is not installed")
        package = str(Path(__file__).resolve().parents[2])  # (importable as here)
        paths = [package, *filter(None, [os.environ.get("PYTHONPATH")])]
        try:
            self._child = subprocess.Popen(
                [sys.executable, "-m", __name__, path, str(int(busy_timeout_ms))],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                env={**os.environ, "PYTHONPATH": os.pathsep.join(paths)},
            )  # fmt: skip
        except OSError as exc:
            raise ArrowReadError(f"cannot start the reading process: {exc}") from exc

    def close(self) -> None:
        child = self._child
        with contextlib.suppress(OSError):
            assert child.stdin is not None
            child.stdin.close()
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover - a read that does not end
            child.kill()
            child.wait()
        if child.stdout is not None:
            child.stdout.close()

    def _ask(self, request: dict[str, Any]) -> IO[bytes]:
        """Send ``request``; the child's output, after its answer (an error raised)."""
        child = self._child
        assert child.stdin is not None and child.stdout is not None
        try:
            child.stdin.write(json.dumps(request).encode() + b"\n")
            child.stdin.flush()
            answer = child.stdout.readline()
        except OSError as exc:
            raise ArrowReadError(f"the reading process is gone: {exc}") from exc
        if not answer:
            raise ArrowReadError(f"the reading process is gone ({child.poll()})")
        error = json.loads(answer).get("error")
        if error is not None:
            raise ArrowReadError(error)
        return child.stdout

    def begin(self) -> None:
        self._ask({"run": "BEGIN"})

    def end(self) -> None:
        self._ask({"run": "COMMIT"})

    def read(self, sql: str, params: list[Any], schema: pa.Schema) -> pa.Table:
        """The whole result, cast to ``schema`` (its columns in order; names replaced)."""
        stream = self._ask({"sql": sql, "params": params})
        try:
            table = pa.ipc.open_stream(stream).read_all()
        except (OSError, pa.ArrowException) as exc:
            raise ArrowReadError(f"the reading process is gone: {exc}") from exc
        if table.num_rows == 0:  # (schema.empty_table() would import pandas)
            return pa.Table.from_batches([], schema=schema)
        try:
            return table.rename_columns(schema.names).cast(schema)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise ArrowReadError(str(exc)) from exc


# -- the child process ----------------------------------------------------------------------------
def _param(value: Any) -> pa.Array:
    """A one-value Arrow array of ``value`` (str or int), from its bytes (``pa.array`` of
    Python values would import pandas, a second of start-up)."""
    import struct

    if isinstance(value, str):
        data = value.encode()
        offsets = pa.py_buffer(struct.pack("<2i", 0, len(data)))
        return pa.Array.from_buffers(pa.string(), 1, [None, offsets, pa.py_buffer(data)])
    if isinstance(value, int) and not isinstance(value, bool):
        return pa.Array.from_buffers(pa.int64(), 1, [None, pa.py_buffer(struct.pack("<q", value))])
    raise TypeError(f"cannot bind {type(value).__name__}")


def _execute(conn: Any, request: dict[str, Any], out: IO[bytes]) -> None:
    stmt = _adbc.AdbcStatement(conn)
    try:
        if "run" in request:
            stmt.set_sql_query(request["run"])
            stmt.execute_update()
            out.write(b'{"ok": true}\n')
            return
        stmt.set_sql_query(request["sql"])
        stmt.set_options(**{_BATCH_ROWS: str(WHOLE)})
        params = request["params"]
        if params:
            arrays = [_param(v) for v in params]
            stmt.bind(pa.RecordBatch.from_arrays(arrays, [str(i) for i in range(len(arrays))]))
        handle, _ = stmt.execute_query()
        with pa.RecordBatchReader._import_from_c(handle.address) as reader:
            batches = list(reader)  # (whole, so that an error comes before the answer)
            schema = reader.schema
        out.write(b'{"ok": true}\n')
        with pa.ipc.new_stream(out, schema) as writer:
            for batch in batches:
                writer.write_batch(batch)
    finally:
        stmt.close()


def main(argv: list[str]) -> int:
    """The child: answer requests for the database ``argv[0]`` until standard input ends."""
    path, timeout = argv[0], int(argv[1])
    db = _adbc_sqlite.connect(path)
    conn = _adbc.AdbcConnection(db)
    out = sys.stdout.buffer
    try:
        _execute(conn, {"run": f"PRAGMA busy_timeout = {timeout}"}, io.BytesIO())
        for line in sys.stdin.buffer:
            try:
                _execute(conn, json.loads(line), out)
            except Exception as exc:  # answered; the parent reads through apsw instead
                out.write(json.dumps({"error": f"{type(exc).__name__}: {exc}"}).encode() + b"\n")
            out.flush()
    finally:
        conn.close()
        db.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
