"""Failures that teach the sampler (`tuning.failure_feedback`): trials that ran out of memory or diverged reach
Optuna as PRUNED with constraint violations, which TPE learns from; it learns nothing from FAIL.

The measured effect, through the sweep's own searcher (`SweepSearch`, seeded TPE as the sweep builds it) on a
planted boundary: half the space runs out of memory, and the objective rises towards that half, so a sampler that
does not learn the boundary keeps crossing it. `python -m tests.tuning.test_failure_feedback` prints the table in
BENCHMARKS.md.
"""

from __future__ import annotations

import statistics
import sys
from types import SimpleNamespace

import optuna
import pytest

from tuning import failure_feedback as feedback
from tuning.tune_sweep import SweepSearch

METRIC, BUDGET_MB = "val/accuracy", 1000.0


def space(trial: optuna.Trial) -> None:
    trial.suggest_float("model.d_hidden", 0.0, 1.0)
    trial.suggest_float("train.lr", 0.0, 1.0)


def peak_mb(params: dict) -> float:
    return 500.0 + 1000.0 * params["model.d_hidden"]  # over the budget above d_hidden 0.5: half the space


def accuracy(params: dict) -> float:
    return 0.5 * params["model.d_hidden"] + 0.3 * (1 - abs(params["train.lr"] - 0.3))  # best just under the boundary


def searcher(teach: bool, seed: int) -> SweepSearch:
    sampler = optuna.samplers.TPESampler(seed=seed, multivariate=True, constant_liar=True)  # as tuning._searcher
    search = SweepSearch(space=space, metric=METRIC, mode="max", sampler=sampler, study_name="s",
                         storage=optuna.storages.InMemoryStorage())  # fmt: skip
    search.teach_failures, search.job = teach, SimpleNamespace(memory_budget_mb=BUDGET_MB)
    return search


def run(search: SweepSearch, trials: int) -> list[bool]:
    """Whether each suggestion was infeasible; an infeasible trial reports its peak, then fails as the sweep's do."""
    infeasible = []
    for i in range(trials):
        trial_id = f"t{i}"
        params = search.suggest(trial_id)
        peak = peak_mb(params)
        infeasible.append(peak > BUDGET_MB)
        search.on_trial_result(trial_id, {METRIC: accuracy(params), "training_iteration": 1, "peak_memory_mb": peak})
        if peak > BUDGET_MB:
            feedback.FAILURES[trial_id] = feedback.MEMORY  # what the scheduler notes from the trial's error
            search.on_trial_complete(trial_id, error=True)
        else:
            search.on_trial_complete(trial_id, {METRIC: accuracy(params)})
    return infeasible


def infeasible_fraction(teach: bool, seed: int, trials: int = 30, startup: int = 10) -> float:
    """The fraction of infeasible suggestions after TPE's random start-up trials."""
    return statistics.mean(run(searcher(teach, seed), trials)[startup:])


def test_an_over_budget_trial_is_pruned_with_how_far_it_went_over_and_a_crash_stays_fail():
    search = searcher(teach=True, seed=0)
    for trial_id in ("over", "crash", "nan"):
        search.suggest(trial_id)
    search.on_trial_result("over", {METRIC: 0.4, "training_iteration": 1, "peak_memory_mb": 1234.0})
    feedback.FAILURES["over"] = feedback.MEMORY
    search.on_trial_complete("over", error=True)
    search.on_trial_complete("crash", error=True)  # no noted reason: a lost node, a bug
    search.on_trial_complete("nan", {METRIC: float("nan")})
    trials = {t.number: t for t in search._ot_study.trials}
    assert (trials[0].state.name, trials[0].constraints) == ("PRUNED", {feedback.MEMORY: pytest.approx(234.0)})
    assert (trials[1].state.name, trials[1].constraints) == ("FAIL", {})
    assert (trials[2].state.name, trials[2].constraints) == ("PRUNED", {feedback.DIVERGED: 1.0})
    assert feedback.FAILURES == {}


def test_the_error_class_of_a_trial_says_which_constraint_it_violated(tmp_path):
    error = tmp_path / "error.txt"
    error.write_text("Traceback ...\nray.exceptions.RayTaskError(TrialOutOfMemory): ...\n"
                     "tuning.tune_sweep.TrialOutOfMemory: peak memory 1,234 MB over the budget 1,000 MB\n")  # fmt: skip
    assert feedback.failure_kind(str(error)) == feedback.MEMORY
    error.write_text("tuning.tune_sweep.TrialDiverged: training loss became nan in epoch 2\n")
    assert feedback.failure_kind(str(error)) == feedback.DIVERGED
    error.write_text("ray.exceptions.RayActorError: the actor died unexpectedly\n")
    assert feedback.failure_kind(str(error)) is None and feedback.failure_kind(None) is None
    scheduler = feedback.NotingFIFO()
    scheduler.on_trial_error(None, SimpleNamespace(trial_id="a", error_file=str(tmp_path / "missing.txt")))
    error.write_text("tuning.tune_sweep.TrialDiverged: training loss became nan in epoch 2\n")
    scheduler.on_trial_error(None, SimpleNamespace(trial_id="b", error_file=str(error)))
    assert feedback.FAILURES.pop("b") == feedback.DIVERGED and feedback.FAILURES == {}


def test_told_as_constraints_failures_steer_tpe_off_the_infeasible_half():
    seeds = range(6)
    taught = statistics.mean(infeasible_fraction(True, seed) for seed in seeds)
    untaught = statistics.mean(infeasible_fraction(False, seed) for seed in seeds)
    assert taught < untaught - 0.1, (taught, untaught)


if __name__ == "__main__":
    seeds = range(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
    print("| failures told to Optuna as | infeasible suggestions after the 10 start-up trials (mean ± sd over seeds) |")
    print("|---|---|")
    for teach, label in ((False, "FAIL (before)"), (True, "PRUNED + constraint violations")):
        values = [infeasible_fraction(teach, seed) for seed in seeds]
        print(f"| {label} | {statistics.mean(values):.2f} ± {statistics.stdev(values):.2f} ({len(values)} seeds) |")
