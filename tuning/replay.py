"""Sweeps replayed against a tabular benchmark, in simulated time: searchers and schedulers compared without
training anything (the idea of Syne Tune's simulator).

The sweep's own searcher (`SweepSearch` with the sampler `tune_sweep.sampler_for` builds) and scheduler
(`ResumableASHA`, Tune's asynchronous Hyperband, or FIFO) are driven as Tune's controller drives them — suggest,
add, one result per epoch, the scheduler's decision, completion to both — by a discrete-event loop whose clock
advances by the seconds each epoch took when the table was recorded. `concurrency` trials run at once; new trials
start until the compute budget (trial-seconds summed over trials) is spent. Every suggestion is a configuration of
the table (the replay's space is the recorded grid's); the search's trials run with the sweep's seed 0.

What is recorded is the anytime curve of the recommendation: after every event, the trial a user would pick (the
best objective value it reported last) and the true objective of its configuration (the table's mean over seeds
after the last epoch), against the compute spent so far. The search's trials come back as results-table rows, so
that a seed phase after it (a race, a fixed top-k) can be replayed on the same rules as in a sweep.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, Protocol

import numpy as np
import optuna
from ray.tune.schedulers import AsyncHyperBandScheduler, TrialScheduler
from ray.tune.search import Searcher

from tuning.failure_feedback import NotesFailures, NotingFIFO
from tuning.replay_methods import Curve, Method
from tuning.resumable_asha import ResumableASHA


class World(Protocol):
    """The recorded table as a replayed sweep looks it up."""

    def curve(self, params: Mapping[str, Any], seed: int = 0) -> Curve: ...

    def truth(self, params: Mapping[str, Any]) -> float: ...


@dataclass
class Trace:
    """One replayed sweep: after each event, the compute spent (s) and the true objective of the recommendation;
    the search's trials as results-table rows."""

    compute: list[float]
    true_best: list[float]
    trials: int
    rows: list[dict[str, Any]] = field(default_factory=list)


class NotingHyperband(NotesFailures, AsyncHyperBandScheduler):
    """Tune's asynchronous Hyperband (ASHA over several brackets, each trial in one), noting failures."""


def scheduler_for(method: Method, *, metric: str, mode: str, epochs: int, reduction_factor: int) -> TrialScheduler:
    asha = {"time_attr": "supervised_epoch", "metric": metric, "mode": mode, "max_t": epochs,
            "grace_period": method.grace_period, "reduction_factor": reduction_factor}  # fmt: skip
    if method.scheduler == "asha":
        return ResumableASHA(state_file=None, **asha)
    if method.scheduler == "hyperband":
        return NotingHyperband(brackets=method.brackets, **asha)
    return NotingFIFO()


def replay(
    space: Any, world: World, method: Method, *, metric: str, mode: str, epochs: int, budget_s: float,
    concurrency: int, seed: int, reduction_factor: int = 2,
) -> Trace:  # fmt: skip
    """One sweep of `method` over `space`, its trials' epochs looked up in `world` instead of trained."""
    from tuning.tune_sweep import SweepSearch, sampler_for

    np.random.seed(seed)  # Tune's Hyperband draws each trial's bracket from numpy's global generator
    sampler = sampler_for(method.sampler, seed, method.startup)
    search = SweepSearch(space=space, metric=metric, mode=mode, sampler=sampler, study_name="replay",
                         storage=optuna.storages.InMemoryStorage())  # fmt: skip
    search.stopped_as_pruned, search.max_epochs = method.stopped_as_pruned, epochs
    scheduler = scheduler_for(method, metric=metric, mode=mode, epochs=epochs, reduction_factor=reduction_factor)
    loop = _EventLoop(search, scheduler, world, budget_s, concurrency)
    sign = 1.0 if mode == "max" else -1.0
    trace = Trace([], [], 0)
    while loop.fill() or loop.events:
        trial_id, epoch, value = loop.next_epoch()
        result = {metric: value, "supervised_epoch": epoch, "training_iteration": epoch}
        search.on_trial_result(trial_id, result)
        action = scheduler.on_trial_result(None, SimpleNamespace(trial_id=trial_id), result)
        if action == TrialScheduler.STOP or epoch == len(loop.curves[trial_id][0]):
            scheduler.on_trial_complete(None, SimpleNamespace(trial_id=trial_id), result)
            search.on_trial_complete(trial_id, result)
        else:
            loop.schedule(trial_id, epoch)
        pick = max(loop.reported, key=lambda t: sign * loop.reported[t])  # the recommendation: best last report
        trace.compute.append(loop.spent)
        trace.true_best.append(world.truth(loop.params[pick]))
    trace.trials = loop.started
    trace.rows = [
        trial_row(trial_id, loop.params[trial_id], 0, loop.curves[trial_id][0], loop.reached[trial_id], metric)
        for trial_id in loop.params
    ]
    return trace


def trial_row(trial_id: str, params: dict, seed: int, values: list[float], reached: int, metric: str) -> dict:
    """A replayed trial as the sweep's results table holds it (COMPLETE: every epoch run; STOPPED: by the
    scheduler after `reached`)."""
    return {
        "trial_id": trial_id, "params": params, "config": {"train.seed": seed},
        "status": "COMPLETE" if reached == len(values) else "STOPPED", "metrics": {metric: values[reached - 1]},
        "history": [{"supervised_epoch": e + 1, metric: v} for e, v in enumerate(values[:reached])],
    }  # fmt: skip


class _EventLoop:
    """Trials' epochs in simulated time: which ends next, the compute spent, and starting trials while it lasts."""

    def __init__(self, search: Any, scheduler: TrialScheduler, world: World, budget_s: float, concurrency: int):
        self.search, self.scheduler, self.world = search, scheduler, world
        self.budget_s, self.concurrency = budget_s, concurrency
        self.events: list[tuple[float, int, str]] = []  # (simulated time an epoch ends, tie-break, trial id)
        self.params: dict[str, dict[str, Any]] = {}
        self.curves: dict[str, Curve] = {}
        self.reached: dict[str, int] = {}
        self.reported: dict[str, float] = {}
        self.spent = self.clock = 0.0
        self.started = self.order = 0
        self.exhausted = False

    def fill(self) -> bool:
        """Start trials while the budget lasts and a slot is free; whether any epoch is waiting."""
        while not self.exhausted and self.spent < self.budget_s and len(self.events) < self.concurrency:
            trial_id = f"t{self.started}"
            params = self.search.suggest(trial_id)
            if params is None or params == Searcher.FINISHED:
                self.exhausted = True
                break
            self.started += 1
            self.params[trial_id], self.curves[trial_id] = params, self.world.curve(params)
            self.reached[trial_id] = 0
            self.scheduler.on_trial_add(None, SimpleNamespace(trial_id=trial_id))
            self.schedule(trial_id, 0)
        return bool(self.events)

    def schedule(self, trial_id: str, done: int) -> None:
        """The trial's next epoch, after the `done` it has run: its seconds count as spent from its start."""
        seconds = self.curves[trial_id][1][done]
        self.spent += seconds
        self.order += 1
        heapq.heappush(self.events, (self.clock + seconds, self.order, trial_id))

    def next_epoch(self) -> tuple[str, int, float]:
        """The epoch that ends next: (trial id, its number, the objective it reported)."""
        self.clock, _, trial_id = heapq.heappop(self.events)
        epoch = self.reached[trial_id] = self.reached[trial_id] + 1
        value = self.curves[trial_id][0][epoch - 1]
        self.reported[trial_id] = value
        return trial_id, epoch, value
