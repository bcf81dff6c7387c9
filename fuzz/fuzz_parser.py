"""Fuzz target: nothing but ``InvalidSearch`` may escape ``hp.parse`` (or ``parse_lenient``),
and whatever parses renders to a query string that parses back to the same IR.

Run it (atheris: ``.venv/bin/pip install atheris``)::

    python fuzz/fuzz_parser.py                      # runs until stopped; corpus in memory
    python fuzz/fuzz_parser.py -runs=100000 corpus/ # libFuzzer flags and corpus folders work
    python fuzz/fuzz_parser.py --hypothesis 5000    # without atheris: a hypothesis-driven loop

Without atheris installed the script falls back to the hypothesis loop by itself. Inputs are
mixed from the fuzzer's bytes: raw text, text after ``Patient?``/``Observation?_filter=``, and
``name:modifier=value`` pairs from a FHIR vocabulary, so coverage reaches the binder quickly.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import contextlib
from typing import Any

from fuzz_main import run

import helios_persistence as hp
from helios_persistence.errors import InvalidSearch
from helios_persistence.parsing.render import render

PREFIXES = ["", "Patient?", "Observation?", "?", "Observation?_filter=", "Patient?_has:"]
NAMES = [
    "name", "gender", "birthdate", "identifier", "general-practitioner", "organization",
    "code", "date", "subject", "patient", "value-quantity", "code-value-quantity", "_id",
    "_lastUpdated", "_text", "_list", "_sort", "_count", "_include", "_revinclude", "_type",
    "_filter", "_has:Observation:subject:code", "subject:Patient.name", "patient.name",
]  # fmt: skip
MODIFIERS = ["", ":exact", ":not", ":missing", ":below", ":in", ":text", ":Patient", ":iterate"]
VALUES = [
    "x", "ge2020", "http://loinc.org|8867-4", "5.4||mg", "Patient/1", "a,b", "a\\,b", "true",
    "-date", "Patient:organization", "name eq x", "%2C", "%", "$", "|", "\\",
]  # fmt: skip


def check(text: str) -> None:
    """The property: a query, or an InvalidSearch; and a query renders back to itself."""
    try:
        query = hp.parse(text)
    except InvalidSearch:
        query = None
    if query is not None:
        canonical = render(query)
        assert hp.parse(canonical) == query, (text, canonical)
    with contextlib.suppress(InvalidSearch):
        hp.parse_lenient(text)


def compose(data: bytes) -> str:
    """Turn fuzzer bytes into a query: a prefix, then raw text or vocabulary pairs."""
    if not data:
        return ""
    mode, rest = data[0], data[1:]
    prefix = PREFIXES[mode % len(PREFIXES)]
    if mode & 0x80:  # raw text after the prefix
        return prefix + rest.decode("utf-8", "surrogatepass" if mode & 0x40 else "replace")
    pairs = []
    for i in range(0, len(rest) - 3, 4):
        a, b, c, d = rest[i : i + 4]
        value = VALUES[c % len(VALUES)] + (chr(d) if d & 1 else "")
        pairs.append(f"{NAMES[a % len(NAMES)]}{MODIFIERS[b % len(MODIFIERS)]}={value}")
    return prefix + "&".join(pairs)


def test_one_input(data: bytes) -> None:
    try:
        text = compose(data)
    except UnicodeDecodeError:
        return
    check(text)


def hypothesis_loop(examples: int) -> None:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.binary(max_size=200) | st.text().map(lambda t: bytes([0x80]) + t.encode()))
    def run(data: bytes) -> None:
        test_one_input(data)

    run()
    print(f"hypothesis loop: {examples} examples, nothing but InvalidSearch escaped")


def main(argv: list[str]) -> int:
    def fuzz(atheris: Any, argv: list[str]) -> None:
        atheris.instrument_all()
        atheris.Setup(argv, test_one_input)
        atheris.Fuzz()

    return run(argv, hypothesis_loop, fuzz)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
