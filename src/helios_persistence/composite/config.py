"""What a composite store is made of, in three equivalent forms, validated once.

* the builder: ``CompositeConfig.builder().primary(url).search(url).sync("async").build()``;
* a dict: ``{"primary": url, "graph": url, "search": {"url": url, "sync": "sync"},
  "sync": "hybrid", "max_ids": 5000, "health": {"interval": 5}}``;
* a URL: ``composite://?primary=<url>&graph=<url>&search=<url>&sync=async&max_ids=5000``
  (each store URL percent-encoded; health and sync settings by their names).

A target is a store URL or an open store object. The configurations the library knows to
work (the seed's): SQLite alone, SQLite + Elasticsearch, PostgreSQL + Neo4j, PostgreSQL + Neo4j
+ Elasticsearch (and PostgreSQL + Elasticsearch). A secondary given as a URL must be an
engine of its role (``engines.py``); one given as an object must declare, by its compiler's
``supports``, what its role needs (a search secondary full text, a graph secondary chains
and ``_has``) and keep itself in sync (``apply``/``versions``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Literal
from urllib.parse import parse_qsl, urlsplit

from helios_persistence import ir
from helios_persistence.composite.errors import InvalidComposite
from helios_persistence.engines import engine_for_scheme

__all__ = [
    "ROLES",
    "CompositeBuilder",
    "CompositeConfig",
    "HealthSettings",
    "SecondarySpec",
    "SyncSettings",
]

Role = Literal["graph", "search"]
Mode = Literal["sync", "async"]
#: the secondary roles, with the IR node kinds a secondary of the role must lower
ROLES: dict[str, tuple[type[ir.Node], ...]] = {
    "search": (ir.Text,),
    "graph": (ir.Chain, ir.Has),
}
#: sync modes: every secondary synchronous, every one asynchronous, or search synchronous
#: and graph asynchronous
SYNC_MODES = ("sync", "async", "hybrid")
#: the primary engines each secondary role may be paired with (the seed's configurations)
PAIRS: dict[str, tuple[str, ...]] = {"search": ("sqlite", "postgres"), "graph": ("postgres",)}
VALID = (
    "SQLite alone, SQLite + Elasticsearch, PostgreSQL + Neo4j, PostgreSQL + Elasticsearch, "
    "PostgreSQL + Neo4j + Elasticsearch"
)


@dataclass(frozen=True, slots=True)
class HealthSettings:
    """The health monitor: probe every ``interval`` s, a probe slower than ``timeout`` s fails;
    ``failure_threshold`` failures in a row make a secondary unhealthy (not routed to),
    ``success_threshold`` successes in a row healthy again."""

    interval: float = 10.0
    timeout: float = 2.0
    failure_threshold: int = 3
    success_threshold: int = 2

    def check(self) -> None:
        if not (self.interval > 0 and self.timeout > 0):
            raise InvalidComposite("health interval and timeout must be positive seconds")
        if self.failure_threshold < 1 or self.success_threshold < 1:
            raise InvalidComposite("health thresholds must be at least 1")


@dataclass(frozen=True, slots=True)
class SyncSettings:
    """The sync worker: ``batch`` outbox events per apply, ``poll`` s between rounds when idle,
    exponential backoff from ``backoff`` to ``backoff_max`` s after a failure, ``retries``
    immediate retries of a failed synchronous apply; ``trim``: forget outbox events every
    secondary has applied."""

    batch: int = 500
    poll: float = 0.5
    backoff: float = 0.2
    backoff_max: float = 30.0
    retries: int = 2
    trim: bool = False

    def check(self) -> None:
        if self.batch < 1 or self.retries < 0:
            raise InvalidComposite("sync batch must be at least 1 and retries at least 0")
        if not (self.poll > 0 and 0 < self.backoff <= self.backoff_max):
            raise InvalidComposite("sync poll and backoff must be positive, backoff <= max")


@dataclass(frozen=True, slots=True)
class SecondarySpec:
    """One secondary: its role, its store (URL or object) and its sync mode."""

    role: Role
    target: Any
    mode: Mode = "sync"


@dataclass(frozen=True, slots=True)
class CompositeConfig:
    """A validated composite: see the module docstring.

    ``max_ids``: the most ids a secondary may hand back for one part; past it the part runs on
    the primary (``on_bound="primary"``) or the search fails (``"error"``). ``on_failure``: what
    a failing secondary's part does (``"primary"``: run there; ``"error"``: fail the search).
    """

    primary: Any
    secondaries: tuple[SecondarySpec, ...] = ()
    sync: str = "sync"
    max_ids: int = 5_000
    on_bound: str = "primary"
    on_failure: str = "primary"
    health: HealthSettings = field(default_factory=HealthSettings)
    sync_settings: SyncSettings = field(default_factory=SyncSettings)

    def __post_init__(self) -> None:
        self.validate()

    # -- validation -----------------------------------------------------------------------------
    def validate(self) -> None:
        if self.primary is None or self.primary == "":
            raise InvalidComposite(f"a composite needs one primary store ({VALID})")
        primary = _engine_name(self.primary)
        if isinstance(self.primary, str) and primary not in ("sqlite", "postgres"):
            raise InvalidComposite(
                f"the primary must be SQLite or PostgreSQL, not {self.primary!r} ({VALID})"
            )
        if self.sync not in SYNC_MODES:
            raise InvalidComposite(f"sync must be one of {SYNC_MODES}, not {self.sync!r}")
        if self.on_bound not in ("primary", "error") or self.on_failure not in ("primary", "error"):
            raise InvalidComposite("on_bound and on_failure are 'primary' or 'error'")
        if isinstance(self.max_ids, bool) or not isinstance(self.max_ids, int) or self.max_ids < 1:
            raise InvalidComposite(f"max_ids must be a positive integer, not {self.max_ids!r}")
        self.health.check()
        self.sync_settings.check()
        seen: set[str] = set()
        for spec in self.secondaries:
            if spec.role not in ROLES:
                raise InvalidComposite(f"unknown secondary role {spec.role!r} (graph, search)")
            if spec.role in seen:
                raise InvalidComposite(f"two {spec.role} secondaries; a composite has one each")
            seen.add(spec.role)
            if spec.mode not in ("sync", "async"):
                raise InvalidComposite(f"{spec.role} sync must be 'sync' or 'async'")
            _check_secondary(spec, primary)

    # -- other forms ----------------------------------------------------------------------------
    @staticmethod
    def builder() -> CompositeBuilder:
        return CompositeBuilder()

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CompositeConfig:
        """The dict form (see the module docstring)."""
        if not isinstance(data, dict):
            raise InvalidComposite("a composite configuration is a dict")
        known = {"primary", "sync", "max_ids", "on_bound", "on_failure", "health", *ROLES}
        known |= {"sync_settings"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InvalidComposite(f"unknown composite option(s) {unknown}")
        b = CompositeBuilder().primary(data.get("primary")).sync(data.get("sync", "sync"))
        for role in ROLES:
            target = data.get(role)
            if isinstance(target, dict):
                b.secondary(role, target.get("url") or target.get("store"), target.get("sync"))
            elif target is not None:
                b.secondary(role, target)
        return b.options(
            max_ids=data.get("max_ids", 5_000),
            on_bound=data.get("on_bound", "primary"),
            on_failure=data.get("on_failure", "primary"),
            health=_settings(HealthSettings, data.get("health") or {}),
            sync_settings=_settings(SyncSettings, data.get("sync_settings") or {}),
        ).build()

    @classmethod
    def from_url(cls, url: str) -> CompositeConfig:
        """``composite://?primary=...&search=...&sync=...`` (see the module docstring)."""
        parts = urlsplit(url)
        if parts.scheme != "composite":
            raise InvalidComposite(f"a composite URL starts with composite://, not {url!r}")
        pairs = parse_qsl(parts.query, keep_blank_values=True)
        data: dict[str, Any] = {"health": {}, "sync_settings": {}}
        health = {f.name for f in fields(HealthSettings)}
        sync = {f.name for f in fields(SyncSettings)}
        for key, value in pairs:
            if key in ("primary", *ROLES) and key in data:
                what = "two primaries" if key == "primary" else f"two {key} secondaries"
                raise InvalidComposite(f"{what} in {url!r}; a composite has one each")
            if key in health:
                data["health"][key] = value
            elif key in sync:
                data["sync_settings"][key] = value
            elif key.endswith("_sync") and key[:-5] in ROLES:
                data.setdefault("modes", {})[key[:-5]] = value
            else:
                data[key] = value
        modes = data.pop("modes", {})
        for role, mode in modes.items():
            if role not in data:
                raise InvalidComposite(f"{role}_sync given without a {role} secondary")
            data[role] = {"url": data[role], "sync": mode}
        if "max_ids" in data:
            data["max_ids"] = _number(int, "max_ids", data["max_ids"])
        return cls.from_dict(data)

    def to_dict(self) -> dict[str, Any]:
        """The dict form (store objects are kept as they are)."""
        out: dict[str, Any] = {"primary": self.primary, "sync": self.sync}
        for spec in self.secondaries:
            out[spec.role] = {"url": spec.target, "sync": spec.mode}
        out.update(max_ids=self.max_ids, on_bound=self.on_bound, on_failure=self.on_failure)
        out["health"] = asdict(self.health)
        out["sync_settings"] = asdict(self.sync_settings)
        return out


class CompositeBuilder:
    """Builds a :class:`CompositeConfig` step by step; ``build()`` validates it."""

    def __init__(self) -> None:
        self._primary: Any = None
        self._primaries = 0
        self._secondaries: list[tuple[str, Any, str | None]] = []
        self._sync = "sync"
        self._options: dict[str, Any] = {}

    def primary(self, target: Any) -> CompositeBuilder:
        self._primaries += target is not None
        self._primary = target
        return self

    def secondary(self, role: str, target: Any, mode: str | None = None) -> CompositeBuilder:
        self._secondaries.append((role, target, mode))
        return self

    def graph(self, target: Any, mode: str | None = None) -> CompositeBuilder:
        return self.secondary("graph", target, mode)

    def search(self, target: Any, mode: str | None = None) -> CompositeBuilder:
        return self.secondary("search", target, mode)

    def sync(self, mode: str) -> CompositeBuilder:
        self._sync = mode
        return self

    def options(self, **options: Any) -> CompositeBuilder:
        self._options.update(options)
        return self

    def build(self) -> CompositeConfig:
        if self._primaries > 1:
            raise InvalidComposite(f"two primaries; a composite has one ({VALID})")
        if self._sync not in SYNC_MODES:
            raise InvalidComposite(f"sync must be one of {SYNC_MODES}, not {self._sync!r}")
        specs = []
        for role, target, mode in self._secondaries:
            if target is None or target == "":
                raise InvalidComposite(f"the {role} secondary names no store")
            default = "async" if self._sync == "async" else "sync"
            if self._sync == "hybrid":
                default = "sync" if role == "search" else "async"
            specs.append(SecondarySpec(role, target, mode or default))  # type: ignore[arg-type]
        return CompositeConfig(self._primary, tuple(specs), self._sync, **self._options)


def _engine_name(target: Any) -> str | None:
    """The engine of a store URL, or of a store object (its compiler's dialect)."""
    if isinstance(target, str):
        engine = engine_for_scheme(urlsplit(target).scheme)
        return None if engine is None else engine.name
    compiler = getattr(target, "compiler", None)
    return getattr(compiler, "dialect", None)


def _check_secondary(spec: SecondarySpec, primary: str | None) -> None:
    if isinstance(spec.target, str):
        engine = engine_for_scheme(urlsplit(spec.target).scheme)
        if engine is None:
            raise InvalidComposite(f"no engine opens the {spec.role} store URL {spec.target!r}")
        if engine.role != spec.role:
            raise InvalidComposite(
                f"{engine.title} cannot be the {spec.role} secondary: it is a "
                f"{engine.role} engine" + (" (a composite has one primary)"
                                           if engine.role == "primary" else "")
            )  # fmt: skip
        if primary is not None and primary not in PAIRS[spec.role]:
            raise InvalidComposite(
                f"a {engine.title} {spec.role} secondary needs a "
                f"{' or '.join(PAIRS[spec.role])} primary ({VALID})"
            )
        return
    compiler = getattr(spec.target, "compiler", None)
    missing = [
        n.__name__ for n in ROLES[spec.role] if compiler is None or not compiler.supports_node(n)
    ]
    if missing:
        raise InvalidComposite(
            f"the {spec.role} secondary cannot serve its role: its compiler does not lower "
            f"{', '.join(missing)}"
        )
    for method in ("apply", "versions", "search"):
        if not callable(getattr(spec.target, method, None)):
            raise InvalidComposite(f"the {spec.role} secondary has no {method}() (SecondaryStore)")


def _number(kind: type, name: str, value: Any) -> Any:
    if isinstance(value, kind) and not isinstance(value, bool):
        return value
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise InvalidComposite(f"{name} must be a number, not {value!r}") from None


def _settings(kind: type, values: dict[str, Any]) -> Any:
    names = {f.name: f for f in fields(kind)}
    unknown = sorted(set(values) - set(names))
    if unknown:
        raise InvalidComposite(f"unknown {kind.__name__} option(s) {unknown}")
    converted: dict[str, Any] = {}
    for name, value in values.items():
        default = getattr(kind(), name)
        if isinstance(default, bool):
            if isinstance(value, str):
                if value.lower() not in ("true", "false", "1", "0", "yes", "no"):
                    raise InvalidComposite(f"{name} must be true or false, not {value!r}")
                value = value.lower() in ("true", "1", "yes")
            converted[name] = bool(value)
        else:
            converted[name] = _number(type(default), name, value)
    return replace(kind(), **converted)
