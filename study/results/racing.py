"""Seed racing (`--race N`): configurations enter with the one seed the search gave them and earn more seeds only
while they may still be the best, instead of a fixed top-k re-run with N seeds each (SMAC3's intensification, with
the confidence bounds of `study.results.seeds`).

The race runs in rounds after the search. In each round:
- every searched configuration with a finished run is a group: its original trial and its seed re-runs;
- before any group has two seeds, only the best single value (the incumbent) gets a second seed;
- then the spread across seeds is pooled over the groups with two or more (seed noise barely depends on the
  configuration, and pooling gives the interval of a one-seed group too): a group's one-sided 95 % Student-t
  interval is its mean ± t(df) s / sqrt(n), df the pooled degrees of freedom;
- the incumbent is the group with the best pessimistic end among those with two or more seeds; a challenger
  stays in the race while its optimistic end reaches the incumbent's pessimistic end (the intervals overlap);
- the incumbent and every challenger still in the race get one more seed, up to N runs each (a failed re-run
  counts as one).
The race ends with the first round that has nothing to run. The ranking and export then use the same per-group
bound as `--seeds` (`seed_groups`).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from scipy import stats

from study.results.ranking import objective_value
from study.results.seeds import CONFIDENCE, origin_of
from study.results.table import ENDED
from study.spec.definition import SEED_OF, is_rerun


@dataclass
class Runner:
    """A configuration in the race: its original row, its finished values and the seeds it has used."""

    origin: Mapping[str, Any]
    values: list[float] = field(default_factory=list)
    used: set[int] = field(default_factory=set)  # train.seed of the original and of every ended or running re-run

    @property
    def mean(self) -> float:
        return statistics.mean(self.values)

    def next_point(self) -> dict[str, Any]:
        seed = max(self.used) + 1
        return {**self.origin["params"], "train.seed": seed, SEED_OF: self.origin["trial_id"]}


def runners(rows: Iterable[Mapping[str, Any]], metric: str) -> list[Runner]:
    """The searched configurations that finished, with their re-runs' values and seeds."""
    rows = list(rows)
    by_origin = {
        r["trial_id"]: Runner(r, [objective_value(r, metric)], {r["config"]["train.seed"]})
        for r in rows
        if not is_rerun(r) and r.get("status") == "COMPLETE" and objective_value(r, metric) is not None
    }
    for row in rows:
        runner = by_origin.get(origin_of(row)) if is_rerun(row) else None
        if runner is None or row.get("status") not in ENDED:
            continue
        runner.used.add(row["config"]["train.seed"])
        if row["status"] == "COMPLETE" and objective_value(row, metric) is not None:
            runner.values.append(objective_value(row, metric))
    return list(by_origin.values())


def race_points(rows: Iterable[Mapping[str, Any]], metric: str, mode: str, *, seeds: int) -> list[dict[str, Any]]:
    """The re-runs of the race's next round (empty: the race is over)."""
    field_ = runners(rows, metric)
    sign = 1.0 if mode == "max" else -1.0
    grows = [r for r in field_ if len(r.used) < seeds]
    several = [r for r in field_ if len(r.values) >= 2]
    if not field_:
        return []
    if not several:
        incumbent = max(field_, key=lambda r: sign * r.values[0])
        return [incumbent.next_point()] if incumbent in grows else []
    pooled_df = sum(len(r.values) - 1 for r in several)
    pooled_sd = math.sqrt(sum(statistics.variance(r.values) * (len(r.values) - 1) for r in several) / pooled_df)
    t = stats.t.ppf(CONFIDENCE, pooled_df)

    def margin(runner: Runner) -> float:
        return t * pooled_sd / math.sqrt(len(runner.values))

    incumbent = max(several, key=lambda r: sign * r.mean - margin(r))
    worst_case = sign * incumbent.mean - margin(incumbent)
    challengers = [r for r in field_ if r is not incumbent and r.values and sign * r.mean + margin(r) >= worst_case]
    racing = [r for r in challengers if r in grows]
    if racing and incumbent in grows:
        racing.insert(0, incumbent)
    return [r.next_point() for r in racing]


def race_cost(rows: Iterable[Mapping[str, Any]], *, seeds: int, top_k: int) -> dict[str, float]:
    """What the race ran (re-runs, their trial-epochs) against what `--seeds N --top-k K` would have: K (N - 1)
    re-runs of a whole trial's epochs (the mean over the searched trials that finished)."""
    rows = list(rows)
    reruns = [r for r in rows if is_rerun(r) and r.get("status") in ENDED]
    finished = [len(r["history"]) for r in rows if not is_rerun(r) and r.get("status") == "COMPLETE" and r["history"]]
    epochs = statistics.mean(finished) if finished else 0.0
    return {
        "reruns": len(reruns),
        "trial_epochs": float(sum(len(r.get("history") or []) for r in reruns)),
        "configurations": len({origin_of(r) for r in reruns}),
        "fixed_reruns": top_k * (seeds - 1),
        "fixed_trial_epochs": top_k * (seeds - 1) * epochs,
    }
