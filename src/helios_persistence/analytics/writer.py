"""Write an export directory: Parquet (the layout of :mod:`.layout`) or NDJSON, through
``pyarrow.fs`` (a local path, ``file://``, ``s3://`` when pyarrow is configured for it, or any
``FileSystem`` such as a ``SubTreeFileSystem``).

Directory layout (``dialects/duckdb/README.md``)::

    _layout.json                              {"layout": "helios-parquet", "version": 5}
    manifest.json                             the Bulk Data manifest (written last)
    resources/type=<T>/part-<n>.parquet       typed resource rows
    stored/type=<T>/part-<n>.parquet          tenant, id, version, last_updated, json
    index/<idx_table>/type=<T>/part-<n>.parquet   the SQL compiler's index rows
    text/resource_text/type=<T>/part-<n>.parquet  narrative and content text (_text, _content)
    text/param_text/type=<T>/part-<n>.parquet     per-parameter text (:text-advanced)
    terminology/<term_table>.parquet          closure, expansions (:mod:`.terminology`)
    ndjson/<T>.ndjson                         resources, one JSON per line (format "ndjson")

Memory is bounded: at most :data:`MAX_BUFFERED` resources (and their index and text rows)
are buffered; then the largest per-type buffers are written out as row groups.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from helios_persistence.analytics.bulk import Chunk
from helios_persistence.analytics.datasets import (
    INDEX_SCHEMAS,
    STORED_SCHEMA,
    TEXT_SCHEMAS,
    table_of,
)
from helios_persistence.analytics.layout import layout_for
from helios_persistence.analytics.typed_rows import TypedRows, fitted_schema, used_schema
from helios_persistence.backends.sql.index_tables import (
    NUMBER_COLUMNS,
    PARAM_TEXT_SLOTS,
    param_texts,
    rows_by_table,
)
from helios_persistence.errors import HeliosError
from helios_persistence.indexing import ResourceIndex, narrative_text, string_content
from helios_persistence.indexing.decimal_keys import number_key
from helios_persistence.storage.validation import serialize

__all__ = [
    "LAYOUT_NAME",
    "LAYOUT_VERSION",
    "MAX_BUFFERED",
    "ExportDestinationError",
    "ExportWriter",
    "resolve_destination",
]

LAYOUT_NAME = "helios-parquet"
LAYOUT_VERSION = 5
#: rows per Parquet row group at most (fewer when :data:`MAX_ARROW_BYTES` is reached first):
#: large for the datasets queries scan (typed resources, index and text rows), small for the
#: stored JSON, which a search reads a few rows of (DuckDB decompresses whole row groups)
ROW_GROUP_ROWS = 16_384
STORED_ROW_GROUP_ROWS = 2_048
#: Arrow data converted but not written yet, across partitions: past it, the largest
#: partitions write their row groups early
MAX_ARROW_BYTES = 64 << 20
#: Parquet files open at once (each a partition's file growing by row groups); the one
#: flushed longest ago is completed when another would open
MAX_OPEN_FILES = 64
#: resources buffered (across types) before every buffer is flushed as row groups
MAX_BUFFERED = 2048
#: threads writing a bulk export's files (pyarrow encodes and compresses without the GIL)
WRITE_THREADS = 2
_INDEX_SCHEMAS, _TEXT_SCHEMAS, _STORED_SCHEMA = INDEX_SCHEMAS, TEXT_SCHEMAS, STORED_SCHEMA
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


#: the schema of each dataset but ``resources`` (per type: its layout)
_SCHEMAS: dict[str, pa.Schema] = {
    "stored": _STORED_SCHEMA,
    **{f"index/{t}": schema for t, schema in _INDEX_SCHEMAS.items()},
    **{f"text/{t}": schema for t, schema in _TEXT_SCHEMAS.items()},
}


def _micros(instant: datetime | None) -> int | None:
    """Microseconds since the epoch (the stores' ``last_updated``), exactly."""
    if instant is None:
        return None
    delta = instant - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _keyed(row: tuple[Any, ...], table: str) -> tuple[Any, ...]:
    """A stored number or quantity row with its numbers as text keys (as SQLite stores them)."""
    out = list(row)
    for at in NUMBER_COLUMNS[table]:
        if isinstance(out[at], Decimal):
            out[at] = number_key(out[at])
    return tuple(out)


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """``table`` with ``schema`` (whose columns and fields hold its own: the others null)."""
    columns = [
        table.column(f.name).cast(f.type) if f.name in table.column_names
        else pa.nulls(table.num_rows, f.type)
        for f in schema
    ]  # fmt: skip
    return pa.Table.from_arrays(columns, schema=schema)


class ExportDestinationError(HeliosError):
    """The export destination cannot be written (or read) as an export directory."""


def resolve_destination(
    destination: str | pafs.FileSystem, path: str = ""
) -> tuple[pafs.FileSystem, str]:
    """``(filesystem, base path)`` for a URI, a local path, or a ``FileSystem`` (+ ``path``)."""
    if isinstance(destination, pafs.FileSystem):
        return destination, path.rstrip("/")
    if "://" not in destination:
        import os

        return pafs.LocalFileSystem(), os.path.abspath(destination)
    try:
        fs, base = pafs.FileSystem.from_uri(destination)
    except (pa.ArrowInvalid, OSError) as exc:
        raise ExportDestinationError(
            f"cannot use export destination {destination!r}: {exc}"
        ) from exc
    return fs, base.rstrip("/")


class _Part:
    """The buffered rows of one dataset partition. :meth:`flush` turns the buffered rows into
    Arrow; a row group of up to :data:`ROW_GROUP_ROWS` is appended to the partition's open
    file when that many are there (or when the writer needs the memory), and
    :meth:`close_file` completes the file (at a checkpoint, at the end, or when too many are
    open). So a type has few files of large row groups: DuckDB reads the metadata of every
    row group's ≈ 1,700 typed columns on every query."""

    def __init__(
        self,
        fs: pafs.FileSystem,
        folder: str,
        schema: pa.Schema,
        row_group_rows: int,
        typed: str | None = None,
    ) -> None:
        self.folder = folder
        #: the resource type of a partition of typed rows (whose files hold the columns and
        #: struct fields their rows use: :func:`.typed_rows.fitted_schema`)
        self.typed = typed
        self.schema = schema
        self.row_group_rows = row_group_rows
        #: Parquet writer options: statistics of the top-level columns only (a typed row's
        #: ≈ 500 nested leaves take a quarter of the writing time for statistics no one uses)
        self.options: dict[str, Any] = {
            "compression": "zstd",
            "write_statistics": [f.name for f in schema if not pa.types.is_nested(f.type)],
        }
        #: typed resource rows (dicts), or rows of the other datasets (tuples in schema order)
        self.rows: list[Any] = []
        self.fs = fs
        #: (path, rows) of every complete file
        self.files: list[tuple[str, int]] = []
        self.tables: list[pa.Table] = []  # converted rows, not written yet
        self.buffered_bytes = 0
        self._writer: pq.ParquetWriter | None = None
        self._path = ""
        self._written = 0  # rows in the open file
        self._numbered = 0  # files begun

    @property
    def open(self) -> bool:
        return self._writer is not None

    def flush(self) -> None:
        """The buffered rows to Arrow (written once a row group's worth is there)."""
        if not self.rows:
            return
        if isinstance(self.rows[0], tuple):  # index, text and stored rows: columns at once
            table = table_of(self.rows, self.schema)
        else:  # typed resource rows (nested dicts): the columns and fields they use
            assert self.typed is not None
            table = pa.Table.from_pylist(self.rows, schema=used_schema(self.typed, self.rows))
        self.rows = []
        self._buffer(table)
        if sum(t.num_rows for t in self.tables) >= self.row_group_rows:
            self.write_row_group()

    def _buffer(self, table: pa.Table) -> None:
        """Buffer converted rows; rows of other columns or types than the open file's
        complete it first (typed rows: unless the open file's types hold theirs; the next
        file holds both: :func:`.typed_rows.fitted_schema`)."""
        open_schema = self._writer.schema if self._writer is not None else None
        current = self.tables[0].schema if self.tables else open_schema
        if current is not None and not current.equals(table.schema):
            both = fitted_schema(self.typed, current, table.schema) if self.typed else None
            if both is None or not both.equals(current):
                self.close_file()
            if both is not None:
                table = _conform(table, both)
        self.tables.append(table)
        self.buffered_bytes += table.nbytes

    def write_row_group(self, whole: bool = True) -> None:
        """Append what is converted to the open file as row groups of up to
        :attr:`row_group_rows` (``whole`` False: only full ones; the rest stays buffered).
        The file is opened with the schema of the rows (the columns they use)."""
        if not self.tables:
            return
        table = pa.concat_tables(self.tables)
        size = table.num_rows if whole else table.num_rows - table.num_rows % self.row_group_rows
        self.tables = [table.slice(size)] if size < table.num_rows else []
        self.buffered_bytes = sum(t.nbytes for t in self.tables)
        if size == 0:
            return
        if self._writer is None:
            self._path = self.next_path()
            self._writer = pq.ParquetWriter(
                self._path, table.schema, filesystem=self.fs, **self.options
            )
        self._writer.write_table(table.slice(0, size), row_group_size=self.row_group_rows)
        self._written += size
        del table
        pa.default_memory_pool().release_unused()

    def next_path(self) -> str:
        """The path of the partition's next file (numbered in the order they are begun)."""
        self._numbered = max(self._numbered, len(self.files)) + 1
        return f"{self.folder}/part-{self._numbered - 1:05d}.parquet"

    def append(self, table: pa.Table) -> None:
        """Add converted rows (a bulk export's chunk, by a thread of the writer's pool): full
        row groups go into the open file now, the rest waits for the next chunk
        (:meth:`_buffer`). So a type's dataset is one file per checkpoint, of large row
        groups (DuckDB's scan of 8,192-row groups in many files took 1.5-2x the time of
        16,384-row groups in one)."""
        self.flush()  # (rows buffered by add(): before these)
        self._buffer(table)
        self.write_row_group(whole=False)

    def close_file(self) -> None:
        """Write everything buffered and complete the open file (listed in :attr:`files`)."""
        self.flush()
        self.write_row_group()
        if self._writer is None:
            return
        self._writer.close()
        self.files.append((self._path, self._written))
        self._writer, self._written = None, 0

    def abort(self) -> None:
        self.rows, self.tables = [], []
        if self._writer is not None:
            with contextlib.suppress(Exception):  # (the file is incomplete: it is deleted)
                self._writer.close()
            self._writer = None


class ExportWriter:
    """Writes the resources of one export, per type; :meth:`close` returns the files."""

    def __init__(
        self,
        fs: pafs.FileSystem,
        base: str,
        tenant: str,
        *,
        output_format: str = "parquet",
        extract: Callable[[dict[str, Any]], ResourceIndex] | None = None,
        state: dict[str, Any] | None = None,
    ) -> None:
        if output_format not in ("parquet", "ndjson"):
            raise ValueError(f"unknown output format {output_format!r}")
        self.fs, self.base, self.tenant = fs, base, tenant
        self.format = output_format
        self.extract = extract
        self.parts: dict[tuple[str, str], _Part] = {}
        self.ndjson: dict[str, Any] = {}
        self.counts: dict[str, int] = {}
        self.pending: dict[str, int] = {}  # buffered resources per type
        self._open: dict[tuple[str, str], None] = {}  # parts with an open file, LRU order
        #: OperationOutcomes of resources exported without their index rows
        self.errors: list[dict[str, Any]] = []
        self._typed: TypedRows | None = None  # (bulk exports: DuckDB, opened once)
        #: a bulk chunk's files are written by these threads while the next one converts
        self._pool = ThreadPoolExecutor(WRITE_THREADS, thread_name_prefix="helios-export")
        self._writing: list[Future[None]] = []
        try:
            fs.create_dir(base, recursive=True)
            with fs.open_output_stream(f"{base}/_layout.json") as out:
                out.write(json.dumps({"layout": LAYOUT_NAME, "version": LAYOUT_VERSION}).encode())
        except (OSError, pa.ArrowException) as exc:
            raise ExportDestinationError(
                f"cannot write to export destination {base!r}: {exc}"
            ) from exc
        if state is not None:  # a resumed export: the files of its checkpoint are written
            self._restore(state)

    # -- checkpoints --------------------------------------------------------------------------
    def checkpoint(self) -> dict[str, Any]:
        """Write every buffered row; the state of the export so far (every file it has
        written, the counts, the errors), which :meth:`_restore` continues from."""
        self.drain()
        for part in self.parts.values():
            part.close_file()
        self.pending.clear()
        self._open.clear()
        return {
            "files": {
                f"{dataset}|{rtype}": part.files for (dataset, rtype), part in self.parts.items()
            },
            "counts": dict(self.counts),
            "errors": list(self.errors),
        }

    def _restore(self, state: dict[str, Any]) -> None:
        for key, files in state["files"].items():
            dataset, rtype = key.split("|")
            schema = _SCHEMAS.get(dataset) or layout_for(rtype).schema
            part = self._part(dataset, rtype, schema)
            part.files = [(str(p), int(n)) for p, n in files]
        self.counts = {k: int(v) for k, v in state["counts"].items()}
        self.errors = list(state["errors"])

    def _part(self, dataset: str, rtype: str, schema: pa.Schema) -> _Part:
        key = (dataset, rtype)
        part = self.parts.get(key)
        if part is None:
            folder = f"{self.base}/{dataset}/type={rtype}"
            self.fs.create_dir(folder, recursive=True)
            rows = STORED_ROW_GROUP_ROWS if dataset == "stored" else ROW_GROUP_ROWS
            typed = rtype if dataset == "resources" else None
            part = self.parts[key] = _Part(self.fs, folder, schema, rows, typed)
        return part

    def add(
        self, resource: dict[str, Any], stored_rows: dict[str, list[tuple[Any, ...]]] | None = None
    ) -> None:
        """Write one resource (its ``meta`` gives the version and lastUpdated). Its index rows
        are ``stored_rows`` (per table, as the store holds them: ``KEY`` + ``COLUMNS``), or
        extracted here when the store cannot hand them over."""
        rtype = resource["resourceType"]
        self.counts[rtype] = self.counts.get(rtype, 0) + 1
        if self.format == "ndjson":
            self._ndjson_out(rtype).write(serialize(resource).encode() + b"\n")
            return
        layout = layout_for(rtype)
        row = layout.to_row(resource)
        meta = resource.get("meta") or {}
        row["_tenant"] = self.tenant
        row["_version_id"] = int(meta["versionId"]) if "versionId" in meta else None
        updated = meta.get("lastUpdated")
        row["_last_updated"] = (
            datetime.fromisoformat(updated.replace("Z", "+00:00")) if updated else None
        )
        self._part("stored", rtype, _STORED_SCHEMA).rows.append(
            (self.tenant, resource["id"], row["_version_id"], _micros(row["_last_updated"]),
             serialize(resource))  # decimals as written
        )  # fmt: skip
        self._part("resources", rtype, layout.schema).rows.append(row)
        if stored_rows is not None:
            self._index_rows(rtype, resource, stored_rows)
        elif self.extract is not None:
            try:
                self._index(rtype, resource)
            except HeliosError as exc:  # exported, but not searchable: reported in error[]
                issue = exc.outcome
                issue["issue"][0]["diagnostics"] = (
                    f"{rtype}/{resource.get('id')}: not indexed: {exc.message}"
                )
                self.errors.append(issue)
        self.pending[rtype] = self.pending.get(rtype, 0) + 1
        if sum(self.pending.values()) >= MAX_BUFFERED:
            self.flush()

    def add_chunk(self, chunk: Chunk) -> None:
        """Write a chunk read in bulk (:mod:`.bulk`): its stored JSON as it is, its typed rows
        converted by DuckDB (:mod:`.typed_rows`), its index and text rows as the store has
        them; each dataset's rows appended to its open file (:meth:`_Part.append`)."""
        rtype = chunk.resource_type
        self.counts[rtype] = self.counts.get(rtype, 0) + len(chunk)
        if self.format == "ndjson":
            text = "\n".join(chunk.stored.column("json").to_pylist())
            self._ndjson_out(rtype).write(text.encode() + b"\n")
            return
        if self._typed is None:
            self._typed = TypedRows()
        tables = {
            "stored": chunk.stored.cast(_STORED_SCHEMA),
            "resources": self._typed.convert(rtype, chunk.stored),  # (while the last writes)
            **chunk.rows,
        }
        self.drain()  # (a part's rows are written in order, by one thread at a time)
        for dataset, table in tables.items():
            schema = layout_for(rtype).schema if dataset == "resources" else table.schema
            part = self._part(dataset, rtype, schema)
            self._writing.append(self._pool.submit(part.append, table))

    def drain(self) -> None:
        """Wait for the files being written (raising the first failure)."""
        writing, self._writing = self._writing, []
        for future in writing:
            future.result()
        if writing:  # (the chunk's Arrow memory back to the system, not kept by the pool)
            pa.default_memory_pool().release_unused()

    def _ndjson_out(self, rtype: str) -> Any:
        out = self.ndjson.get(rtype)
        if out is None:
            self.fs.create_dir(f"{self.base}/ndjson", recursive=True)
            out = self.ndjson[rtype] = self.fs.open_output_stream(
                f"{self.base}/ndjson/{rtype}.ndjson"
            )
        return out

    def _index(self, rtype: str, resource: dict[str, Any]) -> None:
        assert self.extract is not None
        index = self.extract(resource)
        tables = rows_by_table(self.tenant, rtype, resource["id"], index.rows)
        self._table_rows(rtype, tables)
        self._texts(rtype, resource["id"], index.narrative, index.content, param_texts(index.rows))

    def _index_rows(
        self, rtype: str, resource: dict[str, Any], tables: dict[str, list[tuple[Any, ...]]]
    ) -> None:
        for table in NUMBER_COLUMNS.keys() & tables.keys():  # PostgreSQL's are Decimals
            tables = {**tables, table: [_keyed(row, table) for row in tables[table]]}
        self._table_rows(rtype, tables)
        texts: list[tuple[str, str]] = []  # as param_texts: token text, string values
        for row in tables.get("idx_token", ()):
            if row[4] is None and row[7]:
                texts.append((row[3], row[7]))
        texts.extend((row[3], row[6]) for row in tables.get("idx_string", ()) if row[4] is None)
        self._texts(
            rtype, resource["id"], narrative_text(resource), string_content(resource),
            texts[:PARAM_TEXT_SLOTS],
        )  # fmt: skip

    def _table_rows(self, rtype: str, tables: dict[str, list[tuple[Any, ...]]]) -> None:
        for table, rows in tables.items():
            part = self._part(f"index/{table}", rtype, _INDEX_SCHEMAS[table])
            # rows are KEY (tenant, type, id, param, grp) + COLUMNS: drop the type (the
            # partition holds it)
            part.rows.extend((values[0], *values[2:]) for values in rows)

    def _texts(
        self, rtype: str, rid: str, narrative: str, content: str, texts: list[tuple[str, str]]
    ) -> None:
        if narrative or content:
            self._part("text/resource_text", rtype, _TEXT_SCHEMAS["resource_text"]).rows.append(
                (self.tenant, rid, narrative or "", content or "")
            )
        if texts:
            part = self._part("text/param_text", rtype, _TEXT_SCHEMAS["param_text"])
            part.rows.extend((self.tenant, rid, p, t) for p, t in texts)

    def flush(self) -> None:
        """Write the largest buffers (a type's resources and index rows together) until at
        most half of :data:`MAX_BUFFERED` resources stay buffered: few, large row groups."""
        for rtype, _ in sorted(self.pending.items(), key=lambda kv: -kv[1]):
            if sum(self.pending.values()) <= MAX_BUFFERED // 2:
                break
            for key, part in self.parts.items():
                if key[1] == rtype:
                    self._flush(key, part)
            del self.pending[rtype]

    def _flush(self, key: tuple[str, str], part: _Part) -> None:
        part.flush()
        self._open.pop(key, None)
        self._open[key] = None  # (most recently flushed last)
        total = sum(p.buffered_bytes for p in self.parts.values())
        if total > MAX_ARROW_BYTES:  # the largest partitions write their row groups now
            for k, big in sorted(self.parts.items(), key=lambda kv: -kv[1].buffered_bytes):
                if total <= MAX_ARROW_BYTES:
                    break
                total -= big.buffered_bytes
                big.write_row_group()
                self._open.setdefault(k, None)
        opened = [k for k in self._open if self.parts[k].open]
        while len(opened) > MAX_OPEN_FILES:  # complete the file flushed longest ago
            oldest = opened.pop(0)
            del self._open[oldest]
            self.parts[oldest].close_file()

    def close(self) -> dict[str, list[tuple[str, int]]]:
        """Write what is buffered; ``{type: [(file path, resources)]}`` of the resources."""
        files: dict[str, list[tuple[str, int]]] = {}
        self.drain()
        self._pool.shutdown()
        self._close_typed()
        for (dataset, rtype), part in self.parts.items():
            part.close_file()
            if dataset == "resources":
                files.setdefault(rtype, []).extend(part.files)
        for rtype, out in self.ndjson.items():
            out.close()
            files.setdefault(rtype, []).append(
                (f"{self.base}/ndjson/{rtype}.ndjson", self.counts[rtype])
            )
        if self.errors:
            self.fs.create_dir(f"{self.base}/errors", recursive=True)
            with self.fs.open_output_stream(self.error_file) as out:
                out.write(b"".join(json.dumps(e).encode() + b"\n" for e in self.errors))
        return files

    def _close_typed(self) -> None:
        if self._typed is not None:
            self._typed.close()
            self._typed = None

    @property
    def error_file(self) -> str:
        """Where the OperationOutcomes of resources that could not be indexed go (NDJSON)."""
        return f"{self.base}/errors/OperationOutcome.ndjson"

    def abort(self) -> None:
        """Close what is open (after a failure or a cancel); the files are not complete."""
        with contextlib.suppress(Exception):  # (a failed write: the export fails anyway)
            self.drain()
        self._pool.shutdown()
        self._close_typed()
        for part in self.parts.values():
            part.abort()
        for out in self.ndjson.values():
            out.close()
