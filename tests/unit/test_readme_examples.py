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
    if re.fullmatch(r"# (test_\w+\.py)", first) is None:
        exec(compile(block, str(README), "exec"), {"__name__": "readme"})
        return
    # the token cases and the hypothesis test here; every case under ``make test-slow``
    # (``tests/unit/test_testing_kit.py`` runs the plugin's whole suite on PostgreSQL)
    summary = _run_test_file(block, tmp_path, "-k", "token or test_answers_like_the_reference")
    passed = re.search(r"\b(\d+) passed", summary)
    assert passed and int(passed.group(1)) >= 20 and "deselected" in summary, summary
    assert "failed" not in summary and "error" not in summary, summary


@pytest.mark.slow
def test_readme_test_file_runs_every_case(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (block,) = [b for b in BLOCKS if re.fullmatch(r"# (test_\w+\.py)", b.splitlines()[0])]
    monkeypatch.chdir(tmp_path)
    summary = _run_test_file(block, tmp_path)
    assert re.search(r"\b4\d\d passed", summary) and "failed" not in summary, summary


def _run_test_file(block: str, tmp_path: Path, *selection: str) -> str:
    """Save ``block`` under the name its first line gives and run it as the README says
    (pytest with the kit's plugin, a scratch SQLite store): pytest's summary line."""
    name = block.splitlines()[0].removeprefix("# ")
    (tmp_path / name).write_text(block, encoding="utf-8")
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "helios_persistence.testing.plugin",
         name, "--helios-store", f"sqlite:///{tmp_path}/scratch.db", "-q",
         "-p", "no:cacheprovider", "--rootdir", str(tmp_path), *selection],
        cwd=tmp_path, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    tail = run.stdout[-3000:] + run.stderr[-2000:]
    assert run.returncode == 0, tail
    return run.stdout.strip().splitlines()[-1]


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
