"""The same through Tune itself: a sweep whose driver dies mid-sweep and is restored with `Tuner.restore` stops
the trials an uninterrupted sweep stops, at the same rungs — Tune unpickles the scheduler the sweep started with,
re-adds every trial, and the rungs come back from the sweep directory (tests/tuning/test_asha_resume.py tries
every kill point on the scheduler alone)."""

from __future__ import annotations

import json
import random
import tempfile
from pathlib import Path

import pytest
from ray import tune
from ray.tune.error import TuneError

from tuning.resumable_asha import ASHA_STATE, ResumableASHA

# Trials import this module to unpickle `curve`: it imports nothing heavier than Ray Tune.
METRIC, TRIALS = "val/accuracy", 5
ASHA = {"metric": METRIC, "mode": "max", "max_t": 4, "grace_period": 1, "reduction_factor": 2}


def accuracy(trial: int, epoch: int) -> float:
    """A learning curve per trial: its own ceiling, rising with epochs, with noise (seeded: the same every run)."""
    noise = random.Random(trial * 1000 + epoch).gauss(0, 0.03)
    return (0.3 + 0.6 * random.Random(trial).random()) * (1 - 0.5**epoch) + noise


def curve(config: dict) -> None:
    """A stand-in trial: a fixed learning curve per trial, one checkpointed report per supervised epoch."""
    checkpoint = tune.get_checkpoint()
    done = json.loads((Path(checkpoint.to_directory()) / "epoch.json").read_text()) if checkpoint else 0
    for epoch in range(done + 1, ASHA["max_t"] + 1):
        with tempfile.TemporaryDirectory() as folder:
            (Path(folder) / "epoch.json").write_text(json.dumps(epoch))
            metrics = {"supervised_epoch": epoch, METRIC: accuracy(config["trial"], epoch)}
            with open(config["log"], "a") as log:
                log.write(f"{config['trial']} {epoch}\n")
            tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(folder))


class DriverDies(tune.Callback):
    """Ends the driver's run (an exception out of Tune's loop) after `after` results, once: the restored sweep
    gets this callback back from Tune's saved state, and `done` tells it the driver already died."""

    def __init__(self, after: int, done: Path) -> None:
        self.after, self.seen, self.done = after, 0, done

    def on_trial_result(self, iteration, trials, trial, result, **info) -> None:
        self.seen += 1
        if self.seen == self.after and not self.done.exists():
            self.done.touch()
            raise RuntimeError("the driver dies")


def _sweep(sweep_dir: Path, callbacks: list) -> tune.Tuner:
    sweep_dir.mkdir(exist_ok=True)
    scheduler = ResumableASHA(state_file=sweep_dir / ASHA_STATE, time_attr="supervised_epoch", **ASHA)
    return tune.Tuner(
        curve,
        param_space={"trial": tune.grid_search(list(range(TRIALS))), "log": str(sweep_dir / "reports.log")},
        tune_config=tune.TuneConfig(scheduler=scheduler, max_concurrent_trials=1, reuse_actors=True),
        run_config=tune.RunConfig(name="s", storage_path=str(sweep_dir / "ray"), callbacks=callbacks, verbose=0),
    )


def _outcome(results: tune.ResultGrid, sweep_dir: Path) -> tuple[dict[int, int], dict[float, dict[int, float]]]:
    """(trial -> the last supervised epoch it ran, rung milestone -> {trial: recorded value}), by trial number."""
    number = {r.metrics["trial_id"]: r.config["trial"] for r in results}
    state = json.loads((sweep_dir / ASHA_STATE).read_text())
    rungs = {rung["milestone"]: {number[t]: v for t, v in rung["records"].items()} for rung in state["rungs"]}
    return {r.config["trial"]: r.metrics["supervised_epoch"] for r in results}, rungs


@pytest.mark.slow
def test_a_sweep_restored_by_tune_after_its_driver_died_stops_the_trials_an_uninterrupted_one_stops(
    ray_cluster, tmp_path, monkeypatch
):
    monkeypatch.setenv("TUNE_GLOBAL_CHECKPOINT_S", "0")  # as the sweep runs it: state saved after every step
    uninterrupted = _sweep(tmp_path / "whole", []).fit()
    epochs, rungs = _outcome(uninterrupted, tmp_path / "whole")
    assert sorted(epochs.values()) != [ASHA["max_t"]] * TRIALS  # ASHA stopped some trials early

    resumed_dir = tmp_path / "resumed"
    with pytest.raises(TuneError, match="the driver dies"):
        _sweep(resumed_dir, [DriverDies(after=7, done=tmp_path / "died")]).fit()
    before = (resumed_dir / "reports.log").read_text().splitlines()
    assert len(before) >= 7 and json.loads((resumed_dir / ASHA_STATE).read_text())["stopped_at"]
    restored = tune.Tuner.restore(str(resumed_dir / "ray" / "s"), trainable=curve, resume_unfinished=True)
    assert _outcome(restored.fit(), resumed_dir) == (epochs, rungs)
    # It continued the sweep: the trials finished before the driver died did not run again.
    after = (resumed_dir / "reports.log").read_text().splitlines()[len(before) :]
    whole = (tmp_path / "whole" / "reports.log").read_text().splitlines()
    finished_first = {line.split()[0] for line in before[: ASHA["max_t"]]}  # trial 0, every epoch
    assert len(after) < len(whole) and not finished_first & {line.split()[0] for line in after}
