from __future__ import annotations

from pathlib import Path

import pytest
from sqlite_helpers import patient

from helios_persistence.backends.sqlite.store import SQLiteStore
from helios_persistence.store_urls import open_store
from helios_persistence.tenancy import TenantContext


def test_memory_stores_are_private() -> None:
    ctx = TenantContext.for_tenant("t")
    with open_store("sqlite://") as a, open_store("sqlite://") as b:
        a.update(ctx, patient(id="p"))
        assert isinstance(a, SQLiteStore) and a.path is None
        assert b.history(ctx)["total"] == 0


def test_file_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with open_store(f"sqlite:///{tmp_path}/abs.db") as store:
        assert store.path == tmp_path / "abs.db"
    monkeypatch.chdir(tmp_path)
    with open_store("sqlite:///relative.db") as store:
        assert store.path == Path("relative.db")
    assert (tmp_path / "relative.db").exists()


def test_options(tmp_path: Path) -> None:
    with open_store(f"sqlite:///{tmp_path}/t?tenancy=database&busy_timeout=1234") as store:
        assert store.tenancy == "database" and store.busy_timeout_ms == 1234
        assert (tmp_path / "t").is_dir()
    with open_store("sqlite://?tenancy=shared&base_url=http://x/fhir") as store:
        assert store.base_url == "http://x/fhir"
        ctx = TenantContext.for_tenant("t")
        store.update(ctx, patient(id="p"))
        assert store.history(ctx)["entry"][0]["fullUrl"] == "http://x/fhir/Patient/p"


@pytest.mark.parametrize(
    "url, message",
    [
        ("mysql://x", "unsupported"),
        ("sqlite://host/x.db", "no host"),
        ("sqlite://?tenancy=other", "tenancy"),
        ("sqlite://?frobnicate=1", "unknown store option"),
        ("sqlite://?busy_timeout=soon", "busy_timeout"),
    ],
)
def test_bad_urls(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        open_store(url)
