"""The wheel ships the grammars, the dialect assets and the registry, and they load from it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    source = tmp_path_factory.mktemp("source")  # a clean copy: no stale build/ folder
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source / name)
    for folder in ("src", "grammar", "dialects"):
        ignore = shutil.ignore_patterns("__pycache__")
        shutil.copytree(ROOT / folder, source / folder, ignore=ignore)
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--no-build-isolation",
         "-v", "-w", str(out)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    (out / "build.log").write_text(build.stdout + build.stderr)
    (built,) = out.glob("helios_persistence-*.whl")
    return built


def test_build_has_no_setuptools_deprecation_warning(wheel: Path) -> None:
    log = (wheel.parent / "build.log").read_text()
    assert "Successfully built" in log or wheel.is_file()
    for warning in ("deprecated", "Deprecat", "SetuptoolsDeprecationWarning"):
        assert warning not in log, log[log.find(warning) - 500 : log.find(warning) + 500]


def test_wheel_carries_the_license(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    meta = next(n for n in names if n.endswith(".dist-info/METADATA"))
    text = zipfile.ZipFile(wheel).read(meta).decode()
    assert "License-Expression: Apache-2.0" in text
    assert any(n.endswith("licenses/LICENSE") for n in names)


def test_wheel_contains_assets(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for asset in (
        "helios_persistence/grammar/search.lark",
        "helios_persistence/grammar/filter.lark",
        "helios_persistence/grammar/text.lark",
        "helios_persistence/dialects/sqlite/schema.sql",
        "helios_persistence/dialects/sqlite/migrations/002_history_type.sql",
        "helios_persistence/dialects/cypher/migrations/002_values_as_properties.cypher",
        "helios_persistence/registry/data/search-parameters.json",
        "helios_persistence/registry/data/compartmentdefinition-patient.json",
        "helios_persistence/model/data/r4-elements.json",
        "helios_persistence/py.typed",
        "helios_persistence/assets.py",
    ):
        assert asset in names, f"{asset} missing from {wheel.name}"


def test_installed_copy_loads_its_assets(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", "--target", str(target),
         str(wheel)],
        check=True,
    )  # fmt: skip
    probe = (
        f"import sys; sys.path.insert(0, {str(target)!r})\n"
        "import helios_persistence as hp, json\n"
        "from importlib import resources\n"
        f"assert hp.__file__.startswith({str(target)!r}), hp.__file__\n"
        "q = hp.parse('Observation?code=http://loinc.org|8867-4')\n"
        "schema = resources.files('helios_persistence.dialects').joinpath('sqlite/schema.sql')\n"
        "store = hp.open_store('sqlite://')\n"
        "ctx = hp.TenantContext.for_tenant('t')\n"
        "store.create(ctx, {'resourceType': 'Patient', 'text': {'status': 'generated',"
        " 'div': '<div>x</div>'}, 'name': [{'family': 'Doe'}]})\n"
        "assert store.search(ctx, 'Patient?name=doe').resources\n"
        "print(json.dumps([str(q), 'CREATE TABLE' in schema.read_text()]))\n"
    )
    env = {"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-I", "-c", probe],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    parsed, has_schema = json.loads(done.stdout)
    expected = '(TokenMatch code eq system="http://loinc.org" code="8867-4")'
    assert parsed == f"(Query Observation {expected})"
    assert has_schema is True


def test_every_package_is_listed() -> None:
    """pyproject.toml lists its packages (grammar/ and dialects/ are mapped from the top of
    the repository): a package missing from the list would be missing from the wheel."""
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    listed = set(config["tool"]["setuptools"]["packages"])
    found = {
        ".".join(p.parent.relative_to(ROOT / "src").parts)
        for p in (ROOT / "src").rglob("__init__.py")
        if "__pycache__" not in p.parts
    }
    mapped = config["tool"]["setuptools"]["package-dir"]
    found |= {name for name in mapped if name}
    found |= {  # the engines' data folders under dialects/
        "helios_persistence.dialects." + ".".join(d.relative_to(ROOT / "dialects").parts)
        for d in (ROOT / "dialects").rglob("*")
        if d.is_dir() and d.name != "__pycache__"
    }
    found |= {  # folders of data files inside packages (no __init__.py of their own)
        ".".join(d.relative_to(ROOT / "src").parts)
        for d in (ROOT / "src" / "helios_persistence").rglob("*")
        if d.is_dir()
        and d.name != "__pycache__"
        and not (d / "__init__.py").exists()
        and any(f.is_file() for f in d.iterdir())
    }
    assert listed == found
