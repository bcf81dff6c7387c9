"""Where the real test services are, and what a test does when one is not there.

``service_url(name)`` returns the address of a running PostgreSQL, Neo4j or Elasticsearch
server for the integration tests. The address comes from ``HELIOS_TEST_POSTGRES``,
``HELIOS_TEST_NEO4J`` or ``HELIOS_TEST_ELASTICSEARCH``; when unset, from the defaults that
``scripts/services up`` uses, so ``scripts/services up && make test`` needs no exports.

Before returning, the server is probed with a short timeout (a real connection, and a real
round trip where the client library is installed). When it does not answer, the calling test
is skipped - or failed, when ``HELIOS_REQUIRE_SERVICES`` is set to a non-empty value, as CI
does, so that a missing server can never pass as a green run.
"""

from __future__ import annotations

import base64
import functools
import json
import os
import re
import socket
import urllib.error
import urllib.request
from urllib.parse import SplitResult, urlsplit, urlunsplit

import pytest

__all__ = [
    "DEFAULT_URLS",
    "ENV_VARS",
    "REQUIRE_ENV",
    "redact",
    "service_url",
    "split_neo4j_auth",
]

#: The addresses ``scripts/services up`` serves (see ``scripts/services env``).
DEFAULT_URLS: dict[str, str] = {
    "postgres": "postgresql://helios:helios@127.0.0.1:5432/helios_test",
    "neo4j": "bolt://127.0.0.1:7687",
    "elasticsearch": "http://127.0.0.1:9200",
}

ENV_VARS: dict[str, str] = {
    "postgres": "HELIOS_TEST_POSTGRES",
    "neo4j": "HELIOS_TEST_NEO4J",
    "elasticsearch": "HELIOS_TEST_ELASTICSEARCH",
}

#: Set (non-empty) to turn "service not reachable" from a skip into a failure.
REQUIRE_ENV = "HELIOS_REQUIRE_SERVICES"

_TIMEOUT = 3.0
_DEFAULT_PORTS = {"postgres": 5432, "neo4j": 7687, "elasticsearch": 9200}


def service_url(name: str) -> str:
    """The URL of the running ``name`` server, or skip (fail under CI) the calling test."""
    if name not in ENV_VARS:
        raise ValueError(f"unknown service {name!r}; expected one of {sorted(ENV_VARS)}")
    url = os.environ.get(ENV_VARS[name]) or DEFAULT_URLS[name]
    reason = _probe(name, url)
    if reason is not None:
        message = (
            f"{name} not reachable at {redact(url)}: {reason}; "
            f"start it with scripts/services up {name}"
        )
        if os.environ.get(REQUIRE_ENV):
            pytest.fail(f"{message} ({REQUIRE_ENV} is set)", pytrace=False)
        pytest.skip(message)
    return url


def redact(url: str) -> str:
    """``url`` with any password replaced by ``***`` (for messages)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{netloc}"))


def split_neo4j_auth(url: str) -> tuple[str, tuple[str, str] | None]:
    """``bolt://user:pw@host:port`` -> (``bolt://host:port``, (user, pw)); no user -> None."""
    parts = urlsplit(url)
    if parts.username is None:
        return url, None
    netloc = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=netloc)), (parts.username, parts.password or "")


# ---------------------------------------------------------------------------------------------
# probes: each returns None when the server answers, else a one-line reason


@functools.cache
def _probe(name: str, url: str) -> str | None:
    try:
        _PROBES[name](url)
    except Exception as exc:  # any failure to talk to the server is a reason to skip/fail
        return _one_line(f"{type(exc).__name__}: {exc}")
    return None


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _tcp(parts: SplitResult, default_port: int) -> None:
    host = parts.hostname or "127.0.0.1"
    port = parts.port or default_port
    with socket.create_connection((host, port), timeout=_TIMEOUT):
        pass


def _probe_postgres(url: str) -> None:
    try:
        import psycopg
    except ImportError:  # no driver: at least the port must answer
        parts = urlsplit(url)
        if parts.hostname and not parts.hostname.startswith("/"):
            _tcp(parts, _DEFAULT_PORTS["postgres"])
        return
    with psycopg.connect(url, connect_timeout=int(_TIMEOUT), autocommit=True) as conn:
        row = conn.execute("SELECT 1").fetchone()
        if row != (1,):
            raise RuntimeError(f"SELECT 1 answered {row!r}")


def _probe_neo4j(url: str) -> None:
    plain, auth = split_neo4j_auth(url)
    _tcp(urlsplit(plain), _DEFAULT_PORTS["neo4j"])  # fail fast before the driver's retries
    try:
        from neo4j import GraphDatabase
    except ImportError:
        return
    with GraphDatabase.driver(plain, auth=auth, connection_timeout=_TIMEOUT) as driver:
        driver.verify_connectivity()


def _probe_es(url: str) -> None:
    parts = urlsplit(url)
    headers = {"Accept": "application/json"}
    if parts.username is not None:
        token = f"{parts.username}:{parts.password or ''}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(token).decode()
        parts = parts._replace(netloc=parts.netloc.rsplit("@", 1)[1])
    base = urlunsplit(parts).rstrip("/")
    request = urllib.request.Request(f"{base}/_cluster/health?timeout=2s", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=_TIMEOUT) as response:
            status = json.load(response).get("status")
    except urllib.error.HTTPError as exc:
        raise RuntimeError(f"GET /_cluster/health answered HTTP {exc.code}") from exc
    if status not in ("yellow", "green"):
        raise RuntimeError(f"cluster health is {status!r}")


_PROBES = {"postgres": _probe_postgres, "neo4j": _probe_neo4j, "elasticsearch": _probe_es}
