from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from sqlite_helpers import patient

from helios_persistence.backends.sqlite.store import SQLiteStore
from helios_persistence.tenancy import TenantContext


def test_readers_run_during_a_write_in_wal_mode(tmp_path, ctx: TenantContext) -> None:
    store = SQLiteStore(tmp_path / "wal.db")
    store.update(ctx, patient(id="p1"))
    in_write = threading.Event()
    release = threading.Event()

    def writer() -> None:
        with store.write_session(ctx) as s:
            store.op_update(s, patient(id="p1", family="Uncommitted"))
            in_write.set()
            release.wait(10)

    t = threading.Thread(target=writer)
    t.start()
    assert in_write.wait(10)
    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=4) as pool:
        reads = list(pool.map(lambda _: store.read(ctx, "Patient", "p1"), range(8)))
    assert time.monotonic() - start < 5  # did not wait for the writer
    assert {r.version_id for r in reads} == {"1"}  # the last committed state
    release.set()
    t.join()
    assert store.read(ctx, "Patient", "p1").version_id == "2"
    store.close()
