"""Conformance: the reference evaluator, the case files, the runner and the support matrix.

* :class:`~helios_persistence.conformance.evaluator.Evaluator` answers FHIR searches over
  in-memory resources straight from the R4 specification (the executable spec);
* :mod:`.cases` loads the case files shipped in ``conformance/cases/`` (one per area) and
  their fixture resources (``conformance/fixtures/``);
* :mod:`.runner` runs the cases against any store URL (``helios conformance``);
* :mod:`.gaps` declares each dialect's known gaps; :mod:`.matrix` renders the support matrix.
"""

from __future__ import annotations

from helios_persistence.conformance.evaluator import Evaluator, Outcome

__all__ = ["Evaluator", "Outcome"]
