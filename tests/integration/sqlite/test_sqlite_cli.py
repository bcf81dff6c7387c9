"""The ``helios`` command as a user meets it: loading from a pipe, clear errors (exit 2, no
traceback unless ``--debug``), read-only commands that never create a database, output
formats, help, the demo."""

from __future__ import annotations

import gzip
import json
import re
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import pytest

import helios_persistence as hp
from helios_persistence.cli import build_parser, main
from helios_persistence.generator import count_by_type, generate

CTX = hp.TenantContext.for_tenant("default")
HELIOS = [sys.executable, "-m", "helios_persistence.cli"]


def run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*HELIOS, *args], input=stdin.decode() if stdin else None, capture_output=True,
        text=True, timeout=300, check=False,
    )  # fmt: skip


def test_generate_piped_into_load_from_stdin(tmp_path: Path) -> None:
    db = tmp_path / "piped.db"
    command = (
        f"{sys.executable} -m helios_persistence.cli generate --patients 2 --seed 9 | "
        f"{sys.executable} -m helios_persistence.cli load - --store sqlite:///{db}"
    )
    done = subprocess.run(command, shell=True, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    expected = sum(count_by_type(patients=2, seed=9).values())
    assert f"{expected:,} resources" in done.stderr
    with hp.open_store(f"sqlite:///{db}") as store:
        assert store.search(CTX, "Patient?_total=accurate&_count=0").total == 2


def test_gzipped_ndjson_folder_and_glob(tmp_path: Path) -> None:
    data = tmp_path / "data" / "nested"
    data.mkdir(parents=True)
    resources = list(generate(patients=2, seed=4))
    half = len(resources) // 2
    text = [
        "".join(json.dumps(r) + "\n" for r in part) for part in (resources[:half], resources[half:])
    ]
    (data / "a.ndjson.gz").write_bytes(gzip.compress(text[0].encode()))
    (data / "b.jsonl").write_text(text[1])
    url = f"sqlite:///{tmp_path / 'x.db'}"
    assert main(["load", str(tmp_path / "data"), "--store", url]) == 0
    assert main(["load", f"{tmp_path}/data/**/*.jsonl", "--store", url]) == 0  # again: updates
    with hp.open_store(url) as store:
        total = store.search(CTX, "Observation?_total=accurate&_count=0").total
        assert total == sum(r["resourceType"] == "Observation" for r in resources)
        assert store.vread(CTX, resources[-1]["resourceType"], resources[-1]["id"], "2")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["load", "{tmp}/missing.ndjson", "--store", "sqlite:///{tmp}/a.db"], "no such file"),
        (["load", "{tmp}/bad.json", "--store", "sqlite:///{tmp}/a.db"], "bad.json:3:"),
        (["load", "{tmp}/bad.json", "--store", "mysql://localhost/x"], "unsupported store URL"),
        (["search", "Patient?", "--store", "sqlite:///{tmp}/gne.db"], "no database at"),
        (["search", "Patient?", "--store", "sqlite://host/x.db"], "a sqlite URL has no host"),
        (["search", "Patient?nonsense=1", "--store", "sqlite://"], "InvalidSearch"),
        (["compile", "Patient?name=x", "--store", "sqlite:///{tmp}/gne.db"], "no database at"),
        (["conformance", "--store", "sqlite:///{tmp}/gne.db"], "no database at"),
        (["load", "{tmp}/bad.json", "--store", "sqlite:////no/such/dir/x.db"], "cannot open"),
        (["generate", "--output", "{tmp}/no/such/dir/x.ndjson"], "No such file"),
    ],
)
def test_user_mistakes_exit_2_with_a_message_and_no_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    (tmp_path / "bad.json").write_text('{\n  "resourceType": "Patient",\n  oops\n}\n')
    argv = [a.replace("{tmp}", str(tmp_path)) for a in args]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "gne.db").exists()  # read-only commands create nothing
    assert main(["--debug", *argv]) == 2
    assert "Traceback" in capsys.readouterr().err
    assert main([*argv, "--debug"]) == 2  # after the command too, as the message suggests
    assert "Traceback" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["compile", "Patient?name=x", "--dialect", "oracle"], "'postgresql'"),
        (["search", "Patient?", "--store", "sqlite://", "--tenant", "a b"], "invalid tenant id"),
        (["load", "-", "--store", "sqlite://", "--batch", "0"], "not a positive integer"),
    ],
)
def test_bad_options_are_usage_errors(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2
    assert message in capsys.readouterr().err


def test_cannot_open_names_the_resolved_path(tmp_path: Path) -> None:
    with pytest.raises(hp.errors.InvalidStoreURL) as caught:
        hp.open_store(f"sqlite:///{tmp_path}/missing-dir/x.db")
    assert str(tmp_path / "missing-dir" / "x.db") in str(caught.value)
    assert "sqlite:////absolute" in str(caught.value)
    with pytest.raises(ValueError):  # still a ValueError for callers that caught that
        hp.open_store("nosuch://x")


def test_no_implicit_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HELIOS_STORE", raising=False)
    with pytest.raises(SystemExit):
        main(["search", "Patient?"])
    assert list(tmp_path.iterdir()) == []


def test_load_exit_status_and_summary_of_failures(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "mixed.ndjson"
    path.write_text(
        json.dumps({"resourceType": "Patient", "id": "ok"}) + "\n"
        + json.dumps({"resourceType": "Patient", "id": "not ok"}) + "\n"
    )  # fmt: skip
    url = f"sqlite:///{tmp_path / 'm.db'}"
    assert main(["load", str(path), "--store", url]) == 1
    err = capsys.readouterr().err
    assert f"{path}:2" in err and "OperationOutcome" in err and "stopped after" in err
    assert main(["load", str(path), "--store", url, "--continue-on-error"]) == 1
    err = capsys.readouterr().err
    assert f"failed: {path}:2" in err and "1 failure(s)" in err


def _loaded(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 's.db'}"
    path = tmp_path / "g.ndjson"
    path.write_text("".join(json.dumps(r) + "\n" for r in generate(patients=3, seed=1)))
    assert main(["load", str(path), "--store", url]) == 0
    return url


def test_search_formats(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = _loaded(tmp_path)
    capsys.readouterr()
    query = "Patient?_include=Patient:organization&_sort=birthdate"
    assert main(["search", query, "--store", url, "--base-url", "https://x.org/fhir"]) == 0
    bundle = json.loads(capsys.readouterr().out)
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "searchset"
    ids = [e["resource"]["id"] for e in bundle["entry"]]
    assert main(["search", query, "--store", url, "--format", "json"]) == 0
    assert [r["id"] for r in json.loads(capsys.readouterr().out)] == ids
    assert main(["search", query, "--store", url, "--format", "ndjson"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(line)["id"] for line in lines] == ids
    assert main(["search", query, "--store", url, "--format", "table"]) == 0
    table = capsys.readouterr().out
    assert all(rid in table for rid in ids) and "include" in table


def test_compile_params_name_every_parameter(capsys: pytest.CaptureFixture[str]) -> None:
    for dialect in ["sqlite", "postgres", "postgresql"]:
        for query in [
            "Observation?date=ge2020&_sort=-date&_include=Observation:patient",
            "Patient?_has:Observation:patient:code=1234&name:exact=x&_total=accurate",
            "Patient?_filter=gender eq female and birthdate lt 1975",
        ]:
            compiled = hp.compile(hp.parse(query), dialect=dialect, tenant="acme")
            text = f"{compiled.text} {compiled.count_text}"
            used = set(re.findall(r"(?<![:\w]):(\w+)", text)) | set(
                re.findall(r"%\((\w+)\)s", text)
            )
            assert used and used <= set(compiled.params), (dialect, query)
            assert compiled.params["tenant"] == "acme"
    assert hp.compile(hp.parse("Patient?name=x")).params["tenant"] is None
    assert main(["compile", "Patient?name=x", "--dialect", "postgresql", "--tenant", "t1"]) == 0
    assert "'tenant': 't1'" in capsys.readouterr().out


def test_compile_with_a_store_binds_its_custom_parameters(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'sp.db'}"
    custom = {
        "resourceType": "SearchParameter", "id": "nick", "url": "http://x.org/sp/nick",
        "name": "nick", "status": "active", "code": "nick", "base": ["Patient"],
        "type": "string", "expression": "Patient.name.given",
    }  # fmt: skip
    with hp.open_store(url) as store:
        store.update(CTX, custom)
    assert main(["compile", "Patient?nick=bo", "--store", url]) == 0
    assert "nick" in capsys.readouterr().out
    assert main(["compile", "Patient?nick=bo"]) == 2  # the default registry does not know it


def test_version_and_help_on_every_option(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.strip() == f"helios {hp.__version__}"
    parser = build_parser()
    subparsers = next(a for a in parser._actions if a.choices and isinstance(a.choices, dict))
    for name, sub in subparsers.choices.items():
        for action in sub._actions:
            assert action.help, f"helios {name} {action.dest} has no help"
            if action.default not in (None, False, "==SUPPRESS=="):
                helped = " ".join(sub.format_help().split())
                assert f"(default: {action.default})" in helped, (name, action.dest)


def test_demo_removes_its_database_and_shows_whole_ids(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setenv("COLUMNS", "80")
    assert main(["demo", "--patients", "4"]) == 0
    assert list(tmp_path.iterdir()) == []  # the temporary folder is gone
    out = capsys.readouterr().out
    uuids = re.findall(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", out)
    assert uuids and all(uuid.UUID(u) for u in uuids)
    assert "…" not in "".join(line for line in out.splitlines() if "Observation/" in line)


def test_base_url_makes_absolute_references_local(tmp_path: Path) -> None:
    path = tmp_path / "obs.ndjson"
    path.write_text(
        json.dumps({"resourceType": "Patient", "id": "p1"}) + "\n"
        + json.dumps({
            "resourceType": "Observation", "id": "o1", "status": "final", "code": {"text": "x"},
            "subject": {"reference": "https://fhir.example.org/r4/Patient/p1"},
        }) + "\n"
    )  # fmt: skip
    for base, found in [(None, []), ("https://fhir.example.org/r4", ["Observation/o1"])]:
        url = f"sqlite:///{tmp_path / f'base{len(found)}.db'}"
        extra = ["--base-url", base] if base else []
        assert main(["load", str(path), "--store", url, *extra]) == 0
        with hp.open_store(url) as store:
            assert store.search(CTX, "Observation?subject=Patient/p1").ids == found


def test_progress_shows_resources_rate_and_eta(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "g.ndjson"
    resources = list(generate(patients=1, seed=2))
    path.write_text("".join(json.dumps(r) + "\n" for r in resources))
    assert main(["load", str(path), "--store", f"sqlite:///{tmp_path / 'p.db'}"]) == 0
    err = capsys.readouterr().err
    assert f"{len(resources)} resources" in err and "/s" in err and "ETA" in err
