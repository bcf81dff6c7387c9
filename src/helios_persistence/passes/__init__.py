"""Small, named, pure IR rewrites. Each returns its input unchanged when it has nothing to do."""

from __future__ import annotations

from helios_persistence.passes.references import relativize_references

__all__ = ["relativize_references"]
