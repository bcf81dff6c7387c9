"""Backend-agnostic value types of the storage layer.

Times: every backend keeps ``last_updated`` as integer microseconds since the Unix epoch
(UTC); :func:`micros_to_datetime` / :func:`format_instant` turn them into what callers see
(an aware ``datetime`` and the FHIR ``instant`` text written into ``meta.lastUpdated``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from helios_persistence.fhir_values import parse_date

__all__ = [
    "EPOCH",
    "Create",
    "HistoryEntry",
    "Interaction",
    "MonotonicClock",
    "StoredResource",
    "WriteOutcome",
    "datetime_to_micros",
    "format_instant",
    "history_bundle",
    "micros_to_datetime",
    "parse_instant_micros",
    "parse_period_micros",
]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def micros_to_datetime(micros: int) -> datetime:
    return EPOCH + timedelta(microseconds=micros)


def datetime_to_micros(value: datetime) -> int:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    delta = value - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def format_instant(micros: int) -> str:
    """FHIR ``instant`` text, always with microseconds and ``Z``."""
    return micros_to_datetime(micros).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_period_micros(value: str | datetime) -> tuple[int, int]:
    """``[low, high)`` covered by a FHIR date/dateTime/instant (or an exact ``datetime``)."""
    if isinstance(value, datetime):
        micros = datetime_to_micros(value)
        return micros, micros + 1
    try:
        parsed = parse_date(value)
    except Exception as exc:  # parse_date raises the search error type; rewrap plainly
        raise ValueError(f"invalid date/time {value!r}") from exc
    return parsed.low, parsed.high


def parse_instant_micros(value: str | datetime) -> int:
    """The first instant a FHIR date/time (or ``datetime``) denotes."""
    return parse_period_micros(value)[0]


class MonotonicClock:
    """Wall-clock microseconds that never repeat or go backwards within one process.

    Successive versions therefore always have strictly increasing ``last_updated`` values, so
    history ordering and ``_since`` are exact.
    """

    def __init__(self) -> None:
        self._last = 0
        self._lock = threading.Lock()

    def now(self, at_least: int = 0) -> int:
        with self._lock:
            value = max(time.time_ns() // 1000, self._last + 1, at_least)
            self._last = value
            return value


class Interaction(StrEnum):
    """How a version came to be (the ``history.method`` column)."""

    CREATE = "POST"
    UPDATE = "PUT"
    PATCH = "PATCH"
    DELETE = "DELETE"


@dataclass(frozen=True, slots=True)
class Create:
    """A resource for :meth:`~helios_persistence.storage.api.StoreAPI.bulk_update` (and
    ``bulk_load``) to write as a create with the id it carries, as a transaction writes a
    ``POST`` entry: recorded in history as ``POST``, and an error if the id exists. Plain
    dicts are updates (``PUT``)."""

    resource: dict[str, Any]


@dataclass(frozen=True, slots=True)
class StoredResource:
    """One version of a resource as stored.

    ``resource`` is the JSON with ``id``, ``meta.versionId`` and ``meta.lastUpdated`` set by
    the store; it is None for a deletion (``deleted`` True). ``json`` is the stored document's
    text, with FHIR decimals as written (``1.50``; see :mod:`.exact_json`), when the store
    read or wrote it (None for a deletion).
    """

    resource_type: str
    id: str
    version_id: str
    last_updated: datetime
    resource: dict[str, Any] | None = field(default=None, compare=False, repr=False)
    deleted: bool = False
    json: str | None = field(default=None, compare=False, repr=False)

    @property
    def etag(self) -> str:
        return f'W/"{self.version_id}"'

    @property
    def reference(self) -> str:
        return f"{self.resource_type}/{self.id}"

    @property
    def location(self) -> str:
        return f"{self.resource_type}/{self.id}/_history/{self.version_id}"

    @property
    def last_modified(self) -> str:
        return format_instant(datetime_to_micros(self.last_updated))


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One row of a history: a version and the interaction that made it."""

    stored: StoredResource
    method: Interaction

    @property
    def status(self) -> str:
        if self.method is Interaction.DELETE:
            return "204 No Content"
        if self.stored.version_id == "1" or self.method is Interaction.CREATE:
            return "201 Created"
        return "200 OK"


def _full_url(base_url: str | None, stored: StoredResource) -> str:
    relative = stored.reference
    return f"{base_url.rstrip('/')}/{relative}" if base_url else relative


def history_bundle(
    entries: Iterable[HistoryEntry],
    *,
    total: int | None = None,
    base_url: str | None = None,
    self_link: str | None = None,
) -> dict[str, Any]:
    """A FHIR ``history`` Bundle (entries in the order given: newest first by convention)."""
    out: list[dict[str, Any]] = []
    for entry in entries:
        stored = entry.stored
        url = (
            stored.resource_type
            if entry.method is Interaction.CREATE
            else f"{stored.resource_type}/{stored.id}"
        )
        item: dict[str, Any] = {"fullUrl": _full_url(base_url, stored)}
        if stored.resource is not None and not stored.deleted:
            item["resource"] = stored.resource
        item["request"] = {"method": entry.method.value, "url": url}
        item["response"] = {
            "status": entry.status,
            "etag": stored.etag,
            "lastModified": stored.last_modified,
        }
        if entry.method is not Interaction.DELETE:
            item["response"]["location"] = stored.location
        out.append(item)
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "history"}
    bundle["total"] = len(out) if total is None else total
    if self_link:
        bundle["link"] = [{"relation": "self", "url": self_link}]
    bundle["entry"] = out
    return bundle


@dataclass(frozen=True, slots=True)
class WriteOutcome:
    """What a write did: the version it produced (None for a no-op delete) and the HTTP
    status a FHIR server would answer with (``201 Created``, ``200 OK``, ``204 No Content``)."""

    stored: StoredResource | None
    status: str

    @property
    def created(self) -> bool:
        return self.status.startswith("201")
