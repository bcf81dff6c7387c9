"""Keeping the secondaries in step with the primary's outbox, and measuring how far behind
they are.

Every committed write leaves an outbox event in the primary's own transaction; a
:class:`Replica` (one secondary) remembers, per tenant, the outbox position it has applied up
to. Applying is :func:`~helios_persistence.storage.sync.replicate` (idempotent by version,
resumable from the position before the first failed change), in one of two modes:

* ``sync``: after each write through the composite, before the call returns (retried
  ``retries`` times; a failure is recorded and logged, the write stays committed and the
  outbox keeps the change for the next round);
* ``async``: a worker thread applies every tracked tenant's new events in batches, backing
  off exponentially after failures, so a secondary that was down catches up when it returns.

``hybrid`` is the search secondary synchronous and the graph secondary asynchronous. Lag
(events not applied yet, the oldest one's age) is read from the outbox itself, so it is right
after a restart too; routing never trusts a secondary beyond its position (see the router).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from helios_persistence.composite.config import SyncSettings
from helios_persistence.storage.sync import ApplyReport, Change, replicate
from helios_persistence.tenancy import TenantContext

__all__ = ["Lag", "Replica", "Synchronizer"]

log = logging.getLogger(__name__)


@dataclass
class Replica:
    """One secondary and its sync state."""

    role: str
    store: Any
    mode: str
    #: tenant key → the outbox position applied up to
    positions: dict[str, int] = field(default_factory=dict)
    applied: int = 0
    failures: int = 0
    #: failures in a row (the worker's backoff grows with them)
    streak: int = 0
    last_error: str | None = None
    last_sync: float | None = None
    retry_at: float = 0.0
    #: an apply failed, or the health monitor found it unhealthy: it may have lost data (a
    #: restarted node answers "no such index" or "database unavailable" per change as well as
    #: not at all), so it is checked against the primary (and rebuilt if it differs) before it
    #: is applied to or routed to again
    suspect: bool = False
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    def position(self, ctx: TenantContext) -> int:
        return self.positions.get(ctx.tenant_key, 0)


@dataclass(frozen=True)
class Lag:
    """How far one secondary is behind the primary for a tenant."""

    role: str
    mode: str
    position: int
    #: outbox events not applied yet (at most the cap; ``capped`` when there are more)
    pending: int
    capped: bool
    #: age in seconds of the oldest event not applied yet (None: none pending)
    oldest_seconds: float | None
    applied: int
    failures: int
    last_error: str | None

    def to_dict(self) -> dict[str, Any]:
        return dict(vars(self))


class Synchronizer:
    """Applies the primary's outbox to the replicas (see the module docstring)."""

    def __init__(
        self,
        primary: Any,
        replicas: list[Replica],
        settings: SyncSettings,
        report: Any = lambda role, error: None,
    ) -> None:
        self.primary = primary
        self.replicas = replicas
        self.settings = settings
        #: told of each apply's outcome (the health monitor's passive checks)
        self.report = report
        #: whether a secondary is healthy (the health monitor's verdict)
        self.healthy: Any = lambda role: True
        #: tenants written through the composite (the worker syncs these)
        self.tenants: dict[str, TenantContext] = {}
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- applying -------------------------------------------------------------------------------
    def track(self, ctx: TenantContext) -> None:
        self.tenants.setdefault(ctx.tenant_key, ctx)

    def sync_replica(
        self, replica: Replica, ctx: TenantContext, *, check: bool = True
    ) -> ApplyReport:
        """Apply ``replica``'s unapplied events of the tenant (a failure is recorded, never
        raised: the outbox keeps what was not applied). A suspect replica is first checked
        against the primary; with ``check=False`` (inside a write: the worker checks it) it is
        applied to as it is and stays suspect (applying is idempotent, and a check rebuilds
        whatever it lost)."""
        with replica.lock:
            if replica.suspect and check:
                try:
                    self.verify(replica)
                except Exception as exc:
                    self._failed(replica, f"{type(exc).__name__}: {exc}", exc)
                    return ApplyReport(failed=[])
            try:
                report, position = replicate(
                    self.primary, replica.store, ctx,
                    after=replica.position(ctx), batch=self.settings.batch,
                )  # fmt: skip
            except Exception as exc:  # the secondary (or its driver) failed outright
                replica.suspect = True
                self._failed(replica, f"{type(exc).__name__}: {exc}", exc)
                return ApplyReport(failed=[])
            moved = position != replica.position(ctx)
            replica.positions[ctx.tenant_key] = position
            replica.applied += report.applied
            if moved:
                _make_visible(replica.store)
            if report.failed:
                replica.suspect = True
                change, reason = report.failed[0]
                self._failed(replica, f"{change.resource_type}/{change.id}: {reason}", None)
            else:
                replica.streak, replica.last_sync = 0, time.time()
                self.report(replica.role, None)
                if self.settings.trim and moved:
                    self._trim(ctx)
            return report

    def verify(self, replica: Replica, contexts: list[TenantContext] | None = None) -> list[Any]:
        """Check ``replica`` against the primary for each tracked tenant (or ``contexts``) and
        rebuild it where it differs by more than its unapplied outbox events explain (a
        secondary that lost data, e.g. a restarted node): afterwards it holds the primary's
        current versions and resumes from the outbox position read before the check (else
        it simply resumes from its own). Returns each tenant's drift found."""
        from helios_persistence.storage.sync import compare, rebuild

        ensure = getattr(replica.store, "ensure", None)
        if callable(ensure):  # (re-create what the secondary lost: an index, a database)
            ensure()
        drifts = []
        with replica.lock:
            for ctx in contexts or list(self.tenants.values()):
                head, pending = self._head(ctx, replica.position(ctx))
                drift = compare(self.primary, replica.store, ctx)
                differ = {*drift.missing, *drift.extra, *drift.stale}
                if differ - pending:  # more than the unapplied changes explain: data lost
                    log.warning("the %s secondary differs from the primary (%d missing, %d "
                                "extra, %d stale): rebuilding", replica.role, len(drift.missing),
                                len(drift.extra), len(drift.stale))  # fmt: skip
                    report = rebuild(self.primary, replica.store, ctx, batch=self.settings.batch)
                    if report.failed:
                        change, reason = report.failed[0]
                        raise RuntimeError(f"rebuild failed on {change.resource_type}/"
                                           f"{change.id}: {reason}")  # fmt: skip
                    _make_visible(replica.store)
                    replica.positions[ctx.tenant_key] = head
                    if self.settings.trim:
                        self._trim(ctx)
                drifts.append(drift)
            replica.suspect = False
        return drifts

    def _head(self, ctx: TenantContext, after: int) -> tuple[int, set[tuple[str, str]]]:
        """The tenant's newest outbox position (``after`` when nothing is newer) and the
        resources the events after ``after`` change."""
        changed: set[tuple[str, str]] = set()
        while True:
            page = self.primary.read_outbox(ctx, after=after, limit=1000)
            if not page:
                return after, changed
            changed.update((c.resource_type, c.id) for c in page)
            after = page[-1].seq

    def _failed(self, replica: Replica, message: str, exc: BaseException | None) -> None:
        replica.failures += 1
        replica.streak += 1
        replica.last_error = message
        delay = min(self.settings.backoff_max, self.settings.backoff * 2 ** (replica.streak - 1))
        replica.retry_at = time.monotonic() + delay
        log.warning("sync of the %s secondary failed: %s", replica.role, message)
        self.report(replica.role, exc or RuntimeError(message))

    def _trim(self, ctx: TenantContext) -> None:
        up_to = min(r.position(ctx) for r in self.replicas)
        if up_to > 0:
            self.primary.trim_outbox(ctx, up_to)

    def after_write(self, ctx: TenantContext) -> None:
        """Called after each write through the composite: synchronous replicas apply it now
        (retried; a suspect one stays suspect until the worker has checked it), asynchronous
        ones are woken."""
        self.track(ctx)
        for replica in self.replicas:
            if replica.mode != "sync" or not self.healthy(replica.role):
                continue  # (an unhealthy one is left to the worker: writes never wait on it)
            for _ in range(self.settings.retries + 1):
                report = self.sync_replica(replica, ctx, check=False)
                if replica.streak == 0 and not report.failed:
                    break
        if any(r.mode == "async" for r in self.replicas):
            self._wake.set()

    def catch_up(self, ctx: TenantContext | None = None, *, timeout: float = 60.0) -> bool:
        """Apply every replica's unapplied events of ``ctx``'s tenant (default: every tracked
        tenant) now, retrying until none is pending or ``timeout`` s passed; whether all are."""
        contexts = [ctx] if ctx is not None else list(self.tenants.values())
        deadline = time.monotonic() + timeout
        while True:
            for c in contexts:
                self.track(c)
                for replica in self.replicas:
                    self.sync_replica(replica, c)
            if all(not self.pending(r, c, 1) for r in self.replicas for c in contexts):
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(min(self.settings.poll, max(0.0, deadline - time.monotonic())))

    # -- lag ------------------------------------------------------------------------------------
    def pending(self, replica: Replica, ctx: TenantContext, limit: int) -> list[Change]:
        """The tenant's events ``replica`` has not applied (at most ``limit``)."""
        found: list[Change] = self.primary.read_outbox(
            ctx, after=replica.position(ctx), limit=limit
        )
        return found

    def lag(self, ctx: TenantContext, *, cap: int = 10_000) -> list[Lag]:
        """Each replica's lag for the tenant (pending counted up to ``cap``)."""
        out = []
        now = time.time() * 1_000_000
        for r in self.replicas:
            pending = self.pending(r, ctx, cap + 1)
            oldest = (now - pending[0].created_at) / 1_000_000 if pending else None
            out.append(
                Lag(
                    r.role, r.mode, r.position(ctx), min(len(pending), cap), len(pending) > cap,
                    None if oldest is None else round(max(0.0, oldest), 3), r.applied,
                    r.failures, r.last_error,
                )
            )  # fmt: skip
        return out

    # -- the worker -----------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Start the worker thread (asynchronous replicas); no-op when it runs."""
        if self.running or not self.replicas:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="helios-sync", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the worker after its current batch (what it applied stays applied; what it
        had not is applied again by the next round: applying is idempotent)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            busy = False
            for replica in self.replicas:
                # asynchronous replicas, and synchronous ones a failure left behind
                if replica.mode != "async" and not (replica.streak or replica.suspect):
                    continue
                if not self.healthy(replica.role):  # (the health monitor says when it is back)
                    continue
                if time.monotonic() < replica.retry_at:
                    continue
                for ctx in list(self.tenants.values()):
                    if self._stop.is_set():
                        return
                    report = self.sync_replica(replica, ctx)
                    busy |= report.applied > 0
            if not busy:
                self._wake.wait(self.settings.poll)


def _make_visible(store: Any) -> None:
    """A store that defers visibility (Elasticsearch with ``refresh=false``) is refreshed
    after each applied batch, so what a position covers is what its searches see."""
    refresh_now = getattr(store, "refresh_now", None)
    if callable(refresh_now) and getattr(store, "refresh", None) not in ("wait_for", "true"):
        refresh_now()
