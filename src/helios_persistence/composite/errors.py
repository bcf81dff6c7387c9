"""The composite layer's errors (each a :class:`~helios_persistence.errors.HeliosError`)."""

from __future__ import annotations

from helios_persistence.errors import InvalidSearch, InvalidStoreURL, Unavailable

__all__ = ["InvalidComposite", "SecondaryUnavailable", "TooManyIds"]


class InvalidComposite(InvalidStoreURL):
    """A composite configuration that cannot work: no or two primaries, a secondary that
    cannot serve its role, an unknown sync mode or option."""


class TooManyIds(InvalidSearch):
    """A secondary matched more resources than the composite's id bound (``max_ids``) and the
    configuration says to fail rather than answer on the primary alone."""

    def __init__(self, message: str) -> None:
        super().__init__(message, not_supported=True)
        self.issue_code = "too-costly"


class SecondaryUnavailable(Unavailable):
    """A secondary failed during a search and the configuration says to fail rather than
    answer that part on the primary."""
