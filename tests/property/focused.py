"""Single-area worlds and queries: many values of one kind, so each example probes one area
hard (tricky strings, dates, quantities, uris, full text)."""

from __future__ import annotations

from decimal import Decimal, localcontext
from typing import Any
from urllib.parse import quote

from hypothesis import strategies as st

from helios_persistence.testing.queries import date_tests, q, quantity_values
from helios_persistence.testing.resources import (
    _YEARS,
    NUMBERS,
    PREFIXES,
    SEARCH_NUMBERS,
    UCUM,
    WORDS,
    _clean,
    _maybe,
    _period,
    fhir_dates,
    quantities,
)


# -- focused worlds: many values of one kind, and arbitrary text ---------------------------------
def fhir_escape(value: str) -> str:
    """A search value with FHIR's escapes (``\\`` before ``\\ , | $``), percent-encoded."""
    for ch in ("\\", ",", "|", "$"):
        value = value.replace(ch, "\\" + ch)
    return quote(value, safe="")


#: characters that trouble string matching: LIKE wildcards and escape, case pairs that fold
#: oddly (İ, ß, ligatures), combining marks, white space
TRICKY = "aAbBsS%_\\ äÄéÉ'-.İıßﬁǅ\u0301\t"


@st.composite
def tricky_text(draw: Any, min_size: int = 1) -> str:
    return draw(st.text(alphabet=TRICKY, min_size=min_size, max_size=8))


@st.composite
def string_worlds(draw: Any) -> list[dict[str, Any]]:
    """Patients whose names are short strings of tricky characters."""
    out = []
    for i in range(draw(st.integers(1, 6))):
        families = draw(st.lists(tricky_text(), min_size=0, max_size=2))
        out.append(
            _clean(
                {
                    "resourceType": "Patient",
                    "id": f"pat-{i}",
                    "name": [{"family": f} for f in families],
                }
            )
        )
    return out


@st.composite
def string_queries(draw: Any) -> str:
    code = draw(st.sampled_from(["family", "name"]))
    modifier = draw(st.sampled_from(["", ":exact", ":contains"]))
    values = draw(st.lists(tricky_text(), min_size=1, max_size=2))
    sort = draw(st.sampled_from(["", "&_sort=family", "&_sort=-family,_id"]))
    return f"Patient?{code}{modifier}=" + ",".join(fhir_escape(v) for v in values) + sort


@st.composite
def dated_worlds(draw: Any) -> list[dict[str, Any]]:
    """Observations dated at every precision and timezone, as instants and Periods."""
    out = []
    for i in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["dateTime", "dateTime", "period", "instant", "none"]))
        obs: dict[str, Any] = {
            "resourceType": "Observation",
            "id": f"obs-{i}",
            "status": "final",
            "code": {"text": "x"},
        }
        if kind == "dateTime":
            obs["effectiveDateTime"] = draw(fhir_dates())
        elif kind == "period":
            obs["effectivePeriod"] = _period(draw) or {"start": "2020"}
        elif kind == "instant":
            day = draw(st.sampled_from(["01-01", "03-15", "12-31"]))
            time = draw(st.sampled_from(["00:00:00Z", "10:30:00.5+02:00", "23:59:59-05:00"]))
            obs["effectiveInstant"] = f"{draw(st.sampled_from(_YEARS))}-{day}T{time}"
        out.append(obs)
    return out


@st.composite
def date_queries(draw: Any) -> str:
    tests = draw(st.lists(date_tests("date"), min_size=1, max_size=2))
    sort = draw(st.sampled_from(["", "&_sort=date", "&_sort=-date"]))
    return "Observation?" + "&".join(tests) + sort


@st.composite
def date_range_queries(draw: Any) -> str:
    """Two or three conditions on ``date``, ANDed, over Observations dated at every precision
    (single values: instants, Periods open or inverted, whole years)."""
    prefixes = st.sampled_from(["gt", "ge", "lt", "le", "eq", "sa", "eb", "ap", "ne"])
    tests = [
        f"date={q(draw(prefixes) + draw(fhir_dates()))}" for _ in range(draw(st.integers(2, 3)))
    ]
    return "Observation?" + "&".join(tests)


@st.composite
def multi_dated_worlds(draw: Any) -> list[dict[str, Any]]:
    """Goals with several target dates each (a multi-valued date parameter), among Goals with
    one or none: a date range may hold on different values of one resource."""
    out = []
    for i in range(draw(st.integers(1, 8))):
        due = draw(st.lists(fhir_dates(with_time=False), max_size=3))
        out.append(
            {
                "resourceType": "Goal",
                "id": f"goal-{i}",
                "lifecycleStatus": "active",
                "description": {"text": "x"},
                "subject": {"reference": "Patient/x"},
                "target": [{"dueDate": d} for d in due],
            }
        )
    return out


@st.composite
def range_queries(draw: Any) -> str:
    """Two or three conditions on one date parameter, ANDed (each may hold on any value)."""
    prefixes = st.sampled_from(["gt", "ge", "lt", "le", "eq", "sa", "eb", "ap", "ne"])
    tests = [
        f"target-date={q(draw(prefixes) + draw(fhir_dates()))}"
        for _ in range(draw(st.integers(2, 3)))
    ]
    return "Goal?" + "&".join(tests) + draw(st.sampled_from(["", "&_sort=target-date"]))


@st.composite
def measured_worlds(draw: Any) -> list[dict[str, Any]]:
    """Observations with quantities in interconvertible units, and RiskAssessments."""
    out: list[dict[str, Any]] = []
    for i in range(draw(st.integers(1, 8))):
        out.append(
            {
                "resourceType": "Observation",
                "id": f"obs-{i}",
                "status": "final",
                "code": {"text": "x"},
                "valueQuantity": draw(quantities()),
            }
        )
    for i in range(draw(st.integers(0, 3))):
        values = draw(st.lists(st.sampled_from(NUMBERS), max_size=2))
        out.append(
            {
                "resourceType": "RiskAssessment",
                "id": f"ra-{i}",
                "status": "final",
                "subject": {"reference": "Patient/x"},
                "prediction": [{"probabilityDecimal": v} for v in values],
            }
        )
    return out


@st.composite
def measure_queries(draw: Any) -> str:
    if draw(st.integers(0, 3)) == 0:
        value = draw(st.sampled_from(PREFIXES)) + draw(st.sampled_from(SEARCH_NUMBERS))
        return f"RiskAssessment?probability={value}" + draw(
            st.sampled_from(["", "&_sort=probability", "&_sort=-probability"])
        )
    values = draw(st.lists(quantity_values(), min_size=1, max_size=2))
    sort = draw(st.sampled_from(["", "&_sort=value-quantity", "&_sort=-value-quantity"]))
    return "Observation?value-quantity=" + ",".join(q(v) for v in values) + sort


#: integers a double cannot hold, and their neighbours
_BIG = [2**53, 2**53 + 1, 2**63 - 1, 10**20 + 1, 10**30 + 7]


@st.composite
def exact_decimals(draw: Any) -> Decimal:
    """Any FHIR decimal: up to 30 digits, the point anywhere, large integers near 2^53."""
    if draw(st.integers(0, 2)) == 0:
        value = Decimal(draw(st.sampled_from(_BIG)) + draw(st.integers(-2, 2)))
    else:
        digits = draw(st.integers(0, 10 ** draw(st.integers(1, 30))))
        value = Decimal(digits).scaleb(draw(st.integers(-25, 5)))
    return -value if draw(st.booleans()) else value


def decimal_text(value: Decimal) -> str:
    """A decimal written out in plain notation, every digit kept (``1E+2`` is ``100``)."""
    return format(value, "f")


@st.composite
def numbered_worlds(draw: Any) -> list[dict[str, Any]]:
    """RiskAssessments and Observations whose numbers are exact decimals (as JSON text would
    give them: ``Decimal``), many a double cannot hold."""
    out: list[dict[str, Any]] = []
    for i in range(draw(st.integers(1, 6))):
        values = draw(st.lists(exact_decimals(), min_size=1, max_size=2))
        out.append(
            {
                "resourceType": "RiskAssessment", "id": f"ra-{i}", "status": "final",
                "subject": {"reference": "Patient/x"},
                "prediction": [{"probabilityDecimal": v} for v in values],
            }
        )  # fmt: skip
    for i in range(draw(st.integers(0, 4))):
        quantity = {"value": draw(exact_decimals()), "system": UCUM, "code": "mg", "unit": "mg"}
        out.append(
            {
                "resourceType": "Observation", "id": f"obs-{i}", "status": "final",
                "code": {"text": "x"}, "valueQuantity": quantity,
            }
        )  # fmt: skip
    return out


@st.composite
def exact_number_queries(draw: Any) -> str:
    """A number or quantity search on an exact decimal, or on a neighbour of a large one."""
    value = draw(exact_decimals())
    text = decimal_text(value)
    if draw(st.booleans()):  # one unit of the last digit away, or the same with more digits
        with localcontext() as exact:
            exact.prec = 100  # (the default 28 digits would round the neighbours)
            step = Decimal(1).scaleb(value.as_tuple().exponent)  # type: ignore[arg-type]
            text = draw(
                st.sampled_from(
                    [decimal_text(value - step), decimal_text(value + step),
                     text + ("0" if "." in text else ".0")]
                )
            )  # fmt: skip
    number = draw(st.sampled_from(PREFIXES)) + q(text)
    if draw(st.booleans()):
        sort = draw(st.sampled_from(["", "&_sort=probability", "&_sort=-probability"]))
        return f"RiskAssessment?probability={number}{sort}"
    unit = draw(st.sampled_from(["", f"|{UCUM}|mg", f"|{UCUM}|g"]))
    return f"Observation?value-quantity={number}{unit}"


#: words for text search: the vocabulary plus arbitrary lower-case words (Porter on anything)
_TEXT_WORDS = st.one_of(
    st.sampled_from(WORDS), st.text(alphabet="abcdeilnorstuy", min_size=1, max_size=9)
)


@st.composite
def texted_worlds(draw: Any) -> list[dict[str, Any]]:
    out = []
    for i in range(draw(st.integers(1, 6))):
        words = draw(st.lists(_TEXT_WORDS, min_size=1, max_size=8))
        div = '<div xmlns="http://www.w3.org/1999/xhtml">' + " ".join(words) + "</div>"
        out.append(
            {
                "resourceType": "Patient",
                "id": f"pat-{i}",
                "text": {"status": "generated", "div": div},
                "name": [{"family": draw(_TEXT_WORDS)}],
            }
        )
    return out


@st.composite
def text_expressions(draw: Any, depth: int = 0) -> str:
    word = draw(_TEXT_WORDS)
    forms = ["word", "prefix", "phrase", "near"] + (["or", "and", "not"] if depth < 2 else [])
    form = draw(st.sampled_from(forms))
    if form == "word":
        return word
    if form == "prefix":
        return word[: draw(st.integers(1, len(word)))] + "*"
    if form == "phrase":
        return '"' + " ".join(draw(st.lists(_TEXT_WORDS, min_size=1, max_size=3))) + '"'
    if form == "near":
        words = " ".join(draw(st.lists(_TEXT_WORDS, min_size=2, max_size=3)))
        return f"NEAR({words}\\, {draw(st.integers(0, 4))})"
    left = draw(text_expressions(depth + 1))
    right = draw(text_expressions(depth + 1))
    if form == "or":
        return f"({left} OR {right})"
    if form == "and":
        return f"({left} {right})"
    return f"({left} -{right})"


@st.composite
def text_queries(draw: Any) -> str:
    param = draw(st.sampled_from(["_text", "_content", "name:text-advanced"]))
    expr = draw(text_expressions())
    return f"Patient?{param}=" + quote(expr, safe="\\*")


_URI_PARTS = [
    "http://example.org",
    "/fhir",
    "/ValueSet",
    "/a",
    "/b",
    "%",
    "_",
    "urn:oid:1.2",
    ".3",
    "HTTP://EXAMPLE.ORG",
]


@st.composite
def uris(draw: Any) -> str:
    return "".join(draw(st.lists(st.sampled_from(_URI_PARTS), min_size=1, max_size=4)))


@st.composite
def uri_worlds(draw: Any) -> list[dict[str, Any]]:
    """ValueSets whose urls share prefixes, and Observations whose code text is tricky."""
    out: list[dict[str, Any]] = []
    for i in range(draw(st.integers(1, 6))):
        out.append(
            _clean(
                {
                    "resourceType": "ValueSet",
                    "id": f"vs-{i}",
                    "status": "active",
                    "url": _maybe(draw, uris(), 0.9),
                }
            )
        )
    for i in range(draw(st.integers(0, 4))):
        out.append(
            {
                "resourceType": "Observation",
                "id": f"obs-{i}",
                "status": "final",
                "code": {"text": draw(tricky_text())},
            }
        )
    return out


@st.composite
def uri_queries(draw: Any) -> str:
    if draw(st.integers(0, 3)) == 0:
        return "Observation?code:text=" + fhir_escape(draw(tricky_text()))
    modifier = draw(st.sampled_from(["", ":below", ":above", ":missing"]))
    if modifier == ":missing":
        return f"ValueSet?url:missing={draw(st.sampled_from(['true', 'false']))}"
    values = draw(st.lists(uris(), min_size=1, max_size=2))
    sort = draw(st.sampled_from(["", "&_sort=url", "&_sort=-url"]))
    return f"ValueSet?url{modifier}=" + ",".join(fhir_escape(v) for v in values) + sort
