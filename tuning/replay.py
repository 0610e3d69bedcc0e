"""Sweeps replayed against a tabular benchmark, in simulated time: searchers and schedulers compared without
training anything (the idea of Syne Tune's simulator).

The sweep's own searcher (`SweepSearch` with the sampler `tune_sweep.sampler_for` builds) and scheduler
(`ResumableASHA`, or FIFO) are driven as Tune's controller drives them — suggest, add, one result per epoch, the
scheduler's decision, completion to both — by a discrete-event loop whose clock advances by the seconds each epoch
took when the table was recorded. `concurrency` trials run at once; new trials start until the compute budget
(trial-seconds summed over trials) is spent. Every suggestion is a configuration of the table (the replay's space
is the recorded grid's).

What is recorded is the anytime curve of the recommendation: after every event, the trial a user would pick (the
best objective value it reported last) and the true objective of its configuration (its value after the table's
last epoch), against the compute spent so far.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import optuna
from ray.tune.schedulers import TrialScheduler
from ray.tune.search import Searcher

from tuning.failure_feedback import NotingFIFO
from tuning.replay_methods import Method
from tuning.resumable_asha import ResumableASHA

# params -> (objective after each epoch, seconds of each epoch), as recorded
Lookup = Callable[[dict[str, Any]], tuple[list[float], list[float]]]


@dataclass
class Trace:
    """One replayed sweep: after each event, the compute spent (s) and the true objective of the recommendation."""

    compute: list[float]
    true_best: list[float]
    trials: int


def replay(
    space: Any, lookup: Lookup, method: Method, *, metric: str, mode: str, epochs: int, budget_s: float,
    concurrency: int, seed: int, reduction_factor: int = 2,
) -> Trace:  # fmt: skip
    """One sweep of `method` over `space`, its trials' epochs looked up instead of trained (`lookup`)."""
    from tuning.tune_sweep import SweepSearch, sampler_for

    sampler = sampler_for(method.sampler, seed, method.startup)
    search = SweepSearch(space=space, metric=metric, mode=mode, sampler=sampler, study_name="replay",
                         storage=optuna.storages.InMemoryStorage())  # fmt: skip
    search.stopped_as_pruned, search.max_epochs = method.stopped_as_pruned, epochs
    scheduler: TrialScheduler = NotingFIFO()
    if method.scheduler == "asha":
        scheduler = ResumableASHA(
            state_file=None, time_attr="supervised_epoch", metric=metric, mode=mode, max_t=epochs,
            grace_period=method.grace_period, reduction_factor=reduction_factor,
        )  # fmt: skip
    loop = _EventLoop(search, scheduler, lookup, budget_s, concurrency)
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
        trace.true_best.append(loop.curves[pick][0][-1])
    trace.trials = loop.started
    return trace


class _EventLoop:
    """Trials' epochs in simulated time: which ends next, the compute spent, and starting trials while it lasts."""

    def __init__(self, search: Any, scheduler: TrialScheduler, lookup: Lookup, budget_s: float, concurrency: int):
        self.search, self.scheduler, self.lookup = search, scheduler, lookup
        self.budget_s, self.concurrency = budget_s, concurrency
        self.events: list[tuple[float, int, str]] = []  # (simulated time an epoch ends, tie-break, trial id)
        self.curves: dict[str, tuple[list[float], list[float]]] = {}
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
            self.curves[trial_id], self.reached[trial_id] = self.lookup(params), 0
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
