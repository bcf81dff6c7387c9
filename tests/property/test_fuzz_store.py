"""A short run of the store and authorisation fuzz targets (``fuzz/fuzz_store.py``) in every
test run: hostile input is a HeliosError that changes nothing; authorised queries touch only
permitted types."""

from __future__ import annotations

from typing import Any

from hypothesis import given

try:
    from tests.property.support import examples, fuzz_target
except ImportError:  # plain `pytest`: tests/ itself is on sys.path
    from property.support import examples, fuzz_target  # type: ignore[no-redef]

fuzz = fuzz_target("fuzz_store")


@examples(150)
@given(fuzz.store_calls())
def test_store_calls_fuzz(call: Any) -> None:
    fuzz.check_call(call)


@examples(150)
@given(fuzz.authorize_inputs())
def test_authorize_fuzz(args: Any) -> None:
    fuzz.check_authorize(*args)


def test_the_oracle_catches_a_raw_exception() -> None:
    """A store call that escapes with a raw exception is reported."""
    try:
        fuzz.check_call(("read", ("Patient",), {}))  # a missing argument: TypeError
    except TypeError:
        return
    raise AssertionError("the fuzz oracle let a raw exception pass")


def test_the_command_line_runs_the_hypothesis_loop() -> None:
    """``fuzz/fuzz_store.py --hypothesis N`` (the shared ``fuzz_main``) runs N examples."""
    assert fuzz.main(["fuzz_store.py", "--hypothesis", "3"]) == 0
