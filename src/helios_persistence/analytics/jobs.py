"""Export jobs: Bulk Data states, persisted in the store (table ``export_jobs``), cancel,
resume after a crash.

States: ``accepted`` → ``in-progress`` (counts per type, updated after every page) →
``completed`` | ``failed`` | ``cancelled``. The manifest is written to the destination only
when every file is closed, so a manifest never lists a partial file. A job left
``in-progress`` by a process that died (its owner pid is gone, or it has not written a
heartbeat for :data:`STALE_AFTER` seconds) is *stale*: :meth:`ExportJob.resume` continues
it, :meth:`ExportJob.fail_stale` records it as failed (its files deleted).

Resuming: a Parquet export writes a checkpoint (``_checkpoint.json`` in the destination:
every complete file, the counts, and where to continue) after writing every buffered row: at
the system level at the end of every type and every :data:`CHECKPOINT_EVERY` resources (the
types done and the search that continues the current one), at the Patient and Group levels
at the end of the first batch of patients past every :data:`CHECKPOINT_EVERY` resources (the
patients done; the resources written, which a resumed job must not write twice, are read
back from the files). A resumed job deletes the files written after its last checkpoint and
continues from there; an NDJSON export, or a job killed before its first checkpoint, starts
again from nothing.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pyarrow.fs as pafs
import pyarrow.parquet as pq

from helios_persistence.analytics.bulk import Chunk
from helios_persistence.analytics.export import (
    ExportCancelled,
    ExportRequest,
    Position,
    placeholder,
    positioned_pages,
    stored_documents,
    stored_index_rows,
    validate,
)
from helios_persistence.analytics.prefetch import prefetched
from helios_persistence.analytics.terminology import export_terminology
from helios_persistence.analytics.writer import (
    LAYOUT_NAME,
    LAYOUT_VERSION,
    ExportWriter,
    resolve_destination,
)
from helios_persistence.errors import HeliosError, NotFound
from helios_persistence.tenancy import Operation, TenantContext

__all__ = ["STALE_AFTER", "ExportJob", "start_export"]

STALE_AFTER = 60.0
#: resources exported between two checkpoints (besides one at the end of every type)
CHECKPOINT_EVERY = 50_000
_CHECKPOINT = "_checkpoint.json"
_DATASETS = (
    "resources",
    "stored",
    "index",
    "text",
    "terminology",
    "ndjson",
    "errors",
    "manifest.json",
    "_layout.json",
    _CHECKPOINT,
    f"{_CHECKPOINT}.tmp",
)
_COLUMNS = (
    "id", "status", "request", "destination", "transaction_time", "counts", "manifest",
    "error", "owner", "heartbeat",
)  # fmt: skip


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _alive(owner: str | None) -> bool:
    if not owner:
        return False
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname():
        return True  # another machine's process: only the heartbeat tells
    try:
        os.kill(int(pid), 0)
    except (OSError, ValueError):
        return False
    return True


class _Table:
    """The ``export_jobs`` rows of one store (SQLite ``?`` or PostgreSQL ``%s`` placeholders)."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.mark = placeholder(store)

    def insert(self, ctx: TenantContext, row: dict[str, Any]) -> None:
        marks = ", ".join([self.mark] * (len(_COLUMNS) + 1))
        values = [ctx.tenant_key, *(row.get(c) for c in _COLUMNS)]
        with self.store.write_session(ctx) as s:
            s.conn.execute(
                f"INSERT INTO export_jobs (tenant, {', '.join(_COLUMNS)}) VALUES ({marks})", values
            )

    def update(self, ctx: TenantContext, job_id: str, **values: Any) -> None:
        sets = ", ".join(f"{k} = {self.mark}" for k in values)
        with self.store.write_session(ctx) as s:
            s.conn.execute(
                f"UPDATE export_jobs SET {sets} WHERE tenant = {self.mark} AND id = {self.mark}",
                [*values.values(), ctx.tenant_key, job_id],
            )

    def get(self, ctx: TenantContext, job_id: str) -> dict[str, Any]:
        with self.store.read_session(ctx) as s:
            rows = list(
                s.conn.execute(
                    f"SELECT {', '.join(_COLUMNS)} FROM export_jobs "
                    f"WHERE tenant = {self.mark} AND id = {self.mark}",
                    [ctx.tenant_key, job_id],
                )
            )
        if not rows:
            raise NotFound(f"no export job {job_id!r}")
        return dict(zip(_COLUMNS, rows[0], strict=True))

    def ids(self, ctx: TenantContext) -> list[str]:
        with self.store.read_session(ctx) as s:
            rows = s.conn.execute(
                f"SELECT id FROM export_jobs WHERE tenant = {self.mark} ORDER BY transaction_time",
                [ctx.tenant_key],
            )
            return [str(r[0]) for r in rows]

    def delete(self, ctx: TenantContext, job_id: str) -> None:
        with self.store.write_session(ctx) as s:
            s.conn.execute(
                f"DELETE FROM export_jobs WHERE tenant = {self.mark} AND id = {self.mark}",
                [ctx.tenant_key, job_id],
            )


class ExportJob:
    """One export: its state (read from the store), :meth:`wait`, :meth:`cancel`,
    :meth:`resume`, :meth:`delete`."""

    def __init__(self, store: Any, ctx: TenantContext, job_id: str) -> None:
        self.store, self.ctx, self.id = store, ctx, job_id
        self._table = _Table(store)
        self._thread: threading.Thread | None = None
        self._cancel = threading.Event()
        self._progress: Callable[[dict[str, int]], None] | None = None
        #: a destination given as a pyarrow ``FileSystem`` (kept in memory, not in the store)
        self._fs: tuple[pafs.FileSystem, str] | None = None

    # -- state ----------------------------------------------------------------------------------
    def _row(self) -> dict[str, Any]:
        return self._table.get(self.ctx, self.id)

    @property
    def status(self) -> str:
        return str(self._row()["status"])

    @property
    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = json.loads(self._row()["counts"] or "{}")
        return counts

    @property
    def manifest(self) -> dict[str, Any] | None:
        text = self._row()["manifest"]
        return json.loads(text) if text else None

    @property
    def error(self) -> dict[str, Any] | None:
        """The OperationOutcome of a failed job."""
        text = self._row()["error"]
        return json.loads(text) if text else None

    @property
    def request(self) -> ExportRequest:
        return ExportRequest.from_json(json.loads(self._row()["request"]))

    @property
    def stale(self) -> bool:
        """In progress, but its process is gone (or silent for :data:`STALE_AFTER` s)."""
        row = self._row()
        if row["status"] not in ("accepted", "in-progress"):
            return False
        if self._thread is not None and self._thread.is_alive():
            return False
        silent = time.time() - float(row["heartbeat"] or 0) > STALE_AFTER
        return silent or not _alive(row["owner"])

    # -- control --------------------------------------------------------------------------------
    def wait(
        self,
        timeout: float | None = None,
        on_progress: Callable[[dict[str, int]], None] | None = None,
    ) -> ExportJob:
        """Block until the job ends (``on_progress(counts)`` after every page of a job this
        process runs; a job of another process is polled until it ends or goes stale)."""
        if on_progress is not None:
            self._progress = on_progress
        if self._thread is not None:
            self._thread.join(timeout)
            return self
        # a job another process runs: poll its row until it ends, or its process is gone
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.status in ("accepted", "in-progress") and not self.stale:
            if deadline is not None and time.monotonic() > deadline:
                break
            time.sleep(0.2)
        return self

    def cancel(self) -> None:
        """Stop the job (between two pages); its files are deleted."""
        self._cancel.set()
        if self._thread is not None:
            self._thread.join()
        if self.status in ("accepted", "in-progress"):
            self._table.update(self.ctx, self.id, status="cancelled")
            self.delete_files()

    def resume(self, on_progress: Callable[[dict[str, int]], None] | None = None) -> ExportJob:
        """Continue a stale job from its last checkpoint (the files written after it are
        deleted first), or run it again from the start when it has none."""
        if not self.stale:
            raise HeliosError(f"export job {self.id} is {self.status}, not a stale running job")
        checkpoint = self._checkpoint()
        if checkpoint is None:
            self.delete_files()
        else:
            self._delete_after(checkpoint)
        self._start(on_progress, checkpoint)
        return self

    def _checkpoint(self) -> dict[str, Any] | None:
        """This job's last checkpoint in its destination (None: none, or unreadable)."""
        fs, base = self._destination(self._row())
        try:
            with fs.open_input_stream(f"{base}/{_CHECKPOINT}") as f:
                data = json.loads(f.read())
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) and data.get("job") == self.id else None

    def _delete_after(self, checkpoint: dict[str, Any]) -> None:
        """Delete every file of the destination the checkpoint does not list as complete."""
        fs, base = self._destination(self._row())
        kept = {path for files in checkpoint["state"]["files"].values() for path, _ in files}
        kept |= {f"{base}/_layout.json", f"{base}/{_CHECKPOINT}"}
        for name in _DATASETS:
            info = fs.get_file_info(f"{base}/{name}")
            if info.type == pafs.FileType.File and info.path not in kept:
                fs.delete_file(info.path)
            elif info.type == pafs.FileType.Directory:
                selector = pafs.FileSelector(info.path, recursive=True)
                for item in fs.get_file_info(selector):
                    if item.type == pafs.FileType.File and item.path not in kept:
                        fs.delete_file(item.path)

    def _save_checkpoint(
        self, fs: pafs.FileSystem, base: str, writer: ExportWriter, position: Position
    ) -> None:
        """Write every buffered row, then the checkpoint (replacing the last one at once)."""
        data = {"job": self.id, "position": position.to_json(), "state": writer.checkpoint()}
        with fs.open_output_stream(f"{base}/{_CHECKPOINT}.tmp") as out:
            out.write(json.dumps(data).encode())
        fs.move(f"{base}/{_CHECKPOINT}.tmp", f"{base}/{_CHECKPOINT}")

    def fail_stale(self) -> None:
        """Record a stale job as failed (its partial files are deleted)."""
        if not self.stale:
            raise HeliosError(f"export job {self.id} is {self.status}, not a stale running job")
        self.delete_files()
        self._fail(HeliosError("the export process stopped before it finished"))

    def delete_files(self) -> None:
        """Delete the job's files from its destination."""
        fs, base = self._destination(self._row())
        for name in _DATASETS:
            path = f"{base}/{name}"
            info = fs.get_file_info(path)
            if info.type == pafs.FileType.Directory:
                fs.delete_dir(path)
            elif info.type == pafs.FileType.File:
                fs.delete_file(path)

    def delete(self) -> None:
        """Delete the job's files and its record."""
        self.delete_files()
        self._table.delete(self.ctx, self.id)

    # -- running --------------------------------------------------------------------------------
    def _start(
        self,
        on_progress: Callable[[dict[str, int]], None] | None,
        checkpoint: dict[str, Any] | None = None,
    ) -> None:
        self._progress = on_progress
        self._cancel.clear()
        counts = checkpoint["state"]["counts"] if checkpoint else {}
        self._table.update(
            self.ctx, self.id, status="accepted", owner=_owner(), heartbeat=time.time(),
            counts=json.dumps(counts), manifest=None, error=None,
        )  # fmt: skip
        self._thread = threading.Thread(
            target=self._run, args=(checkpoint,), name=f"export-{self.id}", daemon=True
        )
        self._thread.start()

    def _destination(self, row: dict[str, Any]) -> tuple[pafs.FileSystem, str]:
        if self._fs is not None:
            return self._fs
        return resolve_destination(str(row["destination"]))

    def _fail(self, exc: BaseException) -> None:
        outcome = exc.outcome if isinstance(exc, HeliosError) else HeliosError(str(exc)).outcome
        self._table.update(self.ctx, self.id, status="failed", error=json.dumps(outcome))

    def _run(self, checkpoint: dict[str, Any] | None = None) -> None:
        row = self._row()
        request = ExportRequest.from_json(json.loads(row["request"]))
        writer: ExportWriter | None = None
        stack = contextlib.ExitStack()  # (stops the read-ahead thread however the run ends)
        try:
            fs, base = self._destination(row)
            writer = ExportWriter(
                fs, base, self.ctx.tenant_key, output_format=request.output_format,
                extract=self.store._extract, state=checkpoint["state"] if checkpoint else None,
            )  # fmt: skip
            self._table.update(self.ctx, self.id, status="in-progress", heartbeat=time.time())
            start = Position.from_json(checkpoint["position"]) if checkpoint else None
            written = None
            if checkpoint and request.level != "system":  # the resources its files hold
                written = _written(fs, checkpoint["state"]["files"])
            pages = prefetched(
                positioned_pages(
                    self.store, self.ctx, request, cancelled=self._cancel.is_set, resume=start,
                    bulk=request.output_format, written=written,
                )
            )  # fmt: skip
            stack.callback(pages.close)
            since = 0  # resources exported since the last checkpoint
            checkpoints = request.output_format == "parquet"
            for page, position in pages:
                self._add(writer, page)
                since += len(page)
                if (
                    checkpoints
                    and position is not None
                    and (
                        (position.rtype is None and position.next is None)  # a type is done
                        or (position.next is not None and since >= CHECKPOINT_EVERY)
                    )
                ):
                    self._save_checkpoint(fs, base, writer, position)
                    since = 0
                if not page:
                    continue
                self._table.update(
                    self.ctx, self.id, counts=json.dumps(writer.counts), heartbeat=time.time()
                )
                if self._progress is not None:
                    self._progress(dict(writer.counts))
            files = writer.close()
            with contextlib.suppress(OSError):  # the export is complete: nothing to resume
                fs.delete_file(f"{base}/{_CHECKPOINT}")
            if request.output_format == "parquet":
                export_terminology(self.store, self.ctx, fs, base)
            manifest = self._manifest(row, request, fs, base, files, writer.counts)
            if writer.errors:
                url = manifest["output"][0]["url"] if manifest["output"] else ""
                prefix = url[: url.find(base) + len(base)] if base in url else f"file://{base}"
                manifest["error"] = [
                    {"type": "OperationOutcome", "url": prefix + writer.error_file[len(base) :],
                     "count": len(writer.errors)}
                ]  # fmt: skip
            with fs.open_output_stream(f"{base}/manifest.json") as out:
                out.write(json.dumps(manifest, indent=2).encode())
            self._table.update(
                self.ctx, self.id, status="completed", manifest=json.dumps(manifest),
                counts=json.dumps(writer.counts),
            )  # fmt: skip
        except ExportCancelled:
            stack.close()
            if writer is not None:
                writer.abort()
        except BaseException as exc:  # every failure is recorded on the job
            with contextlib.suppress(Exception):  # the original error is the one recorded
                stack.close()
                if writer is not None:
                    writer.abort()
            self._fail(exc)
        finally:
            stack.close()

    def _add(self, writer: ExportWriter, page: list[dict[str, Any]] | Chunk) -> None:
        """Write a page: the stored documents (decimals as written) and their index rows."""
        if isinstance(page, Chunk):
            writer.add_chunk(page)
            return
        if not page:
            return
        rtype, ids = page[0]["resourceType"], [r["id"] for r in page]
        exact = stored_documents(self.store, self.ctx, rtype, ids)
        stored = stored_index_rows(self.store, self.ctx, rtype, ids)
        for resource in page:
            if exact is not None:  # the stored document, decimals as written
                resource = exact.get(resource["id"], resource)
            writer.add(resource, None if stored is None else stored[resource["id"]])

    def _manifest(
        self,
        row: dict[str, Any],
        request: ExportRequest,
        fs: pafs.FileSystem,
        base: str,
        files: dict[str, list[tuple[str, int]]],
        counts: dict[str, int],
    ) -> dict[str, Any]:
        destination = str(row["destination"])
        prefix = destination.rstrip("/") if "://" in destination else f"file://{base}"
        output = [
            {"type": rtype, "url": prefix + path[len(base) :], "count": count}
            for rtype, paths in sorted(files.items())
            for path, count in paths
        ]
        return {
            "transactionTime": row["transaction_time"],
            "request": request.url(),
            "requiresAccessToken": False,
            "output": output,
            "error": [],
            "extension": {
                "tenant": self.ctx.tenant_key,
                "format": request.output_format,
                "layout": LAYOUT_NAME,
                "layoutVersion": LAYOUT_VERSION,
            },
        }


def _written(fs: pafs.FileSystem, files: dict[str, list[Any]]) -> set[tuple[str, str]]:
    """The ``(type, id)`` of every resource in a checkpoint's complete files."""
    out: set[tuple[str, str]] = set()
    for key, paths in files.items():
        dataset, rtype = key.split("|")
        if dataset != "stored":
            continue
        for path, _ in paths:
            ids = pq.read_table(path, columns=["id"], filesystem=fs).column("id")
            out.update((rtype, i) for i in ids.to_pylist())
    return out


def start_export(
    store: Any,
    ctx: TenantContext,
    *,
    types: list[str] | tuple[str, ...] = (),
    since: str | None = None,
    type_filter: list[str] | tuple[str, ...] = (),
    format: str = "parquet",
    destination: str | pafs.FileSystem,
    path: str = "",
    level: str = "system",
    group: str | None = None,
    on_progress: Callable[[dict[str, int]], None] | None = None,
) -> ExportJob:
    """Validate the request, record the job and start it in a background thread.

    ``destination``: a local path, a URI pyarrow understands (``file://``, ``s3://``), or a
    pyarrow ``FileSystem`` with ``path`` inside it (such a job cannot be resumed by another
    process: the filesystem object is not stored)."""
    ctx.check(Operation.EXPORT)
    request = ExportRequest(
        level=level, types=tuple(types), since=since, type_filter=tuple(type_filter),
        output_format=format, group=group,
    )  # fmt: skip
    validate(request, ctx, store.registry)
    fs, base = resolve_destination(destination, path)  # a bad URI fails here
    in_memory = isinstance(destination, pafs.FileSystem)
    if isinstance(destination, pafs.FileSystem):  # described in the store, kept in memory
        destination = f"{destination.type_name}-filesystem:{base}"
    job_id = uuid.uuid4().hex
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    _Table(store).insert(
        ctx,
        {
            "id": job_id,
            "status": "accepted",
            "request": json.dumps(request.to_json()),
            "destination": destination,
            "transaction_time": now,
            "counts": "{}",
            "owner": _owner(),
            "heartbeat": time.time(),
        },
    )
    job = ExportJob(store, ctx, job_id)
    if in_memory:
        job._fs = (fs, base)
    job._start(on_progress)
    return job


def export_jobs(store: Any, ctx: TenantContext) -> list[ExportJob]:
    """The tenant's export jobs, oldest first."""
    return [ExportJob(store, ctx, i) for i in _Table(store).ids(ctx)]
