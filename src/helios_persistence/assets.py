"""The package's declarative assets — ``grammar/*.lark`` and ``dialects/<engine>/...`` — read
through :mod:`importlib.resources`, so they load the same from a checkout, an editable install
or a wheel (the folders sit at the top of the repository and are mapped into the package as
``helios_persistence.grammar`` and ``helios_persistence.dialects``)."""

from __future__ import annotations

from importlib import resources
from importlib.resources.abc import Traversable

__all__ = ["asset", "read_asset"]


def asset(folder: str, *parts: str) -> Traversable:
    """``<folder>/<parts...>`` of the assets (``folder``: ``grammar`` or ``dialects``)."""
    return resources.files(f"helios_persistence.{folder}").joinpath(*parts)


def read_asset(folder: str, *parts: str) -> str:
    """The text of an asset (UTF-8)."""
    return asset(folder, *parts).read_text(encoding="utf-8")
