"""Bundle processing against a tiny in-memory backend: it depends on the primitives only."""

from __future__ import annotations

import copy
import html
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helios_persistence.errors import (
    Gone,
    InvalidResource,
    NotFound,
    PermissionDenied,
    PreconditionFailed,
)
from helios_persistence.storage.bundles import (
    RequestUrl,
    parse_request_url,
    process_bundle,
    rewrite_narrative_links,
    rewrite_references,
)
from helios_persistence.storage.types import StoredResource, WriteOutcome
from helios_persistence.tenancy import Operation, Permissions, TenantContext

NOW = datetime(2024, 1, 1, tzinfo=UTC)


class FakeBackend:
    """Current versions in a dict; a session is a copy committed on success."""

    def __init__(self) -> None:
        self.data: dict[tuple[str, str], tuple[int, dict[str, Any] | None]] = {}
        self.calls: list[str] = []
        self.counter = 0

    @contextmanager
    def write_session(self, ctx: TenantContext) -> Iterator[dict]:
        work = copy.deepcopy(self.data)
        yield work
        self.data = work

    read_session = write_session

    def _stored(self, t: str, i: str, v: int, body: dict | None) -> StoredResource:
        return StoredResource(t, i, str(v), NOW, body, body is None)

    def op_create(
        self,
        s: dict,
        resource: dict,
        *,
        if_none_exist: str | None = None,
        assigned_id: str | None = None,
    ) -> WriteOutcome:
        self.calls.append(f"POST {resource['resourceType']}")
        if if_none_exist:
            found = self.op_match(s, resource["resourceType"], if_none_exist)
            if found:
                return WriteOutcome(self.op_read(s, resource["resourceType"], found[0]), "200 OK")
        self.counter += 1
        id = assigned_id or f"gen{self.counter}"
        body = {**resource, "id": id}
        s[(resource["resourceType"], id)] = (1, body)
        return WriteOutcome(self._stored(resource["resourceType"], id, 1, body), "201 Created")

    def op_update(self, s: dict, resource: dict, *, if_match: str | None = None) -> WriteOutcome:
        key = (resource["resourceType"], resource["id"])
        self.calls.append(f"PUT {key[0]}/{key[1]}")
        version, _ = s.get(key, (0, None))
        s[key] = (version + 1, resource)
        return WriteOutcome(
            self._stored(*key, version + 1, resource), "200 OK" if version else "201 Created"
        )

    def op_delete(self, s: dict, t: str, id: str) -> WriteOutcome:
        self.calls.append(f"DELETE {t}/{id}")
        if (t, id) not in s:
            return WriteOutcome(None, "204 No Content")
        version, _ = s[(t, id)]
        s[(t, id)] = (version + 1, None)
        return WriteOutcome(self._stored(t, id, version + 1, None), "204 No Content")

    def op_delete_conditional(self, s: dict, t: str, criteria: str) -> WriteOutcome:
        ids = self.op_match(s, t, criteria)
        return self.op_delete(s, t, ids[0]) if ids else WriteOutcome(None, "204 No Content")

    def op_patch(
        self, s: dict, t: str, id: str, patch: Any, *, if_match: str | None = None
    ) -> WriteOutcome:
        raise NotImplementedError

    op_patch_conditional = op_patch

    def op_read(self, s: dict, t: str, id: str) -> StoredResource:
        self.calls.append(f"GET {t}/{id}")
        if (t, id) not in s:
            raise NotFound(f"{t}/{id}")
        version, body = s[(t, id)]
        if body is None:
            raise Gone(f"{t}/{id}")
        return self._stored(t, id, version, body)

    def op_vread(self, s: dict, t: str, id: str, v: str) -> StoredResource:
        return self.op_read(s, t, id)

    def op_search(self, s: dict, query: str) -> dict:
        return {"resourceType": "Bundle", "type": "searchset", "total": 0, "entry": []}

    def op_history(self, s: dict, t: str | None, id: str | None, **kw: Any) -> dict:
        return {"resourceType": "Bundle", "type": "history", "entry": []}

    def op_match(self, s: dict, t: str, criteria: str) -> list[str]:
        # criteria "identifier=x" matches resources whose identifier[0].value is x
        value = criteria.split("=", 1)[1].split("|")[-1]
        return sorted(
            i
            for (rt, i), (_, body) in s.items()
            if rt == t and body and body.get("identifier", [{}])[0].get("value") == value
        )


CTX = TenantContext.for_tenant("t")


def entry(
    method: str, url: str, resource: dict | None = None, full_url: str | None = None, **request: Any
) -> dict:
    out: dict[str, Any] = {"request": {"method": method, "url": url, **request}}
    if resource is not None:
        out["resource"] = resource
    if full_url:
        out["fullUrl"] = full_url
    return out


def test_parse_request_url() -> None:
    assert parse_request_url("Patient") == RequestUrl("Patient")
    assert parse_request_url("/Patient/1/") == RequestUrl("Patient", "1")
    assert parse_request_url("Patient/1/_history/2") == RequestUrl("Patient", "1", version="2")
    assert parse_request_url("Patient/1/_history") == RequestUrl("Patient", "1", history=True)
    assert parse_request_url("Patient/_history") == RequestUrl("Patient", history=True)
    assert parse_request_url("_history") == RequestUrl(history=True)
    assert parse_request_url("Patient?a=b&c=d") == RequestUrl("Patient", query="a=b&c=d")
    assert parse_request_url("?_type=Patient") == RequestUrl(query="_type=Patient")
    for bad in ["", "http://x/Patient/1", "patient/1", "Patient/1/2/3/4"]:
        with pytest.raises(InvalidResource):
            parse_request_url(bad)


def test_rewrite_references_everywhere() -> None:
    doc = {
        "a": {"reference": "x"},
        "b": [{"c": {"reference": "x"}}, {"reference": "y"}],
        "d": "x",
        "reference": 3,
    }
    out = rewrite_references(doc, lambda r: r.upper())
    assert out == {
        "a": {"reference": "X"},
        "b": [{"c": {"reference": "X"}}, {"reference": "Y"}],
        "d": "x",
        "reference": 3,
    }
    assert doc["a"]["reference"] == "x"


def test_transaction_order_ids_and_references() -> None:
    backend = FakeBackend()
    backend.data[("Patient", "old")] = (1, {"resourceType": "Patient", "id": "old"})
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            entry("GET", "Patient/p2"),
            entry(
                "POST",
                "Observation",
                {
                    "resourceType": "Observation",
                    "subject": {"reference": "urn:uuid:1"},
                    "hasMember": [{"reference": "urn:uuid:2"}],
                    "contained": [
                        {"resourceType": "Provenance", "target": [{"reference": "urn:uuid:1"}]}
                    ],
                },
                "urn:uuid:2",
            ),
            entry(
                "PUT",
                "Patient/p2",
                {"resourceType": "Patient", "link": [{"other": {"reference": "urn:uuid:1"}}]},
                "http://example.org/fhir/Patient/p2",
            ),
            entry(
                "POST",
                "Patient",
                {"resourceType": "Patient", "link": [{"other": {"reference": "Patient/p2"}}]},
                "urn:uuid:1",
            ),
            entry("DELETE", "Patient/old"),
        ],
    }
    response = process_bundle(backend, CTX, bundle)
    assert response["type"] == "transaction-response"
    assert [c.split()[0] for c in backend.calls] == ["DELETE", "POST", "POST", "PUT", "GET"]
    statuses = [e["response"]["status"] for e in response["entry"]]
    assert statuses == ["200 OK", "201 Created", "201 Created", "201 Created", "204 No Content"]
    patient_id = response["entry"][3]["response"]["location"].split("/")[1]
    obs_id = response["entry"][1]["response"]["location"].split("/")[1]
    obs = backend.data[("Observation", obs_id)][1]
    assert obs["subject"]["reference"] == f"Patient/{patient_id}"
    assert obs["hasMember"][0]["reference"] == f"Observation/{obs_id}"
    assert obs["contained"][0]["target"][0]["reference"] == f"Patient/{patient_id}"
    assert backend.data[("Patient", "p2")][1]["link"][0]["other"]["reference"] == (
        f"Patient/{patient_id}"
    )
    assert response["entry"][0]["resource"]["resourceType"] == "Patient"
    assert response["entry"][1]["response"]["etag"] == 'W/"1"'
    assert backend.data[("Patient", "old")][1] is None


def test_transaction_rolls_back_and_names_the_entry() -> None:
    backend = FakeBackend()
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            entry("POST", "Patient", {"resourceType": "Patient"}),
            entry("GET", "Patient/missing"),
        ],
    }
    with pytest.raises(NotFound, match=r"Bundle.entry\[1\]"):
        process_bundle(backend, CTX, bundle)
    assert backend.data == {}


def test_unresolvable_urn_reference_fails() -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            entry(
                "POST",
                "Observation",
                {"resourceType": "Observation", "subject": {"reference": "urn:uuid:nowhere"}},
            ),
        ],
    }
    with pytest.raises(InvalidResource, match="urn:uuid:nowhere"):
        process_bundle(FakeBackend(), CTX, bundle)


def test_if_none_exist_maps_full_url_to_the_existing_resource() -> None:
    backend = FakeBackend()
    backend.data[("Patient", "p9")] = (
        1,
        {"resourceType": "Patient", "id": "p9", "identifier": [{"value": "42"}]},
    )
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            entry(
                "POST",
                "Patient",
                {"resourceType": "Patient", "identifier": [{"value": "42"}]},
                "urn:uuid:a",
                ifNoneExist="identifier=42",
            ),
            entry(
                "POST",
                "Observation",
                {"resourceType": "Observation", "subject": {"reference": "urn:uuid:a"}},
            ),
        ],
    }
    response = process_bundle(backend, CTX, bundle)
    assert response["entry"][0]["response"]["status"] == "200 OK"
    obs_id = response["entry"][1]["response"]["location"].split("/")[1]
    assert backend.data[("Observation", obs_id)][1]["subject"]["reference"] == "Patient/p9"


def test_conditional_references() -> None:
    backend = FakeBackend()
    for i in ("a", "b", "c"):
        value = "dup" if i != "a" else "one"
        backend.data[("Practitioner", i)] = (
            1,
            {"resourceType": "Practitioner", "id": i, "identifier": [{"value": value}]},
        )

    def run(ref: str) -> dict:
        return process_bundle(
            backend,
            CTX,
            {
                "resourceType": "Bundle",
                "type": "transaction",
                "entry": [
                    entry(
                        "POST",
                        "Encounter",
                        {
                            "resourceType": "Encounter",
                            "participant": [{"individual": {"reference": ref}}],
                        },
                    )
                ],
            },
        )

    response = run("Practitioner?identifier=x|one")
    enc_id = response["entry"][0]["response"]["location"].split("/")[1]
    enc = backend.data[("Encounter", enc_id)][1]
    assert enc["participant"][0]["individual"]["reference"] == "Practitioner/a"
    with pytest.raises(PreconditionFailed):
        run("Practitioner?identifier=x|dup")
    with pytest.raises(InvalidResource):
        run("Practitioner?identifier=x|none")


def test_duplicate_targets_rejected() -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            entry("PUT", "Patient/1", {"resourceType": "Patient"}),
            entry("DELETE", "Patient/1"),
        ],
    }
    with pytest.raises(InvalidResource, match="both change Patient/1"):
        process_bundle(FakeBackend(), CTX, bundle)


def test_batch_entries_are_independent() -> None:
    backend = FakeBackend()
    bundle = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            entry("POST", "Patient", {"resourceType": "Patient"}),
            entry("GET", "Patient/missing"),
            entry("PUT", "Patient/x", {"resourceType": "Patient"}),
        ],
    }
    response = process_bundle(backend, CTX, bundle)
    assert response["type"] == "batch-response"
    e = response["entry"]
    assert e[0]["response"]["status"] == "201 Created"
    assert e[1]["response"]["status"] == "404 Not Found"
    assert e[1]["response"]["outcome"]["resourceType"] == "OperationOutcome"
    assert e[2]["response"]["status"] == "201 Created"
    assert ("Patient", "x") in backend.data


@pytest.mark.parametrize(
    "bundle",
    [
        {"resourceType": "Patient"},
        {"resourceType": "Bundle", "type": "collection"},
        {"resourceType": "Bundle", "type": "transaction", "entry": [{"resource": {}}]},
        {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [{"request": {"method": "POST", "url": "Patient"}}],
        },
        {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [entry("POST", "Patient", {"resourceType": "Observation"})],
        },
        {"resourceType": "Bundle", "type": "transaction", "entry": [entry("DELETE", "Patient")]},
        {"resourceType": "Bundle", "type": "transaction", "entry": [entry("TRACE", "Patient")]},
        {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [entry("PUT", "Patient/1", {"resourceType": "Patient", "id": "2"})],
        },
    ],
)
def test_malformed_bundles(bundle: dict) -> None:
    with pytest.raises(InvalidResource):
        process_bundle(FakeBackend(), CTX, bundle)


def test_transaction_permission() -> None:
    ctx = TenantContext("t", Permissions(Operation.all() & ~Operation.TRANSACTION))
    with pytest.raises(PermissionDenied):
        process_bundle(FakeBackend(), ctx, {"resourceType": "Bundle", "type": "batch"})


def test_transaction_rewrites_narrative_links_to_entries() -> None:
    """The transaction rules: links to entries in the narrative (``<a href>``, ``<img src>``)
    are rewritten like references; other links and other attributes stay as written."""
    backend = FakeBackend()
    div = (
        '<div xmlns="http://www.w3.org/1999/xhtml"><p>See <a href="urn:uuid:1">the patient</a>'
        " and <a title='x > y' href='urn:uuid:2'>the photo</a>: "
        '<img alt="urn:uuid:1" src="urn:uuid:2"/> <a href="urn:uuid:elsewhere">gone</a> '
        '<a href="http://example.org/fhir/Patient/p2">old</a> <abbr href="urn:uuid:1">x</abbr>'
        "</p></div>"
    )
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            entry(
                "POST",
                "Observation",
                {
                    "resourceType": "Observation",
                    "text": {"status": "generated", "div": div},
                    "subject": {"reference": "urn:uuid:1"},
                },
            ),
            entry("POST", "Patient", {"resourceType": "Patient"}, "urn:uuid:1"),
            entry("POST", "Media", {"resourceType": "Media", "status": "completed"}, "urn:uuid:2"),
            entry(
                "PUT",
                "Patient/p2",
                {"resourceType": "Patient"},
                "http://example.org/fhir/Patient/p2",
            ),
        ],
    }
    response = process_bundle(backend, CTX, bundle)
    obs_id = response["entry"][0]["response"]["location"].split("/")[1]
    patient_id = response["entry"][1]["response"]["location"].split("/")[1]
    media_id = response["entry"][2]["response"]["location"].split("/")[1]
    written = backend.data[("Observation", obs_id)][1]["text"]["div"]
    assert written == (
        '<div xmlns="http://www.w3.org/1999/xhtml"><p>See '
        f'<a href="Patient/{patient_id}">the patient</a>'
        f" and <a title='x > y' href='Media/{media_id}'>the photo</a>: "
        f'<img alt="urn:uuid:1" src="Media/{media_id}"/> <a href="urn:uuid:elsewhere">gone</a> '
        '<a href="Patient/p2">old</a> <abbr href="urn:uuid:1">x</abbr></p></div>'
    )
    assert bundle["entry"][0]["resource"]["text"]["div"] == div  # the caller's copy is left alone


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["a", "img", "A", "span"]),
            st.sampled_from(["href", "src", "alt"]),
            st.sampled_from(["urn:uuid:1", "urn:uuid:2", "#x", "a&amp;b"]),
            st.sampled_from(['"', "'"]),
            st.text(alphabet=" <>x", max_size=3),
        ),
        max_size=6,
    )
)
def test_narrative_links_rewrite_only_link_attributes(tags: list[tuple[str, ...]]) -> None:
    links = {"urn:uuid:1": "Patient/p&1", "a&b": "Patient/amp"}
    parts, expected = [], []
    for tag, attribute, value, quote, text in tags:
        title = f" title={quote}{text.replace(quote, '')}{quote}"
        parts.append(f"<{tag}{title} {attribute}={quote}{value}{quote}>t</{tag}>")
        link = {"a": "href", "img": "src"}.get(tag.lower()) == attribute
        target = links.get(value.replace("&amp;", "&")) if link else None
        new = html.escape(target, quote=True) if target else value
        expected.append(f"<{tag}{title} {attribute}={quote}{new}{quote}>t</{tag}>")
    div = "<div>" + "".join(parts) + "</div>"
    assert rewrite_narrative_links(div, links) == "<div>" + "".join(expected) + "</div>"
