"""Fault injection with the real services: a secondary (Elasticsearch, Neo4j) stopped during
a load and started again (``scripts/services down|up <service>``), and a sync worker killed
mid-batch.

The service tests stop a server, so they are ``slow`` and ``services_restart``: run them with
``make test-slow`` (or ``pytest -m services_restart``) where nothing else uses that server.
They stop and start the server the test talks to (``HELIOS_TEST_NEO4J`` /
``HELIOS_TEST_ELASTICSEARCH``, see ``tests/services.py``) with this checkout's
``scripts/services``, passing its port on (``HELIOS_NEO4J_PORT`` / ``HELIOS_ES_PORT``); before a
``down`` they check that the pid in the script's cache (``HELIOS_SERVICES_CACHE``, default
this checkout's ``.cache/services``) listens on that port, and fail rather than stop another
server. On a machine whose default services are shared, start private ones and point the
tests at them, e.g.::

    export HELIOS_SERVICES_CACHE=$PWD/.cache/services HELIOS_NEO4J_PORT=7688 \
        HELIOS_ES_PORT=9201 HELIOS_ES_TRANSPORT_PORT=9301 \
        HELIOS_TEST_NEO4J=bolt://127.0.0.1:7688 HELIOS_TEST_ELASTICSEARCH=http://127.0.0.1:9201
    scripts/services up neo4j elasticsearch
    pytest -m services_restart tests/composite/test_faults.py
    scripts/services down neo4j elasticsearch

(``HELIOS_ES_TRANSPORT_PORT`` must be set for the restart too: it is not in the URL.)
Elasticsearch and Neo4j start with fresh data, so the restarted secondary has lost everything:
the composite must notice, rebuild it from the primary and end with exactly the primary's
current versions, while every answer meanwhile is the primary's own.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

import helios_persistence as hp
from helios_persistence.composite import HealthSettings, SyncSettings
from helios_persistence.composite.costs import route_all
from helios_persistence.generator import generate
from helios_persistence.storage.sync import ApplyReport, Change, compare

try:
    from tests.composite.support import POLYGLOT, pages
    from tests.conformance.backends import _elasticsearch, _neo4j_store
    from tests.services import service_url
except ImportError:  # plain `pytest`: tests/ itself is on sys.path
    from composite.support import POLYGLOT, pages  # type: ignore[no-redef]
    from conformance.backends import _elasticsearch, _neo4j_store  # type: ignore[no-redef]
    from services import service_url  # type: ignore[no-redef]

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "services"
#: 100 generated patients: about 2,200 resources
PATIENTS = 100
HEALTH = HealthSettings(interval=0.5, timeout=2.0, failure_threshold=2, success_threshold=2)
SYNC = SyncSettings(batch=200, poll=0.1, backoff=0.2, backoff_max=2.0)


#: the script's port knob for each service (``up`` restarts it where the test talks to it)
PORT_KNOBS = {"neo4j": "HELIOS_NEO4J_PORT", "elasticsearch": "HELIOS_ES_PORT"}
#: the script's pid file of each service, under its cache's run/ directory
PID_FILES = {"neo4j": "neo4j.pid", "elasticsearch": "elasticsearch.pid"}


def services(action: str, name: str) -> None:
    """``scripts/services <action> <name>`` on the server the test uses (see the module
    docstring); a ``down`` first checks that the process it would stop listens there."""
    port = urlsplit(service_url(name)).port
    env = dict(os.environ)
    if port is not None:
        env[PORT_KNOBS[name]] = str(port)
    if action == "down":
        _check_target(name, port, env)
    done = subprocess.run([str(SCRIPT), action, name], env=env, timeout=400,
                          capture_output=True, text=True)  # fmt: skip
    if done.returncode:
        pytest.fail(f"scripts/services {action} {name} failed ({done.returncode}):\n{done.stderr}")


def _check_target(name: str, port: int | None, env: dict[str, str]) -> None:
    """Refuse to stop a server that is not the one under test (another checkout's, or a
    shared one): the pid in the script's cache must listen on the test's port (Linux /proc)."""
    cache = Path(env.get("HELIOS_SERVICES_CACHE") or SCRIPT.parents[1] / ".cache" / "services")
    pid_file = cache / "run" / PID_FILES[name]
    pid = pid_file.read_text().strip() if pid_file.is_file() else ""
    if not pid.isdigit():
        pytest.fail(f"{name} at port {port} was not started from {cache} (no pid in {pid_file})")
    if port is None or not Path("/proc/net/tcp").is_file():
        return
    fds = Path(f"/proc/{pid}/fd")
    if not fds.is_dir():
        pytest.fail(f"{name}: pid {pid} from {pid_file} is not running")
    sockets = set()
    for fd in fds.iterdir():
        target = os.readlink(fd) if fd.is_symlink() else ""
        if target.startswith("socket:["):
            sockets.add(target[8:-1])
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            listens = fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port
            if listens and fields[9] in sockets:
                return
    pytest.fail(f"pid {pid} from {pid_file} does not listen on port {port}: not stopping it")


def _wait(condition: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def _same_answers(store: Any, primary: Any, ctx: hp.TenantContext) -> None:
    for query in POLYGLOT:
        assert pages(store, ctx, query) == pages(primary, ctx, query), query


@pytest.mark.slow
@pytest.mark.services
@pytest.mark.services_restart
@pytest.mark.parametrize("service", ["elasticsearch", "neo4j"])
@pytest.mark.parametrize("mode", ["async", "sync"])
def test_a_secondary_stopped_during_a_load(service: str, mode: str) -> None:
    service_url(service)
    role = "search" if service == "elasticsearch" else "graph"
    ctx = hp.TenantContext.for_tenant(f"fault-{uuid.uuid4().hex[:6]}")
    primary = hp.open_store("sqlite://")
    search = _elasticsearch() if service == "elasticsearch" else _neo4j_store()
    store = hp.composite(primary=primary, **{role: search}, sync=mode, costs=route_all(),
                         health=HEALTH, sync_settings=SYNC)  # fmt: skip
    stopped = False
    try:
        errors: list[BaseException] = []
        resources = list(generate(PATIENTS, seed=19))
        half = len(resources) // 2

        turn = threading.Lock()  # (a comparison of two answers never straddles a write)

        def load() -> None:  # writes never fail because a secondary is down
            try:
                for start in range(0, len(resources), 100):
                    with turn:
                        store.bulk_load(ctx, resources[start : start + 100])
                    time.sleep(0.01)  # (the searches get their turn)
            except BaseException as exc:
                errors.append(exc)

        writer = threading.Thread(target=load)
        writer.start()
        assert _wait(lambda: len(primary.read_outbox(ctx, limit=half + 1)) > half, 120)
        services("down", service)
        stopped = True
        while writer.is_alive():  # searches meanwhile: the primary's answers
            with turn:
                _same_answers(store, primary, ctx)
        writer.join()
        assert not errors, errors
        _same_answers(store, primary, ctx)
        lag = store.lag(ctx)[role]
        assert lag.pending > 0 and lag.oldest_seconds is not None  # the outbox holds them
        services("up", service)
        stopped = False
        caught_up = _wait(
            lambda: store.lag(ctx)[role].pending == 0 and not store.replicas[0].suspect, 300
        )
        assert caught_up, store.status(ctx)
        assert compare(primary, search, ctx).clean  # exactly the primary's current versions
        _same_answers(store, primary, ctx)
        store.search(ctx, POLYGLOT[0])
        assert role in {r.backend for r in store.last_execution.runs}  # routed to it again
    finally:
        if stopped:
            services("up", service)
        store.close()
        try:
            search.close()
        finally:
            primary.close()


class _CrashOnce:
    """Wraps a secondary: the first batch of more than one change is half applied, then the
    worker dies (an exception out of ``apply``)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.compiler = inner.compiler
        self.crashed = False

    def apply(self, ctx: hp.TenantContext, changes: Sequence[Change]) -> ApplyReport:
        if not self.crashed and len(changes) > 1:
            self.crashed = True
            self.inner.apply(ctx, changes[: len(changes) // 2])
            raise RuntimeError("sync worker killed mid-batch")
        return self.inner.apply(ctx, changes)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@pytest.mark.slow
@pytest.mark.services
def test_sync_worker_killed_mid_batch_with_elasticsearch() -> None:
    service_url("elasticsearch")
    ctx = hp.TenantContext.for_tenant(f"fault-{uuid.uuid4().hex[:6]}")
    primary = hp.open_store("sqlite://")
    es = _elasticsearch()
    search = _CrashOnce(es)
    store = hp.composite(primary=primary, search=search, sync="async", costs=route_all(),
                         sync_settings=SyncSettings(batch=50, poll=0.05, backoff=0.05))  # fmt: skip
    try:
        store.bulk_load(ctx, list(generate(14, seed=19)))
        store.sync.stop()  # and the worker is stopped outright while batches remain
        _same_answers(store, primary, ctx)
        store.sync.start()
        assert _wait(lambda: store.lag(ctx)["search"].pending == 0
                     and not store.replicas[0].suspect, 60)  # fmt: skip
        assert search.crashed and compare(primary, es, ctx).clean
        _same_answers(store, primary, ctx)
    finally:
        store.close()
        es.close()
        primary.close()
