"""A sweep's phases on Ray Tune: the search, then (with --seeds) the best configurations re-run with more seeds, or
(with --race) a race of seeds in rounds; and how much of each is left, read from the results table."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Any

from study.driver.job import TrialJob
from study.driver.setup import MemorySetup
from study.results.racing import race_points
from study.results.seeds import origin_of, seed_points
from study.results.sweep_dir import SweepInfo
from study.results.table import ENDED, RESULTS, load_rows
from study.spec.definition import SEED_OF, Study, is_rerun


def sweep_rows(sweep: SweepInfo) -> list[dict[str, Any]]:
    """The sweep's results rows so far (none before the first trial started)."""
    return load_rows(sweep.path) if (sweep.path / RESULTS).exists() else []


def plan_for(study: Study, sweep: SweepInfo, tracker: Any, memory: MemorySetup, concurrency: int | None) -> Any:
    """The search phase as the Tune glue runs it: the space, first points, objectives, budget and the job."""
    from tuning.storage import Storage
    from tuning.tune_sweep import SweepPlan

    data = sweep.data
    return SweepPlan(
        name=data["name"], sweep_dir=sweep.path, storage=data["storage"], space=study.space,
        points=[dict(p) for p in study.points], objectives=[(o.metric, o.mode) for o in study.objectives],
        scheduler=study.scheduler.kind, grace_period=study.scheduler.grace_period,
        reduction_factor=study.scheduler.reduction_factor, max_supervised_epochs=study.max_supervised_epochs,
        trials=study.trials, concurrency=min(study.concurrency, concurrency or study.concurrency),
        cpus=study.resources.cpus, gpus=study.resources.gpus, workers=study.max_workers, seed=study.seed,
        job=TrialJob(study=study, data_dir=data["data_dir"], sweep_dir=str(sweep.path), memory_model=memory.model,
                     memory_budget_mb=memory.budget_mb, data_checksums=data["data_checksum"],
                     data_store=Storage(data["data_store"], data.get("storage_endpoint"))
                     if data.get("data_store") else None),
        tracker=tracker, cpu_fallback=data["smoke"], exact_points=study.exact_points,
        storage_endpoint=data.get("storage_endpoint"), placement=study.resources.placement.upper(),
    )  # fmt: skip


def run_phases(plan: Any, study: Study, sweep: SweepInfo, *, address: str | None, resume: bool, quiet: bool) -> None:
    """The search (unless it is over), then the seed re-runs the sweep asked for that are not run yet."""
    from tuning.tune_sweep import run_sweep

    if searches_left(study, sweep, sweep_rows(sweep)) or not resume:
        run_sweep(plan, address=address, resume=resume, quiet=quiet)
    if searches_left(study, sweep, sweep_rows(sweep)):
        return
    if sweep.data.get("race"):
        run_race(plan, study, sweep, address=address, resume=resume, quiet=quiet)
        return
    seeds, rows = sweep.data.get("seeds"), sweep_rows(sweep)
    if not seeds:
        return
    objective = study.objectives[0]
    points = seed_points(rows, objective.metric, objective.mode, top_k=seeds["top_k"], seeds=seeds["seeds"])
    if not points:
        return
    print(f"sweep: the best {seeds['top_k']} configuration(s) again, to {seeds['seeds']} seeds each: "
          f"{len(points)} trial(s)", flush=True)  # fmt: skip
    run_reruns(plan, sweep, points, "seeds", len(rows), address=address, resume=resume, quiet=quiet)


def run_reruns(
    plan: Any, sweep: SweepInfo, points: list[dict[str, Any]], kind: str, earlier: int, *, address: str | None,
    resume: bool, quiet: bool,
) -> None:  # fmt: skip
    """Seed re-runs as one Tune experiment of exactly these points: --resume continues it; a later request (more
    seeds, or again after a re-run failed) runs only what is missing, in a new one."""
    from tuning.tune_sweep import run_sweep

    digest = hashlib.sha256(json.dumps(points, sort_keys=True).encode()).hexdigest()[:8]
    seeded = dataclasses.replace(
        plan, name=f"{sweep.data['name']}-{kind}-{digest}", points=points, trials=len(points), fixed=True,
        earlier_trials=earlier,
    )  # fmt: skip
    run_sweep(seeded, address=address, resume=resume, quiet=quiet)


def run_race(plan: Any, study: Study, sweep: SweepInfo, *, address: str | None, resume: bool, quiet: bool) -> None:
    """The race's rounds (`study.results.racing`) until one has nothing to run. A round's points are kept in
    sweep.json while it runs, so a resumed sweep finishes that round before it decides the next."""
    race, objective = sweep.data["race"], study.objectives[0]
    while True:
        rows = sweep_rows(sweep)
        continuing = bool(race.get("round"))
        points = race.get("round") or race_points(rows, objective.metric, objective.mode, seeds=race["seeds"])
        if not points:
            return
        race["round"] = points
        sweep.save()
        configs = len({p[SEED_OF] for p in points})
        print(f"sweep: race round {race.get('rounds', 0) + 1}: {len(points)} re-run(s) of {configs} configuration(s), "
              f"up to {race['seeds']} runs each", flush=True)  # fmt: skip
        run_reruns(plan, sweep, points, "race", len(rows), address=address, resume=resume and continuing,
                   quiet=quiet)  # fmt: skip
        if not_ended(sweep_rows(sweep), points):
            return  # stopped from outside (Ctrl-C): the round waits for --resume
        race["rounds"] = race.get("rounds", 0) + 1
        del race["round"]
        sweep.save()


def not_ended(rows: list[dict[str, Any]], points: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The points of a round whose re-run has not ended."""
    ended = {(origin_of(r), r["config"]["train.seed"]) for r in rows if is_rerun(r) and r.get("status") in ENDED}
    return [p for p in points if (p[SEED_OF], p["train.seed"]) not in ended]


def searches_left(study: Study, sweep: SweepInfo, rows: list[dict[str, Any]]) -> int:
    """The search's trials not yet run to an end."""
    from tuning.tune_sweep import SEARCH_ENDED

    if (sweep.path / SEARCH_ENDED).exists():
        return 0
    searched = [r for r in rows if not is_rerun(r)]
    # A study of exact points does not replace a point the memory budget refused.
    ended = ENDED + (("PRUNED",) if study.exact_points else ())
    return max(0, study.trials - sum(r["status"] in ended for r in searched))


@dataclasses.dataclass(frozen=True)
class Unfinished:
    """What a sweep was asked for and has not run to an end; false when nothing is left."""

    searches: int  # the search's trials not yet run to an end
    reruns: int  # the requested seed re-runs not yet run to an end (counted once the search is over)

    def __bool__(self) -> bool:
        return bool(self.searches or self.reruns)


def unfinished(study: Study, sweep: SweepInfo, rows: list[dict[str, Any]] | None = None) -> Unfinished:
    """What the sweep was asked for and has not run to an end (after Ctrl-C, say)."""
    rows = sweep_rows(sweep) if rows is None else rows
    left, seeds, race = searches_left(study, sweep, rows), sweep.data.get("seeds"), sweep.data.get("race")
    if left or not (seeds or race):
        return Unfinished(left, 0)
    if race:
        objective = study.objectives[0]
        pending = race.get("round") or race_points(rows, objective.metric, objective.mode, seeds=race["seeds"])
        return Unfinished(0, len(not_ended(rows, pending)))
    objective = study.objectives[0]
    reruns = seed_points(rows, objective.metric, objective.mode, top_k=seeds["top_k"], seeds=seeds["seeds"], done=ENDED)
    return Unfinished(0, len(reruns))
