"""helios-persistence: store and query FHIR R4 data on more than one engine.

>>> import helios_persistence as hp
>>> q = hp.parse("Observation?code=http://loinc.org|8867-4")
"""

from __future__ import annotations

from helios_persistence import errors, ir
from helios_persistence.parsing import Limits, parse, parse_lenient

__all__ = ["Limits", "errors", "ir", "parse", "parse_lenient"]
__version__ = "0.1.0"
