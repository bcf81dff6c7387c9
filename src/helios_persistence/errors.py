"""One exception hierarchy for the whole library.

Every error that reaches a caller derives from :class:`HeliosError` and can describe itself as
a FHIR ``OperationOutcome`` (``.outcome``), so a server can return it unchanged.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "Conflict",
    "Gone",
    "HeliosError",
    "InvalidInput",
    "InvalidResource",
    "InvalidSearch",
    "InvalidStoreURL",
    "InvalidViewDefinition",
    "MissingDependency",
    "NotFound",
    "OperationNotSupported",
    "PermissionDenied",
    "PreconditionFailed",
    "QueryTimeout",
    "SchemaMismatch",
    "TerminologyError",
    "TransientConflict",
    "Unavailable",
    "UnsupportedInDialect",
    "VersionConflict",
]


class HeliosError(Exception):
    """Base of every error the library raises on purpose."""

    #: FHIR ``issue.code`` (http://hl7.org/fhir/R4/valueset-issue-type.html)
    issue_code = "exception"
    #: the HTTP status a FHIR server would answer with
    http_status = 500

    def __init__(self, message: str, *, expression: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.expression = expression

    @property
    def outcome(self) -> dict[str, Any]:
        """This error as a FHIR R4 ``OperationOutcome`` resource."""
        issue: dict[str, Any] = {
            "severity": "error",
            "code": self.issue_code,
            "diagnostics": self.message,
        }
        if self.expression:
            issue["expression"] = [self.expression]
        return {"resourceType": "OperationOutcome", "issue": [issue]}


class InvalidSearch(HeliosError):
    """A search the library cannot run: bad syntax, unknown parameter, bad value, over a limit.

    ``position`` is the 0-based character offset in the (decoded) query string where the problem
    was found, ``parameter`` the offending parameter as written. ``issue_code`` is ``invalid``
    or, for valid FHIR the library does not support, ``not-supported``.
    """

    http_status = 400

    def __init__(
        self,
        message: str,
        *,
        parameter: str | None = None,
        position: int | None = None,
        not_supported: bool = False,
    ) -> None:
        super().__init__(message, expression=parameter)
        self.parameter = parameter
        self.position = position
        self.issue_code = "not-supported" if not_supported else "invalid"

    def __str__(self) -> str:
        where = []
        if self.parameter:
            where.append(f"parameter {self.parameter!r}")
        if self.position is not None:
            where.append(f"position {self.position}")
        return f"{self.message} ({', '.join(where)})" if where else self.message


class UnsupportedInDialect(InvalidSearch):
    """The query is valid but this dialect cannot express one of its IR nodes."""

    def __init__(self, node: str, dialect: str) -> None:
        super().__init__(f"{node} is not supported by the {dialect} dialect", not_supported=True)
        self.node = node
        self.dialect = dialect


class InvalidViewDefinition(HeliosError):
    """A SQL-on-FHIR ViewDefinition that cannot be compiled: invalid structure, bad FHIRPath,
    an unsupported function (named), or a feature the chosen dialect cannot express.

    ``expression`` names the offending element's path in the ViewDefinition
    (``select[0].column[1].path``).
    """

    issue_code = "invalid"
    http_status = 400

    def __init__(
        self, message: str, *, expression: str | None = None, not_supported: bool = False
    ) -> None:
        super().__init__(message, expression=expression)
        if not_supported:
            self.issue_code = "not-supported"


class TerminologyError(InvalidSearch):
    """A ValueSet that cannot be expanded or a code system that is not stored (the message
    names it). ``issue_code``: ``not-found`` (unknown ValueSet or CodeSystem),
    ``not-supported`` (a filter the library does not evaluate) or ``processing`` (a cycle)."""

    def __init__(self, message: str, *, issue_code: str = "processing") -> None:
        super().__init__(message)
        self.issue_code = issue_code


class InvalidResource(HeliosError):
    """A resource that cannot be stored (missing resourceType, bad id, bad value types)."""

    issue_code = "invalid"
    http_status = 400


class InvalidInput(HeliosError):
    """Input the loader cannot read: a missing file, bad JSON (with file and line), a file
    that is neither a resource, NDJSON nor a Bundle."""

    issue_code = "invalid"
    http_status = 400


class InvalidStoreURL(HeliosError, ValueError):
    """A store URL that names no store, or a store that cannot be opened (with the resolved
    path and the URL convention)."""

    issue_code = "invalid"
    http_status = 400


class NotFound(HeliosError):
    """No such resource (or version) in this tenant."""

    issue_code = "not-found"
    http_status = 404


class Gone(HeliosError):
    """The resource existed and was deleted."""

    issue_code = "deleted"
    http_status = 410


class Conflict(HeliosError):
    """The write conflicts with the current state (e.g. id already in use)."""

    issue_code = "conflict"
    http_status = 409


class VersionConflict(Conflict):
    """``If-Match`` named a version that is not the current one."""

    http_status = 412


class TransientConflict(Conflict):
    """Concurrent transactions collided (deadlock, serialization failure); retrying the
    operation may succeed. Stores retry these themselves a few times before raising."""

    issue_code = "transient"


class Unavailable(HeliosError):
    """The database cannot be reached (server down, connection refused, pool exhausted)."""

    issue_code = "transient"
    http_status = 503


class SchemaMismatch(HeliosError, RuntimeError):
    """The database schema and this library's migrations do not fit: the database is newer
    than the library, a migration number is missing from the library's set, or a migration
    older than the database's version was never applied to it."""

    issue_code = "exception"
    http_status = 500


class QueryTimeout(HeliosError):
    """A statement ran longer than the store's statement timeout and was cancelled."""

    issue_code = "too-costly"
    http_status = 503


class PreconditionFailed(HeliosError):
    """A conditional operation matched more than one resource."""

    issue_code = "multiple-matches"
    http_status = 412


class PermissionDenied(HeliosError):
    """The tenant context does not allow this operation, type or compartment."""

    issue_code = "forbidden"
    http_status = 403


class MissingDependency(HeliosError, ImportError):
    """An optional feature needs a package that is not installed (names the extra to install)."""

    issue_code = "not-supported"
    http_status = 501


class OperationNotSupported(HeliosError):
    """The store does not offer this operation (a search secondary has no CRUD or history)."""

    issue_code = "not-supported"
    http_status = 501
