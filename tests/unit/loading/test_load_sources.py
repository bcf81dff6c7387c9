"""What ``helios load`` reads: folders, globs, stdin, NDJSON / JSON / gzip, errors with lines."""

from __future__ import annotations

import gzip
import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helios_persistence.errors import InvalidInput
from helios_persistence.loading import Source, expand, read
from helios_persistence.loading.sources import scan

RESOURCE = {"resourceType": "Patient", "id": "p1", "name": [{"family": "Łukasiewicz"}]}


def values(source: Source) -> list[Any]:
    docs = list(read(source))
    assert all(d.error is None for d in docs), [str(d.error) for d in docs]
    return [d.value for d in docs]


def test_a_folder_is_searched_recursively_for_loadable_files(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    for name in ["a/b/x.json", "a/y.ndjson", "z.jsonl", "w.ndjson.gz", "a/notes.txt", "q.csv"]:
        (tmp_path / name).write_text("{}")
    names = [Path(s.name).relative_to(tmp_path).as_posix() for s in expand([str(tmp_path)])]
    assert names == ["a/b/x.json", "a/y.ndjson", "w.ndjson.gz", "z.jsonl"]


def test_globs_stdin_and_duplicates(tmp_path: Path) -> None:
    for name in ["1.json", "2.json", "3.ndjson"]:
        (tmp_path / name).write_text("{}")
    sources = expand([f"{tmp_path}/*.json", str(tmp_path / "1.json"), "-", "-"])
    assert [s.name for s in sources] == [str(tmp_path / "1.json"), str(tmp_path / "2.json"), "-"]
    assert sources[-1].path is None
    deep = expand([f"{tmp_path}/**/*.ndjson"])
    assert [s.path for s in deep] == [tmp_path / "3.ndjson"]


@pytest.mark.parametrize("argument", ["missing.json", "missing/*.json"])
def test_missing_files_name_the_resolved_path(tmp_path: Path, argument: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        expand([str(tmp_path / argument)])
    assert str(tmp_path / argument) in str(caught.value)


def test_an_empty_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="holds no"):
        expand([str(tmp_path)])


def _write(path: Path, text: str, compress: bool) -> None:
    data = text.encode("utf-8")
    path.write_bytes(gzip.compress(data) if compress else data)


documents = st.lists(
    st.fixed_dictionaries(
        {
            "resourceType": st.sampled_from(["Patient", "Observation", "Bundle"]),
            "id": st.from_regex(r"[A-Za-z0-9\-.]{1,20}", fullmatch=True),
            "note": st.text(max_size=30),
        }
    ),
    min_size=1,
    max_size=8,
)


@settings(max_examples=40, deadline=None)
@given(docs=documents, form=st.sampled_from(["ndjson", "jsonl", "json"]), gz=st.booleans())
def test_every_form_reads_back_the_same_documents(
    tmp_path_factory: pytest.TempPathFactory, docs: list[dict[str, Any]], form: str, gz: bool
) -> None:
    folder = tmp_path_factory.mktemp("forms")
    if form == "json":  # one document per file, pretty-printed
        expected = docs[:1]
        text = json.dumps(docs[0], indent=2, ensure_ascii=False)
    else:
        expected = docs
        text = "\n\n".join(json.dumps(d, ensure_ascii=False) for d in docs) + "\n"
    path = folder / f"data.{form}{'.gz' if gz else ''}"
    _write(path, text, gz)
    assert values(Source(str(path), path)) == expected
    # gzip is recognised by its bytes, not its name; NDJSON by its first line
    other = folder / "data.json"
    _write(other, text, gz)
    assert values(Source(str(other), other)) == expected


def test_bad_json_names_the_file_and_line(tmp_path: Path) -> None:
    pretty = tmp_path / "bad.json"
    pretty.write_text('{\n  "resourceType": "Patient",\n  "id": "x",,\n}\n')
    [doc] = list(read(Source(str(pretty), pretty)))
    assert doc.value is None and doc.error is not None
    assert str(doc.error).startswith(f"{pretty}:3:")
    lines = tmp_path / "bad.ndjson"
    lines.write_text(json.dumps(RESOURCE) + "\n{oops\n" + json.dumps(RESOURCE) + "\n")
    docs = list(read(Source(str(lines), lines)))
    assert [d.line for d in docs] == [1, 2, 3]  # reading goes on after the bad line
    assert docs[1].error is not None and str(docs[1].error).startswith(f"{lines}:2:")
    assert docs[0].value == docs[2].value == RESOURCE


def test_text_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.ndjson"
    path.write_bytes(b'{"resourceType": "Patient", "id": "\xe9"}\n')
    [doc] = list(read(Source(str(path), path)))
    assert doc.error is not None and "not UTF-8" in str(doc.error)


def test_only_picks_lines_for_a_second_pass(tmp_path: Path) -> None:
    path = tmp_path / "x.ndjson"
    path.write_text("".join(json.dumps({**RESOURCE, "id": str(i)}) + "\n" for i in range(5)))
    picked = [d.value["id"] for d in read(Source(str(path), path), only={2, 5})]
    assert picked == ["1", "4"]


def test_stdin_gzipped_ndjson(monkeypatch: pytest.MonkeyPatch) -> None:
    data = gzip.compress(b"".join(json.dumps(RESOURCE).encode() + b"\n" for _ in range(3)))
    fake = io.TextIOWrapper(io.BufferedReader(io.BytesIO(data)))  # type: ignore[arg-type]
    monkeypatch.setattr(sys, "stdin", fake)
    assert values(Source("-")) == [RESOURCE] * 3


def test_progress_reaches_the_file_size(tmp_path: Path) -> None:
    path = tmp_path / "x.ndjson.gz"
    path.write_bytes(gzip.compress(b"".join(b'{"resourceType":"Basic"}\n' for _ in range(500))))
    seen: list[int] = []
    assert len(list(read(Source(str(path), path), on_bytes=seen.append))) == 500
    assert seen == sorted(seen) and seen[-1] == path.stat().st_size


requests = st.lists(
    st.fixed_dictionaries(
        {
            "method": st.sampled_from(["POST", "post", "PUT"]),
            "url": st.one_of(st.sampled_from(["Practitioner", "Organization"]), st.text()),
        },
        optional={"ifNoneExist": st.text(), "ifMatch": st.text(max_size=5)},
    ),
    max_size=6,
)


@settings(max_examples=40, deadline=None)
@given(
    requests=requests,
    indent=st.sampled_from([None, 2]),
    ensure_ascii=st.booleans(),
    gz=st.booleans(),
)
def test_a_scan_finds_the_conditional_creates_a_parse_finds(
    tmp_path_factory: pytest.TempPathFactory,
    requests: list[dict[str, str]],
    indent: int | None,
    ensure_ascii: bool,
    gz: bool,
) -> None:
    """The look-ahead's scan of a file's text finds the ``(url, ifNoneExist)`` of exactly the
    POST entries that have both, whatever their strings hold (braces, quotes, escapes)."""
    bundle = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            {"resource": {"resourceType": "Basic", "note": r["url"]}, "request": r}
            for r in requests
        ],
    }
    path = tmp_path_factory.mktemp("scan") / "bundle.json"
    _write(path, json.dumps(bundle, indent=indent, ensure_ascii=ensure_ascii), gz)
    expected = {
        (r["url"], r["ifNoneExist"])
        for r in requests
        if r["method"].upper() == "POST" and "ifNoneExist" in r
    }
    assert scan(Source(str(path), path)).creates == expected
