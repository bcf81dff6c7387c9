"""Logging through the standard :mod:`logging` module.

Loggers (all under ``helios_persistence``; the library adds no handler but a
``NullHandler``):

* ``helios_persistence.sql.sqlite`` and ``helios_persistence.sql.postgres``: every statement
  the SQL backends run, its text and how long it took, at ``DEBUG``. Values are bound
  parameters and never appear in the text, so the log carries no resource data.

SQLite reports timings through ``sqlite3_trace_v2`` (installed on a connection when it is
opened while the logger is enabled for ``DEBUG``: configure logging before opening the store);
PostgreSQL's connections use :class:`~helios_persistence.backends.postgres.logged.LoggedCursor`,
which checks the level per statement.

>>> import logging
>>> logging.basicConfig()
>>> logging.getLogger("helios_persistence.sql").setLevel(logging.DEBUG)
"""

from __future__ import annotations

import logging
import time
from typing import Any

__all__ = ["POSTGRES_LOG", "SQLITE_LOG", "log_postgres", "trace_sqlite"]

logging.getLogger("helios_persistence").addHandler(logging.NullHandler())

SQLITE_LOG = logging.getLogger("helios_persistence.sql.sqlite")
POSTGRES_LOG = logging.getLogger("helios_persistence.sql.postgres")


def _one_line(sql: object) -> str:
    return " ".join(str(sql).split())


def trace_sqlite(conn: Any) -> None:
    """Log every statement of apsw connection ``conn`` with its duration (when ``DEBUG``)."""
    if not SQLITE_LOG.isEnabledFor(logging.DEBUG):
        return
    import apsw

    def profile(event: dict[str, Any]) -> None:
        ms = event.get("nanoseconds", 0) / 1e6
        SQLITE_LOG.debug("%.3f ms  %s", ms, _one_line(event.get("sql", "")))

    conn.trace_v2(apsw.SQLITE_TRACE_PROFILE, profile)


def log_postgres(query: Any, start: float, connection: Any, *, many: bool = False) -> None:
    """Log a PostgreSQL statement that started at ``start`` (``time.perf_counter()``)."""
    ms = (time.perf_counter() - start) * 1000
    if not isinstance(query, str | bytes):  # a psycopg.sql.Composable
        try:
            query = query.as_string(connection)
        except Exception:  # pragma: no cover - a broken connection: log what we can
            query = repr(query)
    text = query.decode() if isinstance(query, bytes) else query
    POSTGRES_LOG.debug("%.3f ms  %s%s", ms, "(many) " if many else "", _one_line(text))
