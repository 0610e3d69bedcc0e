"""ASHA counts supervised epochs, not Tune's iterations: pretraining epochs must not reach a rung.

A trial with `aux.pretrain_epochs` reports one result per epoch, pretraining included, so its
`training_iteration` runs ahead of its `supervised_epoch` (0 while pretraining). Its validation accuracy while
pretraining says little about the supervised task; a scheduler keyed on iterations would compare (and stop)
trials on it, and would compare a pretraining trial's epoch 1 with another trial's supervised epoch 1.

The scheduler is driven directly, as Ray's own tests drive it: it reads only `trial.trial_id` and the results.
"""

from __future__ import annotations

from types import SimpleNamespace

from ray.tune.schedulers import TrialScheduler

from tuning.tune_sweep import SweepPlan, scheduler_for

METRIC = "val/accuracy"
PLAN = SweepPlan(
    name="s", sweep_dir=None, storage="/tmp", space=None, points=[], objectives=[(METRIC, "max")],
    scheduler="asha", grace_period=1, reduction_factor=2, max_supervised_epochs=4, trials=4, concurrency=2,
    cpus=1.0, gpus=0.0, workers=1, seed=0, job=None, tracker=None,
)  # fmt: skip


class Trials:
    """Trials added to one scheduler; `report` hands it a result as Tune would and returns its decision."""

    def __init__(self, *trial_ids: str) -> None:
        self.scheduler = scheduler_for(PLAN)
        self.iterations = dict.fromkeys(trial_ids, 0)
        for trial_id in trial_ids:
            self.scheduler.on_trial_add(None, SimpleNamespace(trial_id=trial_id))

    def report(self, trial_id: str, supervised_epoch: int, accuracy: float) -> str:
        self.iterations[trial_id] += 1  # Tune counts every report, pretraining epochs included
        result = {"training_iteration": self.iterations[trial_id], "supervised_epoch": supervised_epoch,
                  METRIC: accuracy}  # fmt: skip
        return self.scheduler.on_trial_result(None, SimpleNamespace(trial_id=trial_id), result)


def test_no_trial_is_stopped_while_pretraining_and_the_worse_one_is_stopped_at_the_first_supervised_rung():
    trials = Trials("weak", "strong")
    # Two pretraining epochs each; "weak" looks better while pretraining, so iteration rungs would stop "strong".
    pretraining = [trials.report(t, 0, acc) for _ in range(2) for t, acc in (("weak", 0.5), ("strong", 0.1))]
    assert pretraining == [TrialScheduler.CONTINUE] * 4
    # Supervised epoch 1 (training_iteration 3) is the grace period's rung: the first to reach it is kept...
    assert trials.report("strong", 1, 0.9) == TrialScheduler.CONTINUE
    # ...and the one below the rung's cutoff is stopped there.
    assert trials.report("weak", 1, 0.3) == TrialScheduler.STOP


def test_a_pretraining_trial_is_compared_on_its_supervised_epochs_with_a_trial_without_pretraining():
    trials = Trials("plain", "pretrained")
    assert trials.report("plain", 1, 0.6) == TrialScheduler.CONTINUE  # supervised epoch 1 at iteration 1
    # Iterations 1 and 2 of "pretrained" are pretraining: far below 0.6, but not yet comparable.
    assert trials.report("pretrained", 0, 0.1) == TrialScheduler.CONTINUE
    assert trials.report("pretrained", 0, 0.2) == TrialScheduler.CONTINUE
    # Its supervised epoch 1 (iteration 3) meets the rung "plain" set at its supervised epoch 1.
    assert trials.report("pretrained", 1, 0.4) == TrialScheduler.STOP
