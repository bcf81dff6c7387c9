"""Every engine the library knows, in one table: the one place a new engine is added.

An :class:`Engine` names its dialect compiler (``compilers/<module>.py`` exposing
``compiler``), the URL schemes :func:`helios_persistence.open_store` opens with it and the
function that does, its role in a polyglot deployment, its column heading in ``helios
matrix``, and whether the conformance suite runs a backend of it. The compiler registry
(:data:`helios_persistence.compilers.DIALECTS`), ``open_store``, the support matrix and the
conformance gaps all read this table. A store object itself carries the rest of the backend
seam: ``compiler``, ``capabilities`` and its ``read_session``/``write_session``.

Third-party engines register an :class:`Engine` under the entry-point group
``helios_persistence.engines``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import import_module
from importlib.metadata import entry_points
from typing import Any, Literal

__all__ = ["ENGINES", "Engine", "engine_for_scheme", "engines"]

Role = Literal["primary", "analytics", "graph", "search"]


@dataclass(frozen=True, slots=True)
class Engine:
    """One engine: see the module docstring."""

    name: str
    title: str
    role: Role
    #: module exposing ``compiler`` (None: the dialect is planned, not built)
    compiler: str | None = None
    #: URL schemes ``open_store`` opens with :attr:`opener`
    schemes: tuple[str, ...] = ()
    #: ``"module:function"`` taking ``(url, **options)`` and returning a store
    opener: str | None = None
    #: whether the conformance suite runs a backend of this engine
    in_suite: bool = False

    def open(self, url: str, **options: Any) -> Any:
        if self.opener is None:
            raise ValueError(f"the {self.title} engine has no store yet")
        module, _, function = self.opener.partition(":")
        return getattr(import_module(module), function)(url, **options)


ENGINES: dict[str, Engine] = {
    e.name: e
    for e in (
        Engine(
            "sqlite", "SQLite", "primary", "helios_persistence.compilers.sqlite",
            ("sqlite",), "helios_persistence.store_urls:open_sqlite", in_suite=True,
        ),
        Engine(
            "postgres", "PostgreSQL", "primary", "helios_persistence.compilers.postgres",
            ("postgresql", "postgres"), "helios_persistence.store_urls:open_postgres",
            in_suite=True,
        ),
        Engine(
            "duckdb", "DuckDB", "analytics", "helios_persistence.compilers.duckdb",
            in_suite=True,  # over an export of the fixtures (hp.open_analytics)
        ),
        Engine(
            "cypher", "Neo4j", "graph", "helios_persistence.compilers.cypher",
            ("neo4j", "bolt"), "helios_persistence.backends.neo4j:open_neo4j", in_suite=True,
        ),
        Engine(
            "elasticsearch", "Elasticsearch", "search",
            "helios_persistence.compilers.elasticsearch", ("elasticsearch", "elasticsearchs"),
            "helios_persistence.backends.elasticsearch.store:open_elasticsearch", in_suite=True,
        ),
    )
}  # fmt: skip


@cache
def engines() -> dict[str, Engine]:
    """:data:`ENGINES` plus the engines other distributions register (entry points)."""
    found = dict(ENGINES)
    for point in entry_points(group="helios_persistence.engines"):
        engine = point.load()
        if not isinstance(engine, Engine):
            raise TypeError(f"entry point {point.name!r} is not an Engine")
        found[engine.name] = engine
    return found


def engine_for_scheme(scheme: str) -> Engine | None:
    """The engine that opens URLs of ``scheme`` (``postgresql+psycopg`` is ``postgresql``)."""
    base = scheme.lower().split("+", 1)[0]
    for engine in engines().values():
        if base in engine.schemes:
            return engine
    return None
