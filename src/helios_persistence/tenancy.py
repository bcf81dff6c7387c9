"""Tenants, permissions and the context every storage operation runs in.

* :class:`TenantId` is hierarchical (``acme/research/oncology``): ``/``-separated segments of
  letters, digits, ``-`` and ``_`` (1 to 64 characters each, at most 8 segments). The hierarchy
  is a naming scheme only: a tenant never sees its parent's or its children's data.
* :class:`Permissions` restricts the operations (:class:`Operation`), the resource types and,
  optionally, the Patient compartment a context may touch.
* :class:`TenantContext` pairs the two; every storage call takes one. Its :attr:`tenant_key`
  is the string stored in the ``tenant`` column (shared schema) or encoded into the file name
  (database per tenant, see :func:`tenant_file_name`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Flag, auto
from functools import cache
from importlib import resources

from helios_persistence.errors import PermissionDenied

__all__ = [
    "Operation",
    "Permissions",
    "TenantContext",
    "TenantId",
    "compartment_params",
    "tenant_file_name",
]

_SEGMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
MAX_DEPTH = 8


@dataclass(frozen=True, slots=True, order=True)
class TenantId:
    """A validated, hierarchical tenant identifier such as ``acme/research/oncology``."""

    value: str

    def __post_init__(self) -> None:
        if not isinstance(self.value, str):
            raise ValueError(f"tenant id must be a string, not {type(self.value).__name__}")
        segments = self.value.split("/")
        if len(segments) > MAX_DEPTH:
            raise ValueError(f"tenant id {self.value!r} has more than {MAX_DEPTH} segments")
        for segment in segments:
            if not _SEGMENT.fullmatch(segment):
                raise ValueError(
                    f"invalid tenant id {self.value!r}: segment {segment!r} must be 1-64 "
                    "letters, digits, '-' or '_' and start with a letter or digit"
                )

    @classmethod
    def parse(cls, value: str | TenantId) -> TenantId:
        return value if isinstance(value, TenantId) else cls(value)

    @property
    def segments(self) -> tuple[str, ...]:
        return tuple(self.value.split("/"))

    @property
    def parent(self) -> TenantId | None:
        """The enclosing tenant (``acme`` for ``acme/research``), or None at the top."""
        head, sep, _ = self.value.rpartition("/")
        return TenantId(head) if sep else None

    def child(self, segment: str) -> TenantId:
        return TenantId(f"{self.value}/{segment}")

    def is_descendant_of(self, other: TenantId) -> bool:
        """True for strict descendants (``acme/research`` of ``acme``)."""
        return self.value.startswith(other.value + "/")

    def __str__(self) -> str:
        return self.value


class Operation(Flag):
    """The FHIR interactions a context may perform."""

    READ = auto()
    VREAD = auto()
    SEARCH = auto()
    HISTORY = auto()
    CREATE = auto()
    UPDATE = auto()
    PATCH = auto()
    DELETE = auto()
    TRANSACTION = auto()
    EXPORT = auto()  # Bulk Data $export (reads every resource of the permitted types)

    @classmethod
    def all(cls) -> Operation:
        result = cls(0)
        for member in cls:
            result |= member
        return result

    @classmethod
    def read_only(cls) -> Operation:
        return cls.READ | cls.VREAD | cls.SEARCH | cls.HISTORY


@cache
def _patient_compartment() -> dict[str, tuple[str, ...]]:
    text = resources.files("helios_persistence.registry").joinpath(
        "data/compartmentdefinition-patient.json"
    )
    definition = json.loads(text.read_text(encoding="utf-8"))
    return {r["code"]: tuple(r.get("param") or ()) for r in definition["resource"]}


def compartment_params(compartment_type: str, resource_type: str) -> tuple[str, ...]:
    """The search parameters linking ``resource_type`` to a ``compartment_type`` compartment.

    Only the Patient compartment is known; an empty tuple means ``resource_type`` is never in
    the compartment (other than the compartment's own resource).
    """
    if compartment_type != "Patient":
        raise ValueError(f"only the Patient compartment is supported, not {compartment_type!r}")
    return _patient_compartment().get(resource_type, ())


@dataclass(frozen=True, slots=True)
class Permissions:
    """What a context may do.

    ``operations``: the allowed interactions; ``resource_types``: the allowed types (None for
    all); ``compartment``: ``("Patient", "123")`` limits every read and write to resources in
    that patient's compartment (the patient itself, or a resource whose compartment parameters
    reference it).
    """

    operations: Operation = field(default_factory=Operation.all)
    resource_types: frozenset[str] | None = None
    compartment: tuple[str, str] | None = None

    def __post_init__(self) -> None:
        if self.resource_types is not None and not isinstance(self.resource_types, frozenset):
            object.__setattr__(self, "resource_types", frozenset(self.resource_types))
        if self.compartment is not None:
            kind, ident = self.compartment
            compartment_params(kind, "Patient")  # validates the compartment type
            object.__setattr__(self, "compartment", (kind, ident))

    @classmethod
    def all(cls) -> Permissions:
        return cls()

    @classmethod
    def read_only(cls, resource_types: Iterable[str] | None = None) -> Permissions:
        return cls(
            Operation.read_only(),
            frozenset(resource_types) if resource_types is not None else None,
        )

    def allows(self, operation: Operation, resource_type: str | None = None) -> bool:
        if operation & self.operations != operation:
            return False
        return (
            resource_type is None
            or self.resource_types is None
            or resource_type in self.resource_types
        )

    def check(self, operation: Operation, resource_type: str | None = None) -> None:
        """Raise :class:`PermissionDenied` unless ``operation`` on ``resource_type`` is allowed."""
        if operation & self.operations != operation:
            raise PermissionDenied(f"operation {operation.name} is not permitted")
        if (
            resource_type is not None
            and self.resource_types is not None
            and resource_type not in self.resource_types
        ):
            raise PermissionDenied(f"resource type {resource_type} is not permitted")


@dataclass(frozen=True, slots=True)
class TenantContext:
    """The tenant an operation runs in and what it may do there."""

    tenant: TenantId
    permissions: Permissions = field(default_factory=Permissions)

    def __init__(self, tenant: TenantId | str, permissions: Permissions | None = None) -> None:
        object.__setattr__(self, "tenant", TenantId.parse(tenant))
        object.__setattr__(self, "permissions", permissions or Permissions())

    @classmethod
    def for_tenant(cls, tenant: TenantId | str) -> TenantContext:
        """A context with every permission inside ``tenant``."""
        return cls(tenant, Permissions.all())

    @property
    def tenant_key(self) -> str:
        """The string stored in the ``tenant`` column."""
        return self.tenant.value

    def with_permissions(self, permissions: Permissions) -> TenantContext:
        return TenantContext(self.tenant, permissions)

    def check(self, operation: Operation, resource_type: str | None = None) -> None:
        self.permissions.check(operation, resource_type)

    def __repr__(self) -> str:
        return f"TenantContext({self.tenant.value!r}, {self.permissions!r})"


_SAFE_FILE_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_")


def tenant_file_name(tenant: TenantId | str, suffix: str = ".db") -> str:
    """A file name for ``tenant`` that is safe and collision-free on every file system.

    Everything but lowercase letters, digits, ``-`` and ``_`` is percent-encoded (uppercase
    letters too, so case-insensitive file systems cannot merge ``Acme`` and ``acme``; ``/`` so
    the hierarchy never becomes directories).
    """
    key = TenantId.parse(tenant).value
    encoded = "".join(
        ch if ch in _SAFE_FILE_CHARS else "".join(f"%{b:02X}" for b in ch.encode("utf-8"))
        for ch in key
    )
    return encoded + suffix


def tenant_from_file_name(name: str, suffix: str = ".db") -> TenantId | None:
    """Invert :func:`tenant_file_name` (None for names it did not produce)."""
    from urllib.parse import unquote

    if not name.endswith(suffix):
        return None
    try:
        tenant = TenantId(unquote(name[: -len(suffix)]))
    except ValueError:
        return None
    return tenant if tenant_file_name(tenant, suffix) == name else None
