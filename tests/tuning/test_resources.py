"""How many trials fit at once: a small machine never waits on resources it cannot have."""

from __future__ import annotations

import dataclasses

import pytest

from tuning.tune_sweep import SweepError, SweepPlan, concurrency_for, trial_resources

PLAN = SweepPlan(
    name="s", sweep_dir=None, storage="/tmp", space=None, points=[], objectives=[("val/accuracy", "max")],
    scheduler="fifo", grace_period=1, reduction_factor=2, max_supervised_epochs=1, trials=8, concurrency=4,
    cpus=1.0, gpus=0.0, workers=1, seed=0, job=None, tracker=None,
)  # fmt: skip


class Job:
    """A job whose trials take the workers their sampled values say (`resources.workers`), else one."""

    def workers(self, params):
        return params.get("resources.workers", 1)


def bundles(job, cpus, gpus, config):
    return trial_resources(job, cpus, gpus, config).bundles


def test_one_worker_trials_fill_the_cpus_up_to_the_spec():
    assert concurrency_for(PLAN, {"CPU": 2}) == 2
    assert concurrency_for(PLAN, {"CPU": 16}) == 4
    assert bundles(Job(), 1.0, 0.0, {}) == [{"CPU": 1.0}]
    assert bundles(Job(), 2.0, 0.25, {}) == [{"CPU": 2.0, "GPU": 0.25}]


def test_a_trial_with_workers_holds_one_cpu_plus_its_workers():
    plan = dataclasses.replace(PLAN, workers=2)
    # Tune's share; Ray Train places the workers. Each trial's own sampled workers decide.
    assert bundles(Job(), 1.0, 0.25, {"resources.workers": 2}) == [{"CPU": 1}]
    assert bundles(Job(), 1.0, 0.25, {"resources.workers": 1}) == [{"CPU": 1.0, "GPU": 0.25}]
    assert concurrency_for(plan, {"CPU": 4}) == 1  # 1 + 2 fit once, not twice
    assert concurrency_for(plan, {"CPU": 6}) == 2
    with pytest.raises(SweepError, match="3 CPUs"):
        concurrency_for(plan, {"CPU": 2})


def test_fractional_gpus_pack_trials_on_one_gpu():
    plan = dataclasses.replace(PLAN, gpus=0.25, concurrency=16, cpus=2.0)
    assert concurrency_for(plan, {"CPU": 16, "GPU": 1}) == 4
    assert concurrency_for(plan, {"CPU": 4, "GPU": 1}) == 2  # CPUs bind first
    with pytest.raises(SweepError, match="0 GPUs"):
        concurrency_for(plan, {"CPU": 16})
