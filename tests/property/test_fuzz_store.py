"""A short run of the store and authorisation fuzz targets (``fuzz/fuzz_store.py``) in every
test run: hostile input is a HeliosError that changes nothing; authorised queries touch only
permitted types."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

from hypothesis import given

try:
    from tests.property.support import examples
except ImportError:  # plain `pytest`: tests/ itself is on sys.path
    from property.support import examples  # type: ignore[no-redef]

_DIR = Path(__file__).resolve().parents[2] / "fuzz"
sys.path.insert(0, str(_DIR))
_spec = importlib.util.spec_from_file_location("fuzz_store", _DIR / "fuzz_store.py")
assert _spec is not None and _spec.loader is not None
fuzz = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("fuzz_store", fuzz)
_spec.loader.exec_module(fuzz)


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
