"""WAL checkpoints: on the background thread, and in the committing thread past the limit.

Our WAL hook replaces SQLite's automatic checkpoint, so without a working checkpointer every
page would stay in the WAL until the store closes and the database file would not grow."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

import helios_persistence as hp
from helios_persistence.backends.sqlite import connection

CTX = hp.TenantContext.for_tenant("t")


def _write(store: hp.SQLiteStore, n: int) -> None:
    for start in range(0, n, 50):
        store.bulk_update(CTX, [
            {"resourceType": "Patient", "id": f"p{i}", "name": [{"family": f"Family{i}" * 20}]}
            for i in range(start, start + 50)
        ])  # fmt: skip


def _grows(path: Path, size: int, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if path.stat().st_size > size:
            return True
        time.sleep(0.05)
    return False


def test_the_background_thread_checkpoints(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(connection, "CHECKPOINT_PAGES", 8)
    path = tmp_path / "store.db"
    with hp.open_store(f"sqlite:///{path}") as store:
        empty = path.stat().st_size
        _write(store, 500)
        assert _grows(path, empty + 500_000), "no checkpoint copied the WAL into the file"


def test_a_commit_checkpoints_itself_past_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(connection, "CHECKPOINT_SAFETY_PAGES", 16)
    monkeypatch.setattr(connection._Checkpointer, "wake", lambda self: None)  # thread off
    path = tmp_path / "store.db"
    with hp.open_store(f"sqlite:///{path}") as store:
        empty = path.stat().st_size
        _write(store, 500)
        assert path.stat().st_size > empty + 500_000
        assert Path(f"{path}-wal").stat().st_size < 40 * 4096 * 16  # bounded, not all data
