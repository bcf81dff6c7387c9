"""Hypothesis profiles for the parser tests (registered here, not globally).

``parsing`` is what the tests use: 200 examples, no deadline (the first parse of a quantity
loads the UCUM tables), and under CI (``CI`` set) derandomized so a run is reproducible.
``HELIOS_PARSING_PROFILE=thorough`` raises the examples tenfold for a long local run.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_COMMON = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.filter_too_much],
}
settings.register_profile("parsing-dev", max_examples=200, **_COMMON)
settings.register_profile("parsing-ci", max_examples=200, derandomize=True, **_COMMON)
settings.register_profile("parsing-thorough", max_examples=2000, **_COMMON)

if os.environ.get("HELIOS_PARSING_PROFILE") == "thorough":
    PROFILE = "parsing-thorough"
elif os.environ.get("CI"):
    PROFILE = "parsing-ci"
else:
    PROFILE = "parsing-dev"
settings.register_profile("parsing", parent=settings.get_profile(PROFILE))
