"""Seed-robust selection: re-run a sweep's best configurations with more seeds, rank them by a confidence bound.

A re-run is a trial whose sampled point is the original's with another `train.seed` and `seed_of: ORIGINAL`.
A configuration's group is its original trial and its re-runs. Groups are ranked by a one-sided 95 % Student-t
bound on the objective's mean: the lower bound when maximising (mean - t * s / sqrt(n)), the upper bound when
minimising, so a configuration that scored well once but varies across seeds loses to a stable one.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from scipy import stats

from models.registry import reads
from study.results.ranking import objective_value, rank
from study.spec.definition import SEED_OF, WORKERS, is_rerun
from tuning.naming import config_group

CONFIDENCE = 0.95  # one-sided


@dataclass(frozen=True)
class SeedGroup:
    origin: dict[str, Any]  # the original trial's row
    values: tuple[float, ...]  # the objective of every COMPLETE run of the configuration
    trial_ids: tuple[str, ...]
    mode: str

    @property
    def seeds(self) -> int:
        return len(self.values)

    @property
    def mean(self) -> float:
        return sum(self.values) / len(self.values)

    @property
    def std(self) -> float | None:
        if self.seeds < 2:
            return None
        return statistics.stdev(self.values)

    @property
    def bound(self) -> float | None:
        """The pessimistic end of the one-sided interval: below the mean when maximising, above it when
        minimising; None for one run, whose spread is unknown."""
        if self.std is None:
            return None
        margin = stats.t.ppf(CONFIDENCE, self.seeds - 1) * self.std / math.sqrt(self.seeds)
        return self.mean - margin if self.mode == "max" else self.mean + margin


def applying(config: Mapping[str, Any]) -> dict[str, Any]:
    """The keys of a flat config that its model kind reads (no `aux.*` for a plain LSTM): what tells its runs apart."""
    return {k: v for k, v in config.items() if reads(config["model.kind"], k)}


def seed_free_group(config: Mapping[str, Any], workers: int = 1) -> str:
    """The configuration apart from its seed, as the MLflow tag `auxlstm.config_group` names it: equal for runs
    that differ only in `train.seed` (or in keys their kind does not read)."""
    return config_group({**applying(config), **({WORKERS: workers} if workers > 1 else {})})


def origin_of(row: Mapping[str, Any]) -> str:
    return (row.get("params") or {}).get(SEED_OF) or row["trial_id"]


def seed_groups(rows: Iterable[Mapping[str, Any]], metric: str, mode: str) -> list[SeedGroup]:
    """Configurations run with two or more seeds, best bound first."""
    rows = list(rows)
    by_id = {r["trial_id"]: r for r in rows}
    members: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows:
        if row.get("status") == "COMPLETE" and objective_value(row, metric) is not None:
            members.setdefault(origin_of(row), []).append(row)
    groups = [
        SeedGroup(dict(by_id[o]), tuple(objective_value(r, metric) for r in m), tuple(r["trial_id"] for r in m), mode)
        for o, m in members.items()
        if o in by_id and len(m) >= 2
    ]
    return sorted(groups, key=lambda g: g.bound, reverse=mode == "max")


def seed_points(
    rows: Iterable[Mapping[str, Any]], metric: str, mode: str, *, top_k: int, seeds: int,
    done: tuple[str, ...] = ("COMPLETE",),
) -> list[dict[str, Any]]:  # fmt: skip
    """The points that bring the top-k original trials to `seeds` seeds each (the original counts as one):
    their sampled values with `train.seed` = the original's + 1, + 2, …, minus re-runs already `done`."""
    rows = list(rows)
    finished = {
        (origin_of(r), r["config"]["train.seed"])
        for r in rows
        if is_rerun(r) and r.get("status") in done
    }
    originals = [r for r in rows if not is_rerun(r)]
    points = []
    for row in rank(originals, metric, mode)[:top_k]:
        first = row["config"]["train.seed"]
        for seed in range(first + 1, first + seeds):
            if (row["trial_id"], seed) not in finished:
                points.append({**row["params"], "train.seed": seed, SEED_OF: row["trial_id"]})
    return points
