"""The cursor of the store's PostgreSQL connections: statement text and timing at ``DEBUG``
on ``helios_persistence.sql.postgres`` (see :mod:`helios_persistence.logs`)."""

from __future__ import annotations

import logging
import time
from typing import Any

import psycopg

from helios_persistence.logs import POSTGRES_LOG, log_postgres

__all__ = ["LoggedCursor"]


class LoggedCursor(psycopg.Cursor[Any]):
    """A cursor that logs each ``execute``/``executemany`` when the logger wants ``DEBUG``."""

    def execute(self, query: Any, params: Any = None, **kw: Any) -> Any:
        if not POSTGRES_LOG.isEnabledFor(logging.DEBUG):
            return super().execute(query, params, **kw)
        start = time.perf_counter()
        try:
            return super().execute(query, params, **kw)
        finally:
            log_postgres(query, start, self.connection)

    def executemany(self, query: Any, params_seq: Any, **kw: Any) -> Any:
        if not POSTGRES_LOG.isEnabledFor(logging.DEBUG):
            return super().executemany(query, params_seq, **kw)
        start = time.perf_counter()
        try:
            return super().executemany(query, params_seq, **kw)
        finally:
            log_postgres(query, start, self.connection, many=True)
