"""Loading files into a store (``helios load``): sources, units, and the loader."""

from __future__ import annotations

from helios_persistence.loading.loader import Failure, Loader, LoadReport, LoadStopped, load
from helios_persistence.loading.sources import Document, Source, expand, read

__all__ = [
    "Document",
    "Failure",
    "LoadReport",
    "LoadStopped",
    "Loader",
    "Source",
    "expand",
    "load",
    "read",
]
