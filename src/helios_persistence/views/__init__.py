"""SQL-on-FHIR v2 ViewDefinitions compiled through sqlglot to DuckDB, SQLite and PostgreSQL.

>>> import helios_persistence as hp
>>> view = {"resource": "Patient", "select": [{"column": [{"name": "id", "path": "id"}]}]}
>>> hp.views.compile(view, dialect="sqlite").text  # doctest: +ELLIPSIS
'SELECT ...'

* :func:`compile` — a ViewDefinition → SQL text and bound parameters, over a table
  ``resources(type, json)`` (see :mod:`helios_persistence.views.view`).
* :func:`run` — a ViewDefinition over a source → :class:`pyarrow.Table`. A source is a list
  of resources, an NDJSON file or folder (DuckDB), a store with a tenant context (SQLite
  JSON1, PostgreSQL jsonb), or anything implementing
  :class:`~helios_persistence.views.sources.ViewSource`.
* :func:`materialize` — into a DuckDB table or a Parquet file.
* :func:`run_operation` — ``$viewdefinition-run``: ``_format`` csv | ndjson | json | parquet,
  ``_limit``.
* :func:`validate` — check a ViewDefinition; errors name the offending element's path.

Modules: :mod:`~.fhirpath` (parsing), :mod:`~.definition` (validation), :mod:`~.lower`,
:mod:`~.operators`, :mod:`~.functions`, :mod:`~.boundaries`, :mod:`~.repeat` (FHIRPath →
sqlglot), :mod:`~.view` (the view's structure), :mod:`~.dialects` (per-dialect tables),
:mod:`~.sources`, :mod:`~.arrow`, :mod:`~.run` (running), :mod:`~.suite` (the official
test suite runner).
"""

from __future__ import annotations

from helios_persistence.views.definition import View, parse_view
from helios_persistence.views.run import materialize, run, run_operation
from helios_persistence.views.sources import DuckDBSource, StoreSource, ViewSource
from helios_persistence.views.view import CompiledView, ViewColumn, compile_view

__all__ = [
    "CompiledView",
    "DuckDBSource",
    "StoreSource",
    "View",
    "ViewColumn",
    "ViewSource",
    "compile",
    "materialize",
    "run",
    "run_operation",
    "validate",
]


def compile(view: object, dialect: str = "duckdb", *, tenant: bool = False) -> CompiledView:
    """Compile ``view`` for ``dialect`` (``duckdb``, ``sqlite``, ``postgres``)."""
    return compile_view(view, dialect, tenant=tenant)


def validate(view: object) -> View:
    """Validate ``view`` without data, compiling it once (raises InvalidViewDefinition)."""
    compile_view(view, "duckdb")
    return parse_view(view)
