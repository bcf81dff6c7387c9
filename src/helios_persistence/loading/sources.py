"""What ``helios load`` reads: files, folders, globs and ``-`` (stdin), as JSON documents.

A source is read as NDJSON (one JSON value per line: ``.ndjson``, ``.jsonl``, or any input
whose first non-blank line is a whole JSON value) or as one JSON document (a resource or a
Bundle). gzip is recognised by its magic bytes, whatever the name. Errors name the file and
the line (:class:`~helios_persistence.errors.InvalidInput`).
"""

from __future__ import annotations

import glob
import gzip
import json
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from helios_persistence.errors import InvalidInput
from helios_persistence.storage import exact_json

__all__ = ["Document", "Scan", "Source", "expand", "read", "scan"]

#: the file names a folder is searched for (and their ``.gz`` forms)
SUFFIXES = (".json", ".ndjson", ".jsonl")
_NDJSON = (".ndjson", ".jsonl")
_GZIP_MAGIC = b"\x1f\x8b"
#: a conditional reference in JSON text: ``"reference": "Type?criteria"``
_CONDITIONAL = re.compile(rb'"reference"\s*:\s*("[A-Z][A-Za-z]+\?(?:[^"\\]|\\.)*")')
#: a Bundle entry's ``"request": {...}`` in JSON text (an object of strings)
_REQUEST = re.compile(rb'"request"\s*:\s*(\{(?:[^{}"]|"(?:[^"\\]|\\.)*")*\})')


@dataclass(frozen=True, slots=True)
class Source:
    """One input: a file, or standard input (``path`` None, named ``-``)."""

    name: str
    path: Path | None = None

    @property
    def size(self) -> int | None:
        """Bytes on disk (compressed for ``.gz``); None for stdin."""
        return self.path.stat().st_size if self.path is not None else None


@dataclass(frozen=True, slots=True)
class Document:
    """One JSON value read from ``source``: ``line`` is its 1-based NDJSON line, or None when
    the source is one JSON document. ``error`` (then ``value`` is None) says why it could not
    be read; reading goes on with the next line."""

    source: Source
    line: int | None
    value: Any
    error: InvalidInput | None = None

    @property
    def where(self) -> str:
        return f"{self.source.name}:{self.line}" if self.line is not None else self.source.name


def _loadable(path: Path) -> bool:
    name = path.name.lower().removesuffix(".gz")
    return name.endswith(SUFFIXES)


def expand(arguments: Sequence[str]) -> list[Source]:
    """The sources ``arguments`` name, in order, each once: ``-`` is stdin, a folder gives its
    loadable files (recursively, sorted), a pattern (``*``, ``?``, ``[``, ``**``) its matches."""
    found: list[Source] = []
    seen: set[str] = set()

    def add(source: Source) -> None:
        key = str(source.path.resolve()) if source.path is not None else "-"
        if key not in seen:
            seen.add(key)
            found.append(source)

    def add_path(path: Path, argument: str) -> None:
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and _loadable(p))
            if not files:
                raise InvalidInput(
                    f"the folder {argument} ({path.resolve()}) holds no "
                    f"{', '.join(SUFFIXES)} files (or their .gz)"
                )
            for file in files:
                add(Source(str(file), file))
        else:
            add(Source(str(path), path))

    for argument in arguments:
        if argument == "-":
            add(Source("-"))
            continue
        path = Path(argument)
        if path.exists():
            add_path(path, argument)
        elif glob.has_magic(argument):
            matches = sorted(glob.glob(argument, recursive=True))
            if not matches:
                raise InvalidInput(f"no file matches {argument}")
            for match in matches:
                add_path(Path(match), match)
        else:
            raise InvalidInput(f"no such file or folder: {argument} ({path.resolve()})")
    return found


def read(
    source: Source,
    *,
    only: set[int | None] | None = None,
    on_bytes: Callable[[int], None] | None = None,
) -> Iterator[Document]:
    """The JSON documents of ``source`` in order; ``only`` keeps those at these lines (None:
    the whole-document form). ``on_bytes`` gets the bytes of the source consumed so far."""
    raw: IO[bytes] = sys.stdin.buffer if source.path is None else source.path.open("rb")
    try:
        stream: IO[bytes] = raw
        if _peek(raw, 2) == _GZIP_MAGIC:
            stream = gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[assignment]
        yield from _documents(source, stream, raw, only, on_bytes)
    except (OSError, EOFError) as exc:
        error = InvalidInput(f"{source.name}: cannot read: {exc}")
        yield Document(source, None, None, error)
    finally:
        if raw is not sys.stdin.buffer:
            raw.close()


def _peek(raw: IO[bytes], n: int) -> bytes:
    peek = getattr(raw, "peek", None)
    return peek(n)[:n] if peek is not None else b""


def _documents(
    source: Source,
    stream: IO[bytes],
    raw: IO[bytes],
    only: set[int | None] | None,
    on_bytes: Callable[[int], None] | None,
) -> Iterator[Document]:
    def position() -> None:
        if on_bytes is not None and source.path is not None:
            on_bytes(raw.tell())

    lines: Iterator[tuple[int, bytes]] = enumerate(stream, start=1)
    name = source.name.lower().removesuffix(".gz")
    first: tuple[int, bytes] | None = None
    for number, line in lines:
        if line.strip():
            first = (number, line)
            break
    if first is None:
        return
    ndjson = name.endswith(_NDJSON)
    if not ndjson:
        try:
            value = exact_json.loads(_text(source, first[0], first[1]))
            ndjson = True
        except (ValueError, InvalidInput):
            ndjson = False
        else:  # a whole value on the first line: NDJSON, unless it is the only one
            second = next(((n, line) for n, line in lines if line.strip()), None)
            if second is None:
                if only is None or None in only:
                    position()
                    yield Document(source, None, value)
                return
            lines = _chain(second, lines)
    if not ndjson:  # one document: the first line and the rest
        if only is not None and None not in only:
            return
        try:
            text = _text(source, first[0], first[1] + b"".join(line for _, line in lines))
            value = exact_json.loads(text)
        except json.JSONDecodeError as exc:
            at = exc.lineno + first[0] - 1
            error = InvalidInput(f"{source.name}:{at}:{exc.colno}: invalid JSON: {exc.msg}")
            yield Document(source, None, None, error)
            return
        except InvalidInput as exc:
            yield Document(source, None, None, exc)
            return
        position()
        yield Document(source, None, value)
        return
    for number, line in _chain(first, lines):
        if not line.strip() or (only is not None and number not in only):
            continue
        try:
            value = exact_json.loads(_text(source, number, line))
        except json.JSONDecodeError as exc:
            error = InvalidInput(f"{source.name}:{number}:{exc.colno}: invalid JSON: {exc.msg}")
            yield Document(source, number, None, error)
            continue
        except InvalidInput as exc:
            yield Document(source, number, None, exc)
            continue
        position()
        yield Document(source, number, value)


def _chain(
    first: tuple[int, bytes], rest: Iterable[tuple[int, bytes]]
) -> Iterator[tuple[int, bytes]]:
    yield first
    yield from rest


def _text(source: Source, line: int, data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{source.name}:{line}: not UTF-8 text ({exc.reason})") from None


@dataclass(frozen=True, slots=True)
class Scan:
    """What a look-ahead found in a file's text: its conditional references
    (``Type?criteria``), and the ``(url, ifNoneExist)`` of its conditional creates."""

    references: frozenset[str] = frozenset()
    creates: frozenset[tuple[str, str]] = frozenset()


def scan(source: Source) -> Scan:
    """A file's conditional references and conditional creates, found without parsing it
    (a look-ahead: what is found is checked again when its Bundle is read)."""
    if source.path is None:
        return Scan()
    try:
        data = source.path.read_bytes()
        if data[:2] == _GZIP_MAGIC:
            data = gzip.decompress(data)
    except (OSError, EOFError):
        return Scan()
    references = set()
    for match in _CONDITIONAL.finditer(data):
        try:
            references.add(json.loads(match.group(1)))
        except ValueError:
            continue
    creates = set()
    if b'"ifNoneExist"' in data:
        for match in _REQUEST.finditer(data):
            try:
                request = json.loads(match.group(1))
            except ValueError:
                continue
            method, url = request.get("method"), request.get("url")
            condition = request.get("ifNoneExist")
            if (
                type(method) is str
                and method.upper() == "POST"
                and type(url) is str
                and type(condition) is str
            ):
                creates.add((url, condition))
    return Scan(frozenset(references), frozenset(creates))
