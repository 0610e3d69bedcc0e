"""The replay bench's comparison: anytime curves of each searcher and scheduler over repeated replayed sweeps,
the area under them, and the compute each needs to come within 1 % of the grid's best (`python -m study.replay`).

A curve is the true objective of the recommendation (the configuration whose last report is best so far, or after
a seed phase the best confidence bound; its mean over the table's seeds after the last epoch) against the compute
spent (trial-seconds, summed over trials); before any report it is the grid's worst. The area is its mean over
[0, budget]: higher is better when maximising.
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
from study.spec.definition import is_rerun

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
            "reruns": statistics.mean(sum(map(is_rerun, t.rows)) for t in runs),
        })  # fmt: skip
    return rows


def table_lines(rows: list[dict[str, Any]], budget_s: float) -> list[str]:
    lines = [
        f"| method | area under the anytime curve (mean ± sd) | within 1 % of the grid's best: repeats that got there "
        f"in {budget_s:,.0f} s, their median compute | true objective at the end | trials started (+ seed re-runs) |",
        "|---|---|---|---|---|",
    ]
    for r in sorted(rows, key=lambda r: -r["area"]):
        reach = f"{r['reached']}/{r['repeats']}" + (f", {r['reach_median']:,.0f} s" if r["reached"] else "")
        area = f"{r['area']:.4f} ± {r['area_sd']:.4f}"
        trials = f"{r['trials']:.1f}" + (f" + {r['reruns']:.1f}" if r["reruns"] else "")
        lines.append(f"| {r['method']} | {area} | {reach} | {r['final']:.4f} | {trials} |")
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


def refuse_seed_phase(name: str, method: Any, budget_trials: float, seeds: int) -> None:
    if method.seed_phase and method.seeds > seeds:
        raise ValueError(f"{name}: needs {method.seeds} seeds of each configuration, the table has {seeds}")
    if method.reserve_trials >= budget_trials:
        raise ValueError(f"{name}: its seed phase takes {method.reserve_trials} full trials of the budget: "
                         f"--budget-trials must be more")  # fmt: skip


def replayed(table: Any, study: Any, method: Any, *, budget_s: float, concurrency: int, seed: int) -> Any:
    """One replayed sweep: the search, then its seed phase on what the search left of the budget; the repeat's
    seed also picks which of the table's seeds the search sees."""
    from study.results.replay_seeds import with_seed_phase
    from tuning.replay import replay

    world = table.world(study.space.restrict, repeat=seed)
    metric, mode = table.meta["metric"], table.meta["mode"]
    reserve_s = method.reserve_trials * table.full_trial_seconds()
    trace = replay(study.space, world, method, metric=metric, mode=mode, epochs=table.epochs,
                   budget_s=budget_s - reserve_s, concurrency=concurrency, seed=seed)  # fmt: skip
    if not method.seed_phase:
        return trace
    return with_seed_phase(trace, world, method, metric=metric, mode=mode, reserve_s=reserve_s)


def compare(
    table_file: Path, methods: Sequence[str] | None, *, repeats: int, budget_trials: float, concurrency: int,
    plot: Path | None = None,
) -> list[str]:  # fmt: skip
    """Replay each method `repeats` times (seeds 0..repeats-1) against the table: the lines to print."""
    from study.results.replay_table import ReplayTable
    from study.spec.parse import parse_study
    from tuning.replay_methods import METHODS

    # Before Ray or Optuna are imported: a bad table or a method it cannot replay is refused at once.
    table = ReplayTable.load(table_file)
    study = parse_study(json.loads(table.meta["spec"]))
    if methods is None:  # every method the table can replay
        methods = [m for m in METHODS if METHODS[m].seeds <= len(table.seeds) or not METHODS[m].seed_phase]
    for name in methods:
        refuse_seed_phase(name, METHODS[name], budget_trials, len(table.seeds))

    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # a study per replayed sweep
    metric, mode = table.meta["metric"], table.meta["mode"]
    budget_s = budget_trials * table.full_trial_seconds()
    traces = {
        name: [replayed(table, study, METHODS[name], budget_s=budget_s, concurrency=concurrency, seed=seed)
               for seed in range(repeats)]
        for name in methods
    }  # fmt: skip
    worst = table.worst()
    rows = comparison(traces, best=table.best(), worst=worst, sign=table.sign, budget_s=budget_s)
    lines = [
        f"{len(table.runs)} configurations × {len(table.seeds)} seed(s) of {metric} ({mode}), best {table.best():.4f} "
        f"(mean over seeds); budget {budget_s:,.0f} "
        f"trial-seconds ({budget_trials:g} full trials), {concurrency} at once, {repeats} repeats",
        *table_lines(rows, budget_s),
    ]
    if plot is not None:
        lines.append(f"anytime curves: {anytime_plot(plot, traces, worst=worst, budget_s=budget_s, metric=metric)}")
    return lines
