"""The cost model: what one part of a query costs on each engine, by its feature.

A cost is in milliseconds: ``cost[dialect][feature]`` for evaluating a part of that feature on
that engine at the benchmark's scale, plus, for a secondary, ``call[dialect]`` (one round trip)
and ``per_id[dialect]`` for every id it hands back (the merger bounds them; the estimate
assumes :data:`EXPECTED_IDS`). The router sends a part to a secondary only when that sum is
below the primary's cost for the same part.

:data:`DEFAULT` is calibrated from this repository's benchmark output (``bench/
bench_composite.py`` writes ``bench/results/composite.json`` with a ``costs`` section; see the
README's composite section for the run it came from). :meth:`CostModel.with_benchmarks` reads
such a file (or every ``*.json`` of a folder that has one) and returns a model with the
measured numbers in place of the defaults.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from helios_persistence.composite.analyzer import FEATURES

__all__ = ["DEFAULT", "EXPECTED_IDS", "CostModel"]

#: how many ids the estimate assumes a secondary returns for a part
EXPECTED_IDS = 200


@dataclass(frozen=True)
class CostModel:
    """Per-engine, per-feature costs (ms); see the module docstring."""

    cost: dict[str, dict[str, float]] = field(default_factory=dict)
    call: dict[str, float] = field(default_factory=dict)
    per_id: dict[str, float] = field(default_factory=dict)
    #: where the numbers came from (shown by ``explain``)
    source: str = "defaults"

    def part(self, dialect: str, feature: str) -> float:
        """The cost of evaluating one part of ``feature`` on ``dialect`` (inf: not known)."""
        return self.cost.get(dialect, {}).get(feature, math.inf)

    def secondary(self, dialect: str, feature: str) -> float:
        """A part on a secondary: the part, the round trip and moving the ids."""
        per_id = self.per_id.get(dialect, 0.0) * EXPECTED_IDS
        return self.part(dialect, feature) + self.call.get(dialect, 0.0) + per_id

    def with_benchmarks(self, path: str | Path) -> CostModel:
        """This model with the numbers a benchmark run measured (``path``: a results JSON, or
        a folder of them); engines and features the run did not measure keep theirs."""
        path = Path(path)
        files = sorted(path.glob("*.json")) if path.is_dir() else [path]
        cost = {d: dict(v) for d, v in self.cost.items()}
        call, per_id = dict(self.call), dict(self.per_id)
        used = []
        for file in files:
            data = json.loads(file.read_text())
            measured = data.get("costs") if isinstance(data, dict) else None
            if not isinstance(measured, dict):
                continue
            used.append(file.name)
            for dialect, features in measured.get("cost", {}).items():
                for feature, ms in features.items():
                    if feature in FEATURES and _finite(ms):
                        cost.setdefault(dialect, {})[feature] = float(ms)
            call.update({d: float(v) for d, v in measured.get("call", {}).items() if _finite(v)})
            per_id.update(
                {d: float(v) for d, v in measured.get("per_id", {}).items() if _finite(v)}
            )
        if not used:
            raise ValueError(f"no benchmark costs in {path} (a results JSON with 'costs')")
        return CostModel(cost, call, per_id, source=f"{path} ({', '.join(used)})")

    def to_dict(self) -> dict[str, Any]:
        return {"cost": self.cost, "call": self.call, "per_id": self.per_id, "source": self.source}


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value) and value >= 0


#: calibrated from ``bench/bench_composite.py`` (2026-12-05, 97,825 generated resources,
#: PostgreSQL 15 + Elasticsearch 8.19 on the shared 2-core test machine): PostgreSQL's
#: one-condition queries and Elasticsearch's ids for full text as measured; the merge (the
#: primary paging over 819 ids) as each secondary's call. Neo4j's from the same bench at
#: 6,414 resources (the shared test server's heap holds no more), scaled by its ratio to
#: PostgreSQL there (chain 2.1×, plain 14×); ``_has`` by ``bench_neo4j``'s nested ``_has`` at
#: 100,112 resources on graph model version 2 (2.75×; its 2-hop chain 2.1× agrees with the
#: chain figure, its 3-hop chain 0.90×). SQLite: PostgreSQL's figures
#: (this bench runs one primary). Missing features are ones an engine does not lower, or
#: whose ids passed ``max_ids`` (Elasticsearch's plain token): never routed. With these, no
#: part goes to a secondary: at this scale the primary's indexes answer every feature faster
#: than a secondary's ids plus the merge (see the README's composite section).
DEFAULT = CostModel(
    cost={
        "postgres": {"plain": 12.9, "chain": 57.9, "has": 24.5, "text": 27.2, "terminology": 27.2},
        "sqlite": {"plain": 12.9, "chain": 57.9, "has": 24.5, "text": 27.2, "terminology": 27.2},
        "cypher": {"plain": 180.0, "chain": 121.6, "has": 67.4},
        "elasticsearch": {"text": 149.1},
    },
    call={"cypher": 44.3, "elasticsearch": 44.3},
    per_id={"cypher": 0.0, "elasticsearch": 0.0},
    source="defaults (bench_composite, 97,825 resources)",
)


def route_all(secondaries: tuple[str, ...] = ("cypher", "elasticsearch")) -> CostModel:
    """A model that sends every part a secondary lowers to it (free secondaries, costly
    primaries): what the conformance suite runs composites with, so each secondary's
    answers are checked, not the primary's alone."""
    everything = dict.fromkeys(FEATURES, 0.0)
    cost = {name: dict.fromkeys(FEATURES, 1000.0) for name in ("sqlite", "postgres")}
    cost.update({name: dict(everything) for name in secondaries})
    return CostModel(cost, source="route-all (tests)")
