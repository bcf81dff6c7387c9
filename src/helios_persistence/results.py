"""What a search returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["SearchResult"]


@dataclass(slots=True)
class SearchResult:
    """One page of a search.

    ``resources`` are the matches (``search.mode = match``), ``included`` what ``_include`` /
    ``_revinclude`` added; ``total`` is set when ``_total`` asked for it (or ``_summary=count``);
    ``next`` is a query string for ``store.search(ctx, r.next)``, or None on the last page.
    ``compiled`` is the statement that ran (for ``explain``-style inspection).
    """

    resources: list[dict[str, Any]] = field(default_factory=list)
    included: list[dict[str, Any]] = field(default_factory=list)
    total: int | None = None
    next: str | None = None
    compiled: str = ""

    @property
    def ids(self) -> list[str]:
        """``Type/id`` of each match, in order."""
        return [f"{r['resourceType']}/{r['id']}" for r in self.resources]

    def to_bundle(self, base_url: str = "") -> dict[str, Any]:
        """The page as a FHIR ``searchset`` Bundle."""
        prefix = base_url.rstrip("/") + "/" if base_url else ""
        entries = [
            {
                "fullUrl": f"{prefix}{r['resourceType']}/{r['id']}",
                "resource": r,
                "search": {"mode": mode},
            }
            for mode, group in (("match", self.resources), ("include", self.included))
            for r in group
        ]
        bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset", "entry": entries}
        if self.total is not None:
            bundle["total"] = self.total
        if self.next is not None:
            bundle["link"] = [{"relation": "next", "url": f"{prefix}{self.next}"}]
        return bundle
