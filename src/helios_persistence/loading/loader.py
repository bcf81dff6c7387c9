"""The loader behind ``helios load``: sources in, resources written through the fast path.

* **Order.** Units (see :mod:`.units`) are written in the order they are read. A Bundle whose
  conditional references (``Practitioner?identifier=...``) match nothing yet is *deferred*:
  retried after the rest, in passes, for as long as a pass writes one of them (so Synthea's
  patient Bundles load whether their ``practitionerInformation`` Bundle comes first or last).
  A pass that resolves none of them runs them one last time to report their errors.
* **Fast path.** Resources and transaction groups go through ``store.bulk_load`` (one
  transaction per ``batch`` resources, a group never split; SQLite builds its value indexes
  once at the end). A database lookup needs the indexes, so the streamed run ends at the first
  unit that needs one (a Bundle for ``store.transaction``, a conditional reference not known
  yet) and the rest of that pass goes through ``store.bulk_update`` per ``batch`` (indexes
  kept up to date). So criteria are resolved ahead: before the streamed run, the conditional
  references and the conditional creates' ``ifNoneExist`` of the files still to read (a scan
  of their text, :func:`.sources.scan`), and before a later pass the deferred Bundles'.
  Resolutions are cached for the load and forgotten for a type as soon as a unit writes that
  type (all of them when a Bundle runs whole), so a cached answer is the one the database
  would give at that point (this assumes no other writer meanwhile).
* **Batch creates.** A batch Bundle of plain creates (Synthea's hospital and practitioner
  information, with ``ifNoneExist``) is streamed too, one piece per entry: the ``ifNoneExist``
  criteria of every such Bundle of the load are looked up before the streamed run (with the
  indexes; so any number of them, in any order, stream in one run), and the loader keeps
  what it learned true as it creates: a created resource is matched in memory against the
  criteria of its type, from its own index rows, for ``param=[system|]code`` token criteria
  (the identifier criteria such Bundles use); other criteria of that type are forgotten
  (asked again). An entry whose criteria match a resource writes nothing (the batch's
  ``200 OK``); a second load creates none of them again. What is known not to match is kept
  like a resolution, and forgotten the same way.
* **Errors.** A failing group or resource is retried alone to find it; a group then runs as
  its transaction, whose error names the entry. By default the first failure stops the load
  (:class:`LoadStopped`, with the file and entry); ``continue_on_error`` records each one
  (:class:`Failure`: where, message, OperationOutcome) and loads the rest.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from helios_persistence import ir
from helios_persistence.errors import HeliosError, InvalidInput
from helios_persistence.indexing.rows import TokenRow
from helios_persistence.loading.sources import Document, Source, read, scan
from helios_persistence.loading.units import (
    Unit,
    if_none_exist_criteria,
    resolve_group,
    units_of,
)
from helios_persistence.parsing import parse
from helios_persistence.storage.bundles import parse_request_url
from helios_persistence.storage.types import Create
from helios_persistence.tenancy import Operation, TenantContext

__all__ = ["Failure", "LoadReport", "LoadStopped", "Loader", "load"]

#: ``on_progress(resources written, bytes read, bytes to read or None)``
Progress = Callable[[int, int, int | None], None]


@dataclass(frozen=True, slots=True)
class Failure:
    """One thing that was not loaded: where (``file:line``, ``file Bundle.entry[3]``), why,
    and the OperationOutcome."""

    where: str
    message: str
    outcome: dict[str, Any]
    input_error: bool = False  # unreadable input (bad JSON, not a resource)
    order: int = field(default=0, compare=False)  # the input's position in the load

    def __str__(self) -> str:
        if self.message.startswith(self.where):  # (an input error names its place already)
            return self.message
        return f"{self.where}: {self.message}"


@dataclass
class LoadReport:
    """What a load did."""

    resources: int = 0
    failures: list[Failure] = field(default_factory=list)
    deferred: int = 0  # Bundles retried in a later pass
    passes: int = 1
    streamed: int = 0  # resources written through ``bulk_load``
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.resources / self.seconds if self.seconds > 0 else 0.0


class LoadStopped(HeliosError):
    """The first failure of a load that stops at errors; ``report`` says what was loaded."""

    def __init__(self, failure: Failure, report: LoadReport) -> None:
        super().__init__(str(failure))
        self.failure = failure
        self.report = report

    @property
    def outcome(self) -> dict[str, Any]:
        return self.failure.outcome


@dataclass
class _Deferred:
    source: Source
    line: int | None
    refs: frozenset[str]
    document: Document | None  # kept only for stdin, which cannot be read again


@dataclass
class _Piece:
    """Resources written together, or retried together: a group, or one resource."""

    unit: Unit
    resources: list[dict[str, Any] | Create]
    label: str
    atomic: bool


class _Peek:
    def __init__(self, items: Iterable[Unit | Failure]) -> None:
        self._items = iter(items)
        self._next: list[Unit | Failure] = []

    def peek(self) -> Unit | Failure | None:
        if not self._next:
            try:
                self._next.append(next(self._items))
            except StopIteration:
                return None
        return self._next[0]

    def take(self) -> Unit | Failure:
        unit = self.peek()
        assert unit is not None
        return self._next.pop()


def _cacheable(reference: str) -> bool:
    """Whether a conditional reference depends on its own type only (no chain, no ``_has``)."""
    criteria = reference.partition("?")[2]
    names = [part.partition("=")[0] for part in criteria.split("&")]
    return not any("." in name or name.startswith("_has") for name in names)


def _failure(where: str, error: HeliosError, order: int = 0) -> Failure:
    return Failure(where, str(error), error.outcome, isinstance(error, InvalidInput), order)


class Loader:
    """Loads sources into ``store`` for ``ctx`` (see the module's documentation)."""

    def __init__(
        self,
        store: Any,
        ctx: TenantContext,
        *,
        continue_on_error: bool = False,
        batch: int = 1000,
        stream: bool = True,
        on_progress: Progress | None = None,
    ) -> None:
        if batch < 1:
            raise ValueError("batch must be at least 1")
        self.store = store
        self.ctx = ctx
        self.continue_on_error = continue_on_error
        self.batch = batch
        self.stream = stream
        self.on_progress = on_progress
        self.report = LoadReport()
        self._cache: dict[str, str] = {}
        self._absent: set[str] = set()  # criteria known to match nothing
        #: token criteria decided in memory: (type, param, code) → criteria; ref → system
        self._by_token: dict[tuple[str, str, str], set[str]] = {}
        self._systems: dict[str, str | None] = {}
        self._undecided: dict[str, set[str]] = {}  # type → its other criteria
        self._existing = 0  # batch creates whose ifNoneExist matched (nothing written)
        self._chunk: list[_Piece] = []
        self._chunk_size = 0
        self._deferred: list[_Deferred] = []
        self._bytes_done = 0
        self._bytes_total: int | None = 0
        self._order = 0
        self._epoch = 0  # counts the Bundles run whole (each may write anything)
        self._ahead: list[Source] = []  # the files not read yet (and the one being read)

    # -- the passes -----------------------------------------------------------------------------
    def load(self, sources: list[Source]) -> LoadReport:
        """Load ``sources``; the report lists the failures (``continue_on_error``), else the
        first failure raises :class:`LoadStopped`."""
        start = time.perf_counter()
        try:
            self._add_total(sources)
            self._pass(self._read(sources, None), defer=True)
            while self._deferred:
                deferred, self._deferred = self._deferred, []
                self.report.passes += 1
                self.report.deferred = max(self.report.deferred, len(deferred))
                self._resolve(frozenset().union(*(d.refs for d in deferred)), each=True)
                self._pass(self._reread(deferred), defer=True)
                if len(self._deferred) == len(deferred):  # nothing resolved: report them
                    deferred, self._deferred = self._deferred, []
                    self._pass(self._reread(deferred), defer=False)
            optimize = getattr(self.store, "optimize", None)
            if optimize is not None and self.report.resources - self.report.streamed >= self.batch:
                optimize(self.ctx)  # planner statistics (a streamed run refreshed them)
        finally:
            self.report.seconds = time.perf_counter() - start
            self.report.failures.sort(key=lambda f: f.order)
        return self.report

    def _add_total(self, sources: Iterable[Source]) -> None:
        for source in sources:
            size = source.size
            self._bytes_total = (
                None if size is None or self._bytes_total is None else (self._bytes_total + size)
            )

    def _read(
        self, sources: list[Source], only: dict[Source, set[int | None]] | None
    ) -> Iterator[Document]:
        for i, source in enumerate(sources):
            self._ahead = [s for s in sources[i:] if s.path is not None]
            base = self._bytes_done

            def on_bytes(n: int, base: int = base) -> None:
                self._bytes_done = base + n

            lines = None if only is None else only[source]
            yield from read(source, only=lines, on_bytes=on_bytes)
            if source.path is not None:
                self._bytes_done = base + (source.size or 0)

    def _reread(self, deferred: list[_Deferred]) -> Iterator[Document]:
        kept = [d.document for d in deferred if d.document is not None]
        only: dict[Source, set[int | None]] = {}
        for d in deferred:
            if d.document is None:
                only.setdefault(d.source, set()).add(d.line)
        self._add_total(only)
        yield from kept
        yield from self._read(list(only), only)

    def _units(self, documents: Iterable[Document]) -> Iterator[Unit | Failure]:
        """The units of ``documents``; a document that is not one comes as its failure."""
        for document in documents:
            self._order += 1
            if document.error is not None:
                yield _failure(document.where, document.error, self._order)
                continue
            try:
                for unit in units_of(document):
                    unit.order = self._order
                    yield unit
            except HeliosError as exc:
                yield _failure(document.where, exc, self._order)

    def _pass(self, documents: Iterable[Document], *, defer: bool) -> None:
        units = _Peek(self._units(documents))
        streamed = not self.stream  # one streamed run per pass at most
        prefetched = -1  # the epoch of the last look-ahead
        looked: Unit | None = None  # the last batch of creates whose criteria were looked up
        while (unit := units.peek()) is not None:
            if isinstance(unit, Failure):
                self._flush()  # everything read before it is written first
                self._fail(units.take())  # type: ignore[arg-type]
            elif not streamed and self._ready(unit):
                streamed = True
                self._stream(units)
            elif not streamed and unit.kind != "bundle" and prefetched != self._epoch:
                prefetched = self._epoch
                self._look_ahead()
            elif not streamed and unit.kind == "creates" and looked is not unit:
                looked = unit  # (read from stdin, or forgotten since the look-ahead)
                self._resolve(frozenset(ref for ref in unit.if_none_exist if ref))
            else:
                self._indexed(units.take(), defer)  # type: ignore[arg-type]
        self._flush()

    def _look_ahead(self) -> None:
        """Resolve the conditional references and the conditional creates' ``ifNoneExist``
        criteria of the files still to read (found by a scan of their text), so that the
        streamed run can take their Bundles, in any order, without asking the database."""
        refs: set[str] = set()
        for source in self._ahead:
            found = scan(source)
            refs |= found.references
            for url, condition in found.creates:
                try:
                    rtype = parse_request_url(url).resource_type
                    ref = if_none_exist_criteria(str(rtype), condition)
                except HeliosError:
                    continue  # (the batch will say what is wrong)
                if ref is not None:
                    refs.add(ref)
        self._resolve(frozenset(refs), each=True)

    # -- the streamed run -----------------------------------------------------------------------
    def _ready(self, unit: Unit) -> bool:
        """Whether ``unit`` can be written without asking the database anything."""
        if unit.kind == "resources":
            return True
        if unit.kind == "creates":
            return all(ref is None or self._decided(ref) for ref in unit.if_none_exist)
        return unit.kind == "group" and all(ref in self._cache for ref in unit.conditional)

    def _stream(self, units: _Peek) -> None:
        """Stream units through ``bulk_load`` until one needs the database."""
        inflight: list[tuple[_Piece, int]] = []  # pieces yielded, with the running total
        total = 0
        written = 0
        base = self.report.resources
        existing = self._existing

        def pieces() -> Iterator[list[dict[str, Any] | Create]]:
            nonlocal total
            while (unit := units.peek()) is not None:
                if isinstance(unit, Failure) and self.continue_on_error:
                    self._fail(units.take())  # type: ignore[arg-type]
                    continue
                if isinstance(unit, Failure) or not self._ready(unit):
                    return
                prepared = self._prepare(unit)
                if prepared is None:
                    return  # the transaction will tell what is wrong: not streamed
                units.take()
                for piece in prepared:
                    total += len(piece.resources)
                    inflight.append((piece, total))
                    yield piece.resources

        def on_progress(done: int) -> None:
            nonlocal written
            written = done
            while inflight and inflight[0][1] <= done:
                inflight.pop(0)
            self.report.resources = base + done
            self._progress()

        try:
            self.store.bulk_load(self.ctx, pieces(), batch=self.batch, on_progress=on_progress)
        except LoadStopped:
            raise
        except HeliosError:
            self.report.streamed += written
            self._retry([piece for piece, _ in inflight])
            return
        finally:
            self.report.resources += self._existing - existing  # found, as the batch says
        self.report.streamed += written

    def _prepare(self, unit: Unit) -> list[_Piece] | None:
        """The pieces of a ready unit (references rewritten), None if the group fails so."""
        if unit.kind == "resources":
            pieces = [
                _Piece(unit, [r], label, False)
                for r, label in zip(unit.resources, unit.labels, strict=True)
            ]
        elif unit.kind == "creates":
            return self._creates(unit)
        else:
            try:
                self.ctx.check(Operation.TRANSACTION)  # as the transaction would
                resolved = {ref: self._cache[ref] for ref in unit.conditional}
                resources = resolve_group(unit, resolved)
            except HeliosError:
                return None
            pieces = [_Piece(unit, resources, "", True)]
        self._forget(unit.written_types())
        return pieces

    def _creates(self, unit: Unit) -> list[_Piece] | None:
        """A ready batch of creates as one piece per entry to write (None: the batch itself
        must run). An entry whose criteria match a resource is left out (counted)."""
        try:
            self.ctx.check(Operation.TRANSACTION)  # as the batch would
        except HeliosError:
            return None
        if self.ctx.permissions.compartment is not None:  # criteria confined: ask the batch
            return None
        pieces = []
        for resource, label, ref in zip(
            unit.resources, unit.labels, unit.if_none_exist, strict=True
        ):
            if ref is not None and ref in self._cache:
                self._existing += 1
                continue
            document = {**resource, "id": str(uuid.uuid4())}
            pieces.append(_Piece(unit, [Create(document)], label, False))
            self._learn(document)
        return pieces

    # -- the indexed path -----------------------------------------------------------------------
    def _indexed(self, unit: Unit, defer: bool) -> None:
        if unit.kind == "creates":
            self._resolve(frozenset(ref for ref in unit.if_none_exist if ref))
            existing = self._existing
            prepared = self._prepare(unit) if self._ready(unit) else None
            if prepared is None:
                self._transaction(unit)
                return
            self.report.resources += self._existing - existing
            self._chunk.extend(prepared)
            self._chunk_size += len(prepared)
            if self._chunk_size >= self.batch:
                self._flush()
            return
        if unit.kind == "bundle" or unit.conditional:
            found = self._resolve(unit.conditional)
            if found == "missing" and defer:
                self._defer(unit)
                return
            if unit.kind == "bundle" or found != "ok":
                self._transaction(unit)
                return
        prepared = self._prepare(unit)
        if prepared is None:
            self._transaction(unit)
            return
        for piece in prepared:
            self._chunk.append(piece)
            self._chunk_size += len(piece.resources)
        if self._chunk_size >= self.batch:
            self._flush()

    def _flush(self) -> None:
        chunk, self._chunk, self._chunk_size = self._chunk, [], 0
        if not chunk:
            return
        resources = [r for piece in chunk for r in piece.resources]
        try:
            self.report.resources += self.store.bulk_update(self.ctx, resources)
        except HeliosError:
            self._retry(chunk)
            return
        self._progress()

    def _retry(self, pieces: list[_Piece]) -> None:
        """Write each piece alone (after a chunk failed) to find the failing ones."""
        for piece in pieces:
            try:
                self.report.resources += self.store.bulk_update(self.ctx, piece.resources)
            except HeliosError as exc:
                if piece.atomic:
                    self._transaction(piece.unit)  # its error names the entry
                else:
                    where = f"{piece.unit.where} {piece.label}".rstrip()
                    self._fail(_failure(where, exc, piece.unit.order))
        self._progress()

    def _transaction(self, unit: Unit) -> None:
        """Run a Bundle through ``store.transaction``; failures name the entry."""
        self._flush()
        assert unit.bundle is not None
        try:
            response = self.store.transaction(self.ctx, unit.bundle)
        except HeliosError as exc:
            self._epoch += 1
            self._cache.clear()
            self._absent.clear()
            self._fail(_failure(unit.where, exc, unit.order))
            return
        self._epoch += 1
        self._cache.clear()
        self._absent.clear()
        for i, entry in enumerate(response.get("entry") or []):
            answer = (entry or {}).get("response") or {}
            status = str(answer.get("status", ""))
            if status[:1] == "2":
                self.report.resources += 1
            else:
                outcome = answer.get("outcome") or {}
                issues = outcome.get("issue") or [{}]
                message = f"{status}: {issues[0].get('diagnostics', '')}".strip(": ")
                where = f"{unit.where} Bundle.entry[{i}]"
                self._fail(Failure(where, message, outcome, order=unit.order))
        self._progress()

    # -- conditional references -----------------------------------------------------------------
    def _resolve(self, refs: frozenset[str], *, each: bool = False) -> str:
        """Look up the conditional references not known yet: "ok" (each matches one
        resource), "missing" (one matches nothing) or "error" (several, or bad criteria);
        ``each``: look up every one, whatever the others answer (a look-ahead)."""
        todo = [ref for ref in sorted(refs) if ref not in self._cache and ref not in self._absent]
        status = "ok"
        if todo:
            self._flush()  # the database must hold everything read before
            with self.store.read_session(self.ctx) as s:
                for ref in todo:
                    rtype, _, criteria = ref.partition("?")
                    try:
                        ids = self.store.op_match(s, rtype, criteria)
                    except HeliosError:
                        ids = None
                    if ids is None or len(ids) > 1:
                        if each:
                            status = "error"
                            continue
                        return "error"
                    if not ids:
                        status = "missing"
                    if _cacheable(ref):
                        self._note(ref, f"{rtype}/{ids[0]}" if ids else None)
        if any(ref in self._absent for ref in refs):
            return "missing"
        if status == "ok" and any(ref not in self._cache for ref in refs):
            return "error"  # a chain or _has: not cached, the transaction resolves it
        return status

    def _note(self, ref: str, target: str | None) -> None:
        """Remember what ``ref`` matches (``target``, or nothing), and whether a created
        resource can be matched against it in memory (a ``param=[system|]code`` token)."""
        if target is None:
            self._absent.add(ref)
        else:
            self._cache[ref] = target
        if ref in self._systems or any(ref in refs for refs in self._undecided.values()):
            return
        rtype = ref.partition("?")[0]
        try:
            query = parse(ref, registry=self.store.registry_for(self.ctx))
        except HeliosError:
            query = None
        where = query.where if query is not None else None
        if (
            query is not None
            and isinstance(where, ir.TokenMatch)
            and where.op is ir.TokenOp.EQ
            and where.code is not None
            and where.param != "_id"
            and query == ir.Query(resource_type=rtype, where=where)
        ):
            self._by_token.setdefault((rtype, where.param, where.code), set()).add(ref)
            self._systems[ref] = where.system
        else:
            self._undecided.setdefault(rtype, set()).add(ref)

    def _decided(self, ref: str) -> bool:
        """Whether what ``ref`` matches is known and kept true as resources are created."""
        return (ref in self._cache or ref in self._absent) and ref in self._systems

    def _learn(self, document: dict[str, Any]) -> None:
        """Keep what is known true when ``document`` is created: the token criteria of its
        type that it matches now match it (or, if they matched another, several: forgotten);
        its type's other criteria are forgotten. A document that cannot be written (it fails
        validation or indexing) teaches nothing."""
        rtype = str(document.get("resourceType"))
        try:
            self.store._validate(document)
            rows = self.store._extract(document, self.ctx).rows
        except HeliosError:
            return
        target = f"{rtype}/{document['id']}"
        for row in rows:
            if type(row) is not TokenRow or row.code is None:
                continue
            for ref in self._by_token.get((rtype, row.param, row.code), ()):
                system = self._systems[ref]
                if system is not None and system != (row.system or ""):
                    continue
                if ref in self._absent:
                    self._absent.discard(ref)
                    self._cache[ref] = target
                elif self._cache.get(ref, target) != target:
                    del self._cache[ref]
        for ref in self._undecided.get(rtype, ()):
            self._cache.pop(ref, None)
            self._absent.discard(ref)

    def _forget(self, types: set[str]) -> None:
        """Forget resolutions a write of ``types`` may change."""
        if types:
            for ref in [ref for ref in self._cache if ref.partition("?")[0] in types]:
                del self._cache[ref]
            self._absent -= {ref for ref in self._absent if ref.partition("?")[0] in types}

    def _defer(self, unit: Unit) -> None:
        doc = unit.document
        keep = doc if doc.source.path is None else None
        self._deferred.append(_Deferred(doc.source, doc.line, unit.conditional, keep))

    # -- reporting ------------------------------------------------------------------------------
    def _fail(self, failure: Failure) -> None:
        self.report.failures.append(failure)
        if not self.continue_on_error:
            raise LoadStopped(failure, self.report)

    def _progress(self) -> None:
        if self.on_progress is not None:
            self.on_progress(self.report.resources, self._bytes_done, self._bytes_total)


def load(
    store: Any,
    ctx: TenantContext,
    sources: list[Source],
    **options: Any,
) -> LoadReport:
    """Load ``sources`` into ``store`` (options as for :class:`Loader`)."""
    return Loader(store, ctx, **options).load(sources)
