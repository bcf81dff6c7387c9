"""Fuzz the store API with hostile input, and ``authorize`` with random contexts (issue 12).

Properties, for any input:

1. **store calls** (create, update, bulk_update, patch, transaction, search with tampered
   cursors, read, vread, history) on a seeded SQLite store: nothing but a
   :class:`~helios_persistence.errors.HeliosError` carrying an OperationOutcome escapes, and
   a call that fails changes nothing (the resource and history rows are as before). Inputs
   are JSON-like values with the classes of bad input the adversarial review found: nesting
   thousands of levels deep, non-string keys, integers beyond 64 bits, NaN, lone surrogates,
   non-string ``ifNoneExist``/``fullUrl``, duplicate ``fullUrl``\\ s, typeless requests,
   forged ``_cursor`` values, huge or negative versions and offsets.
2. **authorize**: for a random query and a random context, only ``PermissionDenied`` or
   ``InvalidSearch`` escape, and an authorised query touches and includes only permitted
   types.

Run it with one command::

    .venv/bin/python fuzz/fuzz_store.py                  # atheris (libFuzzer) if installed
    .venv/bin/python fuzz/fuzz_store.py --hypothesis 2000   # the hypothesis-driven loop

``tests/property/test_fuzz_store.py`` runs a short loop of both in the normal test suite.
"""

from __future__ import annotations

import base64
import json
import sys
from typing import Any

from fuzz_main import run

TYPES = ["Patient", "Observation", "Organization", "Practitioner", "List", "Encounter"]


class Deep:
    """A placeholder for a value nested ``levels`` deep, built only when the call runs (so
    hypothesis can print a failing example)."""

    def __init__(self, levels: int) -> None:
        self.levels = levels

    def __repr__(self) -> str:
        return f"Deep({self.levels})"

    def build(self) -> Any:
        value: Any = "x"
        for i in range(self.levels):
            value = {"nested": value} if i % 2 else [value]
        return value


def _json_text(value: Any) -> str:
    """JSON text of a generated value (a :class:`Deep` one written without recursion)."""
    if isinstance(value, Deep):
        return "[" * value.levels + "1" + "]" * value.levels
    return json.dumps(value, default=str)


def materialize(value: Any) -> Any:
    """``value`` with every :class:`Deep` placeholder built."""
    if isinstance(value, Deep):
        return value.build()
    if isinstance(value, dict):
        return {k: materialize(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(materialize(v) for v in value)
    return value


def json_like() -> Any:
    """A hypothesis strategy: JSON-ish values with the hostile classes mixed in."""
    from hypothesis import strategies as st

    leaves = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**70), 2**70),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=6),
        st.sampled_from(["\ud800", "a\udfffb", "\x00", "Patient/1", "urn:uuid:1"]),
    )
    keys = st.one_of(st.text(max_size=5), st.integers(-3, 3), st.sampled_from(["id", "url"]))
    nested = st.recursive(
        leaves,
        lambda inner: st.one_of(
            st.lists(inner, max_size=3), st.dictionaries(keys, inner, max_size=3)
        ),
        max_leaves=12,
    )
    deep = st.integers(150, 3000).map(Deep)
    return st.one_of(nested, nested, deep)


def store_calls() -> Any:
    """A hypothesis strategy: ``(method, args, kwargs)`` of one hostile store call."""
    from hypothesis import strategies as st

    try:
        from fuzz_compile import query_inputs
    except ImportError:  # imported as fuzz.fuzz_store
        from fuzz.fuzz_compile import query_inputs

    value = json_like()
    rtype = st.sampled_from(TYPES)

    @st.composite
    def resources(draw: Any) -> Any:
        body = draw(st.dictionaries(st.text(max_size=6), value, max_size=3))
        extra = draw(st.dictionaries(st.one_of(st.integers(0, 3), st.text(max_size=3)), value,
                                     max_size=1))  # fmt: skip
        out = {**body, **extra, "resourceType": draw(rtype)}
        if draw(st.booleans()):
            out["id"] = draw(st.one_of(st.just("p1"), st.text(max_size=4), value))
        return out

    @st.composite
    def entries(draw: Any) -> Any:
        request: dict[str, Any] = {
            "method": draw(st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"])),
            "url": draw(st.one_of(
                st.sampled_from(["Patient", "Patient/p1", "_history", "?_type=Patient",
                                 "Patient?name=x", "Patient/p1/_history/1", "Patient/_history"]),
                st.text(max_size=8),
            )),
        }  # fmt: skip
        for key in ("ifNoneExist", "ifMatch"):
            if draw(st.integers(0, 3)) == 0:
                request[key] = draw(st.one_of(st.text(max_size=6), value))
        entry: dict[str, Any] = {"request": request}
        if draw(st.booleans()):
            entry["resource"] = draw(resources())
        if draw(st.booleans()):
            entry["fullUrl"] = draw(st.one_of(st.sampled_from(["urn:uuid:a", "urn:uuid:b"]), value))
        return entry

    cursor = value.map(lambda v: base64.urlsafe_b64encode(_json_text(v).encode()))
    searches = st.one_of(
        query_inputs(),
        st.tuples(st.sampled_from(["", "&_sort=_lastUpdated", "&_sort=-_id"]), cursor).map(
            lambda t: f"Patient?_count=1{t[0]}&_cursor={t[1].decode().rstrip('=')}"
        ),
        value,
    )
    ids = st.one_of(st.just("p1"), st.text(max_size=4), value)
    versions = st.one_of(st.integers(-5, 10**40).map(str), st.integers(-5, 10**40), value)
    paging = st.one_of(st.integers(-(2**70), 2**70), value)
    return st.one_of(
        st.tuples(st.just("create"), st.tuples(resources()), st.just({})),
        st.tuples(st.just("create"), st.tuples(resources()),
                  st.fixed_dictionaries({"if_none_exist": value})),
        st.tuples(st.just("update"), st.tuples(resources()), st.just({})),
        st.tuples(st.just("bulk_update"), st.tuples(st.lists(resources(), max_size=3)),
                  st.just({})),
        st.tuples(st.just("patch"), st.tuples(st.just("Patient"), ids, value), st.just({})),
        st.tuples(st.just("transaction"), st.tuples(st.fixed_dictionaries({
            "resourceType": st.just("Bundle"),
            "type": st.sampled_from(["transaction", "batch"]),
            "entry": st.lists(entries(), max_size=4),
        })), st.just({})),
        st.tuples(st.just("search"), st.tuples(searches), st.just({})),
        st.tuples(st.just("read"), st.tuples(rtype, ids), st.just({})),
        st.tuples(st.just("vread"), st.tuples(rtype, ids, versions), st.just({})),
        st.tuples(st.just("history"), st.tuples(st.sampled_from(["Patient", None])),
                  st.fixed_dictionaries({}, optional={"count": paging, "offset": paging})),
    )  # fmt: skip


_STORE: Any = None


def _store() -> Any:
    global _STORE
    if _STORE is None:
        import helios_persistence as hp

        _STORE = hp.open_store("sqlite://")
        ctx = hp.TenantContext.for_tenant("fuzz")
        _STORE.update(ctx, {"resourceType": "Patient", "id": "p1", "name": [{"family": "X"}]})
        _STORE.update(ctx, {"resourceType": "Patient", "id": "p2"})
    return _STORE


def _rows(store: Any, ctx: Any) -> tuple[int, int]:
    with store._pool(ctx).read() as conn:
        counted = [conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                   for t in ("resources", "history")]  # fmt: skip
    return counted[0], counted[1]


def check_call(call: tuple[str, tuple[Any, ...], dict[str, Any]]) -> None:
    """One store call: only a HeliosError (with an outcome) escapes; a failure changes nothing."""
    import helios_persistence as hp
    from helios_persistence.errors import HeliosError

    store = _store()
    ctx = hp.TenantContext.for_tenant("fuzz")
    method, args, kwargs = materialize(call)
    before = _rows(store, ctx)
    try:
        getattr(store, method)(ctx, *args, **kwargs)
    except HeliosError as exc:
        outcome = exc.outcome
        assert outcome["resourceType"] == "OperationOutcome", (method, exc)
        json.dumps(outcome, default=str)  # it can be sent as it is
        assert _rows(store, ctx) == before, f"{method} failed but changed rows: {exc}"


def check_authorize(query: str, allowed: frozenset[str] | None, compartment: str | None) -> None:
    """``authorize`` refuses or confines, nothing else, and what it passes is permitted."""
    import helios_persistence as hp
    from helios_persistence.authorization import authorize, touched_types
    from helios_persistence.errors import InvalidSearch, PermissionDenied

    perms = hp.Permissions(
        resource_types=allowed, compartment=("Patient", compartment) if compartment else None
    )
    ctx = hp.TenantContext("fuzz", perms)
    try:
        q = authorize(hp.parse(query), ctx)
    except (InvalidSearch, PermissionDenied):
        return
    if allowed is None:
        return
    named = [q.resource_type] if q.resource_type else list(q.types)
    touched = {*named, *(t for t, _ in touched_types(q.where))}
    assert touched <= allowed, f"{query}: touches {touched - allowed}"
    for inc in q.include:
        assert inc.source_type == "*" or inc.source_type in allowed, (query, inc)
        assert inc.reverse or inc.target_type in allowed, (query, inc)


def authorize_inputs() -> Any:
    from hypothesis import strategies as st

    try:
        from fuzz_compile import query_inputs
    except ImportError:
        from fuzz.fuzz_compile import query_inputs

    return st.tuples(
        query_inputs(),
        st.one_of(st.none(), st.frozensets(st.sampled_from(TYPES))),
        st.one_of(st.none(), st.sampled_from(["p1", "x"])),
    )


def hypothesis_loop(examples: int) -> None:
    from hypothesis import HealthCheck, given, settings

    options = settings(max_examples=examples, deadline=None,
                       suppress_health_check=list(HealthCheck))  # fmt: skip

    @options
    @given(store_calls())
    def calls(call: Any) -> None:
        check_call(call)

    @options
    @given(authorize_inputs())
    def contexts(args: Any) -> None:
        check_authorize(*args)

    calls()
    contexts()


def main(argv: list[str]) -> int:
    def fuzz(atheris: Any, argv: list[str]) -> None:
        def one(data: bytes) -> None:  # the bytes as a JSON resource for create, else ignored
            try:
                resource = json.loads(data)
            except (ValueError, RecursionError):
                return
            check_call(("create", (resource,), {}))
            check_call(("transaction", (resource,), {}))

        atheris.Setup(argv, one)
        atheris.Fuzz()

    return run(argv, hypothesis_loop, fuzz)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
