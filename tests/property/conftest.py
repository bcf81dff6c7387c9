"""Hypothesis profiles for the property-based differential tests (see ``support.py``).

* ``dev`` (the default): few examples, random — fast enough for every ``make test``;
* ``ci``: four times the examples, ``derandomize=True`` so CI runs are reproducible.

Chosen by ``HYPOTHESIS_PROFILE=dev|ci``, else ``ci`` when ``CI=true``. The profiles are
registered by ``support.py`` and applied to this suite's tests only (``support.examples``).
"""
