"""Health of the secondaries: probed every ``interval`` seconds (a probe slower than ``timeout``
fails), and told of every search and sync call's outcome. ``failure_threshold`` failures in a
row make a secondary unhealthy, and the router stops sending it parts (the primary answers
them: correct, slower); ``success_threshold`` successful probes in a row make it healthy
again.

A probe is the store's ``ping()`` when it has one, else (after its ``ensure()``, which
re-creates what a restarted node lost) a one-resource search.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from helios_persistence import ir
from helios_persistence.composite.config import HealthSettings
from helios_persistence.tenancy import TenantContext

__all__ = ["Health", "HealthMonitor"]

_PROBE_CTX = TenantContext.for_tenant("helios-health-probe")


@dataclass
class Health:
    """One secondary's health."""

    role: str
    healthy: bool = True
    failures: int = 0
    successes: int = 0
    last_error: str | None = None
    last_check: float | None = None
    probe_ms: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(vars(self))


class HealthMonitor:
    """Tracks each secondary's health (see the module docstring)."""

    def __init__(self, stores: dict[str, Any], settings: HealthSettings) -> None:
        self.stores = stores
        self.settings = settings
        self.states = {role: Health(role) for role in stores}
        #: told when a secondary turns unhealthy (it may have restarted and lost data)
        self.on_unhealthy: Callable[[str], None] = lambda role: None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def healthy(self, role: str) -> bool:
        return self.states[role].healthy

    def record(self, role: str, error: BaseException | None) -> None:
        """One call's outcome (a probe, a search part, a sync apply)."""
        with self._lock:
            state = self.states[role]
            state.last_check = time.time()
            if error is None:
                state.failures = 0
                state.successes += 1
                if not state.healthy and state.successes >= self.settings.success_threshold:
                    state.healthy = True
                return
            state.successes = 0
            state.failures += 1
            state.last_error = f"{type(error).__name__}: {error}"
            turned = state.healthy and state.failures >= self.settings.failure_threshold
            if turned:
                state.healthy = False
        if turned:
            self.on_unhealthy(role)

    def probe(self, role: str) -> bool:
        """Probe one secondary now (bounded by ``timeout``); whether it answered."""
        store = self.stores[role]
        outcome: list[BaseException | None] = []

        def run() -> None:
            try:
                ping, ensure = getattr(store, "ping", None), getattr(store, "ensure", None)
                if callable(ping):
                    ping()
                else:
                    if callable(ensure):  # (a restarted node lost the index: make it again)
                        ensure()
                    store.search(_PROBE_CTX, ir.Query("Patient", count=1))
                outcome.append(None)
            except Exception as exc:
                outcome.append(exc)

        start = time.perf_counter()
        worker = threading.Thread(target=run, name=f"helios-probe-{role}", daemon=True)
        worker.start()
        worker.join(self.settings.timeout)
        elapsed = time.perf_counter() - start
        error = (
            outcome[0] if outcome else TimeoutError(f"no answer within {self.settings.timeout} s")
        )
        self.states[role].probe_ms = round(elapsed * 1000, 3)
        self.record(role, error)
        return error is None

    def check_all(self) -> dict[str, bool]:
        return {role: self.probe(role) for role in self.stores}

    # -- the monitor thread ---------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.running or not self.stores:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="helios-health", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.wait(self.settings.interval):
            self.check_all()
