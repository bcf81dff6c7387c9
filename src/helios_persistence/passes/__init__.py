"""Small, named, pure IR rewrites. Each returns its input unchanged when it has nothing to do.

A dialect runs an ordered tuple of them (``BaseCompiler.PASSES``) between binding and
compiling; :mod:`helios_persistence.pipeline` applies them.
"""

from __future__ import annotations

from helios_persistence.passes.chains import merge_chains
from helios_persistence.passes.flatten import flatten
from helios_persistence.passes.references import relativize_references
from helios_persistence.passes.rewrite import bottom_up

__all__ = ["bottom_up", "flatten", "merge_chains", "relativize_references"]
