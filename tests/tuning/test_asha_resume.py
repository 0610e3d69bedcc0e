"""ASHA's rungs survive a resumed sweep (`tuning.resumable_asha`; Ray's open ray-project/ray#30838).

A sweep is simulated as Tune drives its scheduler: trials report supervised epochs two at a time, in a fixed
order, until ASHA stops them or they reach max_t. A killed driver is a new scheduler unpickled from the one the
sweep started with (what `Tuner.restore` reads from tuner.pkl), every started trial added to it again, and the
trials Tune restores from a checkpoint one epoch older than their last report repeating that epoch. At every
possible kill point (and at several in one sweep) the resumed sweep must decide exactly what the uninterrupted one
decides; Ray's own ASHA, restored the same way, does not.
"""

from __future__ import annotations

import json
import pickle
import random
from pathlib import Path
from types import SimpleNamespace

import pytest
from ray.tune.schedulers import ASHAScheduler, TrialScheduler

from tuning.resumable_asha import ASHA_STATE, ResumableASHA, RungStateError, forget
from tuning.tune_sweep import SweepPlan, scheduler_for

METRIC, TRIALS, MAX_T, CONCURRENT = "val/accuracy", 12, 8, 2
SETTINGS = {"metric": METRIC, "mode": "max", "max_t": MAX_T, "grace_period": 1, "reduction_factor": 2}


def accuracy(trial: int, epoch: int) -> float:
    """A learning curve per trial: its own ceiling, rising with epochs, with noise (seeded: the same every run)."""
    noise = random.Random(trial * 1000 + epoch).gauss(0, 0.03)
    return (0.3 + 0.6 * random.Random(trial).random()) * (1 - 0.5**epoch) + noise


def simulate(make_scheduler, kills: frozenset[int] = frozenset()) -> dict[tuple[str, int], str]:
    """Every (trial, supervised epoch) -> ASHA's decision, with the driver killed after each step in `kills`. A
    decision taken again for a repeated epoch is kept under (trial, epoch, "again")."""
    started = make_scheduler()
    scheduler = pickle.loads(pickle.dumps(started))
    waiting = [f"t{i}" for i in range(TRIALS)]
    running: list[str] = []
    epoch: dict[str, int] = {}
    decisions: dict[tuple, str] = {}

    def report(trial: str) -> str:
        result = {"supervised_epoch": epoch[trial], METRIC: accuracy(int(trial[1:]), epoch[trial])}
        action = scheduler.on_trial_result(None, SimpleNamespace(trial_id=trial), result)
        if action == TrialScheduler.STOP or epoch[trial] == MAX_T:
            scheduler.on_trial_complete(None, SimpleNamespace(trial_id=trial), result)
        return action

    for step in range(10_000):
        while waiting and len(running) < CONCURRENT:
            running.append(waiting.pop(0))
            epoch[running[-1]] = 0
            scheduler.on_trial_add(None, SimpleNamespace(trial_id=running[-1]))
        if not running:
            return decisions
        trial = running[step % len(running)]
        epoch[trial] += 1
        decisions[(trial, epoch[trial])] = action = report(trial)
        if action == TrialScheduler.STOP or epoch[trial] == MAX_T:
            running.remove(trial)
        if step in kills:  # the driver dies; Tune restores the pickled scheduler and adds every trial it knows
            scheduler = pickle.loads(pickle.dumps(started))
            for known in epoch:
                scheduler.on_trial_add(None, SimpleNamespace(trial_id=known))
            # This step's checkpoint was not saved: the trial, restored from the one before, repeats the epoch.
            decisions[(trial, epoch[trial], "again")] = report(trial)
    raise AssertionError("the simulated sweep did not end")


def first_decisions(decisions: dict[tuple, str]) -> dict[tuple, str]:
    return {key: action for key, action in decisions.items() if len(key) == 2}


def repeated_the_same(decisions: dict[tuple, str]) -> bool:
    return all(action == decisions[key[:2]] for key, action in decisions.items() if len(key) == 3)


def stopped(decisions: dict[tuple[str, int], str]) -> dict[str, int]:
    return {t: e for (t, e), action in decisions.items() if action == TrialScheduler.STOP and e < MAX_T}


@pytest.fixture
def resumable(tmp_path: Path):
    forget(tmp_path)
    return lambda: ResumableASHA(state_file=tmp_path / ASHA_STATE, time_attr="supervised_epoch", **SETTINGS)


def test_a_resumed_sweep_stops_the_trials_an_uninterrupted_one_stops_at_every_kill_point(resumable, tmp_path):
    uninterrupted = simulate(resumable)
    assert 3 <= len(stopped(uninterrupted)) < TRIALS  # ASHA really stops trials here, at several rungs
    assert len(set(stopped(uninterrupted).values())) >= 2
    steps = len(uninterrupted)
    again_and_again = {3, 11, 12, 25, steps // 2, steps - 2}
    for kills in [{kill} for kill in range(steps)] + [again_and_again]:
        forget(tmp_path)
        resumed = simulate(resumable, frozenset(kills))
        assert first_decisions(resumed) == uninterrupted, f"killed after steps {sorted(kills)}"
        assert repeated_the_same(resumed), f"killed after steps {sorted(kills)}: a repeated epoch decided otherwise"


def test_rays_own_asha_restored_the_same_way_stops_other_trials():
    plain = lambda: ASHAScheduler(time_attr="supervised_epoch", **SETTINGS)  # noqa: E731
    uninterrupted = simulate(plain)
    resumed = [simulate(plain, frozenset({kill})) for kill in range(len(uninterrupted))]
    differing = [d for d in resumed if first_decisions(d) != uninterrupted or not repeated_the_same(d)]
    assert len(differing) > len(uninterrupted) // 2  # what the resumable scheduler fixes (ray-project/ray#30838)


def test_the_rungs_file_reads_trial_rung_value_and_is_replaced_whole(resumable, tmp_path):
    decisions = simulate(resumable)
    state = json.loads((tmp_path / ASHA_STATE).read_text())
    assert [rung["milestone"] for rung in state["rungs"]] == [8, 4, 2, 1]
    first = state["rungs"][-1]["records"]
    assert sorted(first) == sorted(f"t{i}" for i in range(TRIALS))  # every trial reached the grace period's rung
    assert first["t3"] == pytest.approx(accuracy(3, 1))
    assert state["stopped_at"] == {t: e for t, e in stopped(decisions).items()}
    assert [p.name for p in tmp_path.iterdir()] == [ASHA_STATE]  # no temporary file left behind


def test_rungs_recorded_under_other_settings_are_refused_naming_the_fix(resumable, tmp_path):
    simulate(resumable)
    other = ResumableASHA(state_file=tmp_path / ASHA_STATE, time_attr="supervised_epoch", **{**SETTINGS, "max_t": 4})
    with pytest.raises(RungStateError, match="resume with the scheduler settings the sweep started with"):
        other.on_trial_add(None, SimpleNamespace(trial_id="t0"))


def test_a_sweeps_asha_keeps_its_rungs_in_the_sweep_directory(tmp_path):
    plan = SweepPlan(
        name="s", sweep_dir=tmp_path, storage=str(tmp_path), space=None, points=[], objectives=[(METRIC, "max")],
        scheduler="asha", grace_period=1, reduction_factor=2, max_supervised_epochs=4, trials=4, concurrency=2,
        cpus=1.0, gpus=0.0, workers=1, seed=0, job=None, tracker=None,
    )  # fmt: skip
    scheduler = scheduler_for(plan)
    assert isinstance(scheduler, ResumableASHA) and scheduler.state_file == tmp_path / ASHA_STATE
