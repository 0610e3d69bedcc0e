"""The seed phase of a replayed sweep (`python -m study.replay`): after the search, the race (`--race N`,
`study.results.racing`) or the fixed re-runs of the top k (`--seeds N --top-k K`, `study.results.seeds`), each
re-run looked up under another seed of the replay table instead of trained.

The phase runs in rounds, as in a sweep, on the compute the search left it (`reserve_s`, the cost of the fixed
top-k re-runs): a re-run starts only while the phase has spent less (as the search's trials start only while its
budget lasts), so a round that the reserve cuts short ends the phase. After each re-run the recommendation is what
the sweep would export: the configuration with the best confidence bound among those with two or more seeds (none
yet: the search's recommendation stands).
"""

from __future__ import annotations

from typing import Any

from study.results.racing import race_points
from study.results.seeds import seed_groups, seed_points
from study.spec.definition import SEED_OF


def phase_points(rows: list[dict[str, Any]], method: Any, metric: str, mode: str, round_: int) -> list[dict]:
    """The re-runs of the phase's next round (empty: it is over)."""
    if method.seed_phase == "race":
        return race_points(rows, metric, mode, seeds=method.seeds)
    if method.seed_phase == "top-k":
        return seed_points(rows, metric, mode, top_k=method.top_k, seeds=method.seeds) if round_ == 0 else []
    raise ValueError(f"seed phase {method.seed_phase!r}: expected race or top-k")


def with_seed_phase(trace: Any, world: Any, method: Any, *, metric: str, mode: str, reserve_s: float) -> Any:
    """The trace of a replayed search (`tuning.replay.Trace`) continued by its method's seed phase."""
    from tuning.replay import trial_row

    rows = list(trace.rows)
    compute, true_best = list(trace.compute), list(trace.true_best)
    spent, round_ = compute[-1], 0
    budget_s = spent + reserve_s
    while spent < budget_s and (points := phase_points(rows, method, metric, mode, round_)):
        for point in points:
            if spent >= budget_s:
                break
            values, seconds = world.curve(point, point["train.seed"])
            spent += sum(seconds)
            seed = point["train.seed"]
            rows.append(trial_row(f"{point[SEED_OF]}-seed{seed}", point, seed, values, len(values), metric))
            groups = seed_groups(rows, metric, mode)
            compute.append(spent)
            true_best.append(world.truth(groups[0].origin["params"]) if groups else true_best[-1])
        round_ += 1
    return type(trace)(compute, true_best, trace.trials, rows)
