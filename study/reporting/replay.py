"""The replay bench's comparison: anytime curves of each searcher and scheduler over repeated replayed sweeps,
the area under them, and the compute each needs to come within 1 % of the grid's best (`python -m study.replay`).

A curve is the true objective of the recommendation (the configuration whose last report is best so far, as it
ends after the table's last epoch) against the compute spent (trial-seconds, summed over trials); before any
report it is the grid's worst. The area is its mean over [0, budget]: higher is better when maximising.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from study.reporting import plots

WITHIN = 0.01  # "reached the grid's best": within 1 % of it


def step_value(trace: Any, at: float, before: float) -> float:
    """The curve's value once `at` seconds were spent: the last event's at or before it."""
    index = int(np.searchsorted(trace.compute, at, side="right")) - 1
    return trace.true_best[index] if index >= 0 else before


def area(trace: Any, budget_s: float, before: float, points: int = 200) -> float:
    """The curve's mean over [0, budget_s] (a step function, sampled finely)."""
    return float(np.mean([step_value(trace, x, before) for x in np.linspace(0, budget_s, points)]))


def compute_to_reach(trace: Any, target: float, sign: float) -> float:
    """The compute at which the recommendation came within `WITHIN` of `target`; inf if it never did."""
    for spent, value in zip(trace.compute, trace.true_best):
        if sign * value >= sign * target - WITHIN * abs(target):
            return spent
    return math.inf


def comparison(
    traces: Mapping[str, Sequence[Any]], *, best: float, worst: float, sign: float, budget_s: float
) -> list[dict[str, Any]]:
    """Per method: area (mean, sd), compute to the grid's best (median, how many repeats reached it), final value."""
    rows = []
    for method, runs in traces.items():
        areas = [area(t, budget_s, worst) for t in runs]
        reached = sorted(c for t in runs if math.isfinite(c := compute_to_reach(t, best, sign)))
        rows.append({
            "method": method, "area": statistics.mean(areas), "area_sd": statistics.pstdev(areas),
            "reach_median": statistics.median(reached) if reached else math.inf, "reached": len(reached),
            "repeats": len(runs),
            "final": statistics.mean(t.true_best[-1] for t in runs), "trials": statistics.mean(t.trials for t in runs),
        })  # fmt: skip
    return rows


def table_lines(rows: list[dict[str, Any]], budget_s: float) -> list[str]:
    lines = [
        f"| method | area under the anytime curve (mean ± sd) | within 1 % of the grid's best: repeats that got there "
        f"in {budget_s:,.0f} s, their median compute | true objective at the end | trials started |",
        "|---|---|---|---|---|",
    ]
    for r in sorted(rows, key=lambda r: -r["area"]):
        reach = f"{r['reached']}/{r['repeats']}" + (f", {r['reach_median']:,.0f} s" if r["reached"] else "")
        area = f"{r['area']:.4f} ± {r['area_sd']:.4f}"
        lines.append(f"| {r['method']} | {area} | {reach} | {r['final']:.4f} | {r['trials']:.1f} |")
    return lines


def anytime_plot(
    path: Path, traces: Mapping[str, Sequence[Any]], *, worst: float, budget_s: float, metric: str
) -> Path:
    """Each method's mean curve over its repeats."""
    grid = np.linspace(0, budget_s, 41)
    series = {
        method: [(float(x), float(np.mean([step_value(t, x, worst) for t in runs]))) for x in grid]
        for method, runs in traces.items()
    }
    label = f"true {metric} of the recommendation"
    title = "Searchers replayed on the recorded grid"
    return plots.lines(path, series, xlabel="simulated compute (trial-seconds)", ylabel=label, title=title)


def compare(
    table_file: Path, methods: Sequence[str], *, repeats: int, budget_trials: float, concurrency: int,
    plot: Path | None = None,
) -> list[str]:  # fmt: skip
    """Replay each method `repeats` times (seeds 0..repeats-1) against the table: the lines to print."""
    from study.results.replay_table import ReplayTable
    from study.spec.parse import parse_study

    table = ReplayTable.load(table_file)  # before Ray or Optuna are imported: a bad table is refused at once
    study = parse_study(json.loads(table.meta["spec"]))

    import optuna

    from tuning.replay import replay
    from tuning.replay_methods import METHODS

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # a study per replayed sweep
    metric, mode = table.meta["metric"], table.meta["mode"]
    budget_s = budget_trials * table.full_trial_seconds()
    lookup = table.lookup(study.space.restrict)
    traces = {
        name: [replay(study.space, lookup, METHODS[name], metric=metric, mode=mode, epochs=table.epochs,
                      budget_s=budget_s, concurrency=concurrency, seed=seed) for seed in range(repeats)]
        for name in methods
    }  # fmt: skip
    worst = table.worst()
    rows = comparison(traces, best=table.best(), worst=worst, sign=table.sign, budget_s=budget_s)
    lines = [
        f"{len(table.curves)} configurations of {metric} ({mode}), best {table.best():.4f}; budget {budget_s:,.0f} "
        f"trial-seconds ({budget_trials:g} full trials), {concurrency} at once, {repeats} repeats",
        *table_lines(rows, budget_s),
    ]
    if plot is not None:
        lines.append(f"anytime curves: {anytime_plot(plot, traces, worst=worst, budget_s=budget_s, metric=metric)}")
    return lines
