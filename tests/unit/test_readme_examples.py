"""Every Python block of the README runs exactly as written.

A block whose first line is ``# readme: needs <server>`` is skipped (saying so); a block whose
first line names a test file (``# test_....py``) is saved under that name and run with pytest
and the kit's plugin against a scratch SQLite store, as the README tells its reader to.
"""

from __future__ import annotations

import builtins
import logging
import re
import subprocess
import symtable
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
BLOCKS = re.findall(r"^```python\n(.*?)^```", README.read_text(encoding="utf-8"), re.S | re.M)


def _id(block: str) -> str:
    first = block.splitlines()[0]
    return re.sub(r"\W+", "-", first)[:40].strip("-")


def test_the_readme_has_python_blocks() -> None:
    assert len(BLOCKS) >= 4
    assert any("helios_case" in b for b in BLOCKS)


@pytest.fixture
def quiet_logging() -> Iterator[None]:
    logger = logging.getLogger("helios_persistence.sql")
    level = logger.level
    yield
    logger.setLevel(level)


@pytest.mark.parametrize("block", BLOCKS, ids=[_id(b) for b in BLOCKS])
def test_readme_block_runs_as_written(
    block: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, quiet_logging: None
) -> None:
    first = block.splitlines()[0]
    if first.startswith("# readme: needs"):
        pytest.skip(first.removeprefix("# readme: "))
    monkeypatch.chdir(tmp_path)
    test_file = re.fullmatch(r"# (test_\w+\.py)", first)
    if test_file is None:
        exec(compile(block, str(README), "exec"), {"__name__": "readme"})
        return
    (tmp_path / test_file.group(1)).write_text(block, encoding="utf-8")
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "helios_persistence.testing.plugin",
         test_file.group(1), "--helios-store",
         f"sqlite:///{tmp_path}/scratch.db", "-q", "-p", "no:cacheprovider",
         "--rootdir", str(tmp_path)],
        cwd=tmp_path, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    tail = run.stdout[-3000:] + run.stderr[-2000:]
    assert run.returncode == 0, tail
    summary = run.stdout.strip().splitlines()[-1]
    assert re.search(r"\b4\d\d passed", summary) and "failed" not in summary, summary


NEEDS_SERVER = [b for b in BLOCKS if b.startswith("# readme: needs")]


@pytest.mark.parametrize("block", NEEDS_SERVER, ids=[_id(b) for b in NEEDS_SERVER])
def test_a_block_that_needs_a_server_stands_alone(block: str) -> None:
    """A block skipped for its server still runs as written where the server is: it
    defines or imports every name it uses (none from the blocks before it)."""
    table = symtable.symtable(block, str(README), "exec")
    undefined = {
        s.get_name()
        for s in table.get_symbols()
        if s.is_referenced() and not (s.is_assigned() or s.is_imported())
    } - set(dir(builtins))
    assert not undefined, f"names from other blocks: {sorted(undefined)}"
