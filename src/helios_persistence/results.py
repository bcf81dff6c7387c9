"""What a search returns: :class:`SearchResult`, one page of matches.

A result iterates over its matches, renders as a FHIR ``searchset`` Bundle (absolute
``fullUrl`` and links when the store has a base URL), and converts to Arrow or pandas (one
row per resource: ``id``, ``type``, ``lastUpdated``, the resource as JSON text) for analysis;
``pyarrow`` and ``pandas`` are imported only then (the ``analytics`` extra).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, TypeAlias

import orjson

from helios_persistence.errors import MissingDependency

if TYPE_CHECKING:  # pragma: no cover
    import pandas
    import pyarrow

    from helios_persistence.storage.types import StoredResource

__all__ = ["Resource", "SearchResult", "dumps"]

#: a FHIR resource as parsed JSON (``resourceType``, ``id``, ``meta``, ...)
Resource: TypeAlias = dict[str, Any]


def _absolute(base_url: str | None, relative: str) -> str:
    return f"{base_url.rstrip('/')}/{relative.lstrip('/')}" if base_url else relative


@dataclass(slots=True)
class SearchResult:
    """One page of a search.

    ``resources`` are the matches (``search.mode = match``), ``included`` what ``_include`` /
    ``_revinclude`` added; ``total`` is set when ``_total`` asked for it (or ``_summary=count``);
    ``next`` is a query string for ``store.search(ctx, r.next)``, or None on the last page
    (``next_url`` is the same, absolute when the store has a ``base_url``; a store takes
    either). ``query`` is the search that gave this page (the Bundle's ``self`` link);
    ``compiled`` the statement that ran (for ``explain``-style inspection).
    """

    resources: list[Resource] = field(default_factory=list)
    included: list[Resource] = field(default_factory=list)
    total: int | None = None
    next: str | None = None
    compiled: str = ""
    query: str | None = None
    base_url: str | None = None
    #: the included resources as stored (see :attr:`stored`)
    included_stored: list[StoredResource] = field(default_factory=list)
    #: :attr:`stored`, or what makes it when first read (a search that never reads it does
    #: not build a StoredResource per match: a page of 50 spent ~10% of its time on them)
    stored_source: list[StoredResource] | Callable[[], list[StoredResource]] = field(
        default_factory=list, repr=False, compare=False
    )

    @property
    def stored(self) -> list[StoredResource]:
        """The matches as stored (SQLite and PostgreSQL stores): whole documents whose
        ``json`` is the stored text, FHIR decimals as written (``1.50``)."""
        if callable(self.stored_source):
            self.stored_source = self.stored_source()
        return self.stored_source

    def __getstate__(self) -> tuple[None, dict[str, Any]]:
        """What pickling keeps (the slots' values, :attr:`stored` built first)."""
        self.stored  # noqa: B018
        return None, {f.name: getattr(self, f.name) for f in fields(self)}

    def __iter__(self) -> Iterator[Resource]:
        """The matches of this page (not the included resources). No ``__len__``: a
        ``_summary=count`` page has no matches but a total, and should not be falsy."""
        return iter(self.resources)

    @property
    def ids(self) -> list[str]:
        """``Type/id`` of each match, in order."""
        return [f"{r['resourceType']}/{r['id']}" for r in self.resources]

    @property
    def next_url(self) -> str | None:
        """The next page's link: absolute under ``base_url`` when there is one."""
        return None if self.next is None else _absolute(self.base_url, self.next)

    def to_bundle(self, base_url: str | None = None) -> Resource:
        """The page as a FHIR ``searchset`` Bundle; ``base_url`` (default: the store's) makes
        ``fullUrl`` and the ``self``/``next`` links absolute."""
        base = base_url if base_url is not None else self.base_url
        entries = [
            {
                "fullUrl": _absolute(base, f"{r['resourceType']}/{r['id']}"),
                "resource": r,
                "search": {"mode": mode},
            }
            for mode, group in (("match", self.resources), ("include", self.included))
            for r in group
        ]
        bundle: Resource = {"resourceType": "Bundle", "type": "searchset"}
        if self.total is not None:
            bundle["total"] = self.total
        links = [("self", self.query), ("next", self.next)]
        if any(url is not None for _, url in links):
            bundle["link"] = [
                {"relation": relation, "url": _absolute(base, url)}
                for relation, url in links
                if url is not None
            ]
        bundle["entry"] = entries
        return bundle

    def to_arrow(self, *, included: bool = False) -> pyarrow.Table:
        """The page as a ``pyarrow.Table``: ``id``, ``type``, ``lastUpdated`` (UTC
        microseconds; null when a resource has none) and ``resource`` (JSON text); with
        ``included=True`` the included resources follow, and a ``mode`` column tells them
        apart (``match`` / ``include``)."""
        pa = _require("pyarrow")
        from helios_persistence.fhir_values import parse_date

        rows = [("match", r) for r in self.resources]
        if included:
            rows += [("include", r) for r in self.included]

        def updated(resource: Resource) -> int | None:
            stamp = (resource.get("meta") or {}).get("lastUpdated")
            return parse_date(stamp).low if isinstance(stamp, str) else None

        columns: dict[str, Any] = {
            "id": pa.array([str(r.get("id")) for _, r in rows], pa.string()),
            "type": pa.array([str(r.get("resourceType")) for _, r in rows], pa.string()),
            "lastUpdated": pa.array([updated(r) for _, r in rows], pa.timestamp("us", tz="UTC")),
            "resource": pa.array([dumps(r) for _, r in rows], pa.string()),
        }
        if included:
            columns["mode"] = pa.array([mode for mode, _ in rows], pa.string())
        return pa.table(columns)

    def to_pandas(self, *, included: bool = False) -> pandas.DataFrame:
        """The page as a ``pandas.DataFrame`` (the columns of :meth:`to_arrow`)."""
        _require("pandas")
        return self.to_arrow(included=included).to_pandas()


def _exact(value: Any) -> Any:
    """orjson's hook: a ``Decimal`` (an export's decimals) written with its own digits."""
    from decimal import Decimal

    from helios_persistence.storage.exact_json import decimal_text

    if isinstance(value, Decimal) and value.is_finite():
        return orjson.Fragment(decimal_text(value))
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def dumps(value: Any, *, indent: bool = False) -> str:
    """JSON text of a resource or Bundle, ``Decimal`` values with their digits as written."""
    return orjson.dumps(value, default=_exact, option=orjson.OPT_INDENT_2 if indent else 0).decode()


def _require(module: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingDependency(
            f"{module} is needed for this: pip install 'helios-persistence[analytics]'"
        ) from None
