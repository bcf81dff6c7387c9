from __future__ import annotations

import threading
from datetime import UTC, datetime

from helios_persistence.storage.types import (
    HistoryEntry,
    Interaction,
    MonotonicClock,
    StoredResource,
    datetime_to_micros,
    format_instant,
    history_bundle,
    micros_to_datetime,
    parse_instant_micros,
    parse_period_micros,
)


def test_time_round_trip() -> None:
    moment = datetime(2024, 2, 29, 12, 30, 1, 123456, tzinfo=UTC)
    micros = datetime_to_micros(moment)
    assert micros_to_datetime(micros) == moment
    assert format_instant(micros) == "2024-02-29T12:30:01.123456Z"
    assert parse_instant_micros("2024-02-29T12:30:01.123456Z") == micros
    low, high = parse_period_micros("2024")
    assert micros_to_datetime(low) == datetime(2024, 1, 1, tzinfo=UTC)
    assert micros_to_datetime(high) == datetime(2025, 1, 1, tzinfo=UTC)
    assert parse_period_micros(moment) == (micros, micros + 1)


def test_monotonic_clock_is_strictly_increasing_across_threads() -> None:
    clock = MonotonicClock()
    seen: list[int] = []
    lock = threading.Lock()

    def work() -> None:
        values = [clock.now() for _ in range(500)]
        with lock:
            seen.extend(values)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(seen)) == len(seen)
    assert clock.now(at_least=10**18) == 10**18


def _stored(version: str, deleted: bool = False) -> StoredResource:
    body = None if deleted else {"resourceType": "Patient", "id": "p"}
    return StoredResource("Patient", "p", version, micros_to_datetime(0), body, deleted)


def test_history_bundle() -> None:
    entries = [
        HistoryEntry(_stored("3", deleted=True), Interaction.DELETE),
        HistoryEntry(_stored("2"), Interaction.UPDATE),
        HistoryEntry(_stored("1"), Interaction.CREATE),
    ]
    bundle = history_bundle(entries, base_url="http://x/fhir/")
    assert bundle["type"] == "history" and bundle["total"] == 3
    e = bundle["entry"]
    assert [x["request"]["method"] for x in e] == ["DELETE", "PUT", "POST"]
    assert [x["response"]["status"] for x in e] == ["204 No Content", "200 OK", "201 Created"]
    assert "resource" not in e[0] and e[1]["resource"]["id"] == "p"
    assert e[2]["request"]["url"] == "Patient" and e[1]["request"]["url"] == "Patient/p"
    assert e[1]["fullUrl"] == "http://x/fhir/Patient/p"
    assert e[1]["response"]["etag"] == 'W/"2"'
    assert e[1]["response"]["location"] == "Patient/p/_history/2"
    assert e[1]["response"]["lastModified"] == "1970-01-01T00:00:00.000000Z"


def test_stored_resource_helpers() -> None:
    s = _stored("4")
    assert s.etag == 'W/"4"' and s.reference == "Patient/p"
    assert s.location == "Patient/p/_history/4"
