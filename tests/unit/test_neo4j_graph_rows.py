"""The Neo4j apply rows built without a server: ``meta.lastUpdated`` read as ``parse_date``
reads it, and the parameters of the statement that creates new nodes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from helios_persistence.backends.neo4j.graph_rows import _last_updated, create_parameters
from helios_persistence.fhir_values import parse_date
from helios_persistence.storage.sync import Change

ZONES = st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))


def _change(updated: str) -> Change:
    resource = {"resourceType": "Patient", "id": "p", "meta": {"lastUpdated": updated}}
    return Change(0, "t", "Patient", "p", 1, "upsert", 7, resource)


@given(
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)),
    st.one_of(st.just(UTC), ZONES),
    st.integers(0, 9),
    st.booleans(),
)
def test_last_updated_is_parse_dates_instant(
    moment: datetime, zone: timezone, digits: int, zulu: bool
) -> None:
    """Every instant a primary may write (any zone, 0-9 fraction digits, ``Z`` or an
    offset) gives the µs ``parse_date`` gives."""
    moment = moment.replace(tzinfo=zone)
    text = f"{moment.year:04d}-" + moment.strftime("%m-%dT%H:%M:%S")
    if digits:
        text += "." + f"{moment.microsecond:06d}{'123'}"[:digits]
    offset = moment.strftime("%z")
    text += "Z" if zulu and zone is UTC else f"{offset[:3]}:{offset[3:]}"
    assert _last_updated(_change(text)) == parse_date(text).low


@given(st.sampled_from(["2024", "2024-05", "2024-05-06", "2024-05-06T07:08:09"]))
def test_last_updated_without_a_zone_is_parse_dates(text: str) -> None:
    assert _last_updated(_change(text)) == parse_date(text).low


def test_create_parameters_merge_each_target_once() -> None:
    rows = [
        {"type": "Observation", "id": "o1", "props": {"id": "o1"},
         "refs": [{"param": "subject", "type": "Patient", "id": "p"},
                  {"param": "patient", "type": "Patient", "id": "p"}]},
        {"type": "Observation", "id": "o2", "props": {"id": "o2"},
         "refs": [{"param": "subject", "type": "Patient", "id": "q"},
                  {"param": "performer", "type": "Practitioner", "id": "p"}]},
    ]  # fmt: skip
    params = create_parameters(rows)
    assert params["rows"] == [{"type": "Observation", "props": {"id": "o1"}},
                              {"type": "Observation", "props": {"id": "o2"}}]  # fmt: skip
    assert params["targets"] == [["Patient", "p"], ["Patient", "q"], ["Practitioner", "p"]]
    assert params["rels"] == [[0, 0, "subject"], [0, 0, "patient"], [1, 1, "subject"],
                              [1, 2, "performer"]]  # fmt: skip
