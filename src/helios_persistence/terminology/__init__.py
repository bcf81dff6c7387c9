"""Terminology from stored CodeSystems and ValueSets: subsumption, expansion, ``$lookup``.

* :mod:`.model` — a CodeSystem's concepts and is-a graph (nested ``concept`` trees and the
  ``parent``/``child``/``subsumedBy`` properties), and its closure;
* :mod:`.expand` — ValueSet expansion (compose include/exclude, filters, imports);
* :mod:`.operations` — ``expand``, ``subsumes`` and ``lookup`` in FHIR's output shapes;
* :mod:`.tables` — a SQL store's closure table and expansion cache, kept true by every write
  of a CodeSystem or ValueSet (same transaction) and read by the ``:below``/``:above``/
  ``:in``/``:not-in`` lowering (:mod:`helios_persistence.compilers.sql_terminology`).

Pure use, without a store::

    from helios_persistence.terminology import ResourceSource, expand, lookup, subsumes
    source = ResourceSource(bundle_resources)
    expand(valueset, source)["expansion"]["contains"]
    subsumes("http://terminology.hl7.org/CodeSystem/v3-ActCode", "_ActAccountCode", "CASH", source)
"""

from __future__ import annotations

from helios_persistence.terminology.expand import Expansion, ResourceSource, Source, expand_valueset
from helios_persistence.terminology.model import CodeSystemModel, Concept
from helios_persistence.terminology.operations import expand, lookup, subsumes

__all__ = [
    "CodeSystemModel",
    "Concept",
    "Expansion",
    "ResourceSource",
    "Source",
    "expand",
    "expand_valueset",
    "lookup",
    "subsumes",
]
