"""The parent run's curves: best objective so far and trials by status at step = trials ended, sent to a real
SQLite store once per step, also by a resumed sweep (a new log, the same run)."""

from __future__ import annotations

from mlflow.tracking import MlflowClient

from tuning.parent_run import ParentLog, sweep_series
from tuning.tracking import Tracker

OBJECTIVES = [("val/accuracy", "max"), ("epoch_seconds", "min")]


def _row(status: str, finished: float, accuracy: float | None = None, seconds: float = 1.0) -> dict:
    metrics = {} if accuracy is None else {"val/accuracy": accuracy, "epoch_seconds": seconds}
    return {"trial_id": f"t{finished}", "status": status, "finished": finished, "metrics": metrics}


ROWS = [
    _row("COMPLETE", 30.0, 0.5, seconds=3.0),
    _row("FAILED", 10.0),
    _row("STOPPED", 20.0, 0.9, seconds=0.5),  # stopped early: its value is from fewer epochs, not a best
    _row("COMPLETE", 40.0, 0.4, seconds=2.0),
    _row("PRUNED", 50.0),
    {"trial_id": "r", "status": "RUNNING", "metrics": {"val/accuracy": 0.99}},  # not ended
]


def _points(series: dict, name: str) -> list[tuple[int, float]]:
    return [(step, value) for step, value, _ in series[name]]


def test_steps_count_trials_in_the_order_they_ended_and_best_so_far_follows_each_objectives_mode():
    series = sweep_series(ROWS, OBJECTIVES)
    assert _points(series, "trials/failed") == [(1, 1), (2, 1), (3, 1), (4, 1), (5, 1)]
    assert _points(series, "trials/stopped") == [(1, 0), (2, 1), (3, 1), (4, 1), (5, 1)]
    assert _points(series, "trials/complete") == [(1, 0), (2, 0), (3, 1), (4, 2), (5, 2)]
    assert _points(series, "trials/pruned") == [(1, 0), (2, 0), (3, 0), (4, 0), (5, 1)]
    assert _points(series, "best/val/accuracy") == [(3, 0.5), (4, 0.5), (5, 0.5)]  # none before a COMPLETE trial
    assert _points(series, "best/epoch_seconds") == [(3, 3.0), (4, 2.0), (5, 2.0)]  # min
    assert [stamp for _, _, stamp in series["trials/failed"]] == [10_000, 20_000, 30_000, 40_000, 50_000]


def test_a_resumed_sweep_sends_only_the_steps_the_parent_lacks(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    tracker = Tracker(uri, "exp", "sweep-1")
    run_id = tracker.parent("sweep", {}, {})
    first = ParentLog(tracker)
    assert first.send(sweep_series(ROWS[:3], OBJECTIVES)) == 4 * 3 + 2  # counts at 3 steps, both bests at step 3
    assert first.send(sweep_series(ROWS[:3], OBJECTIVES)) == 0
    resumed = ParentLog(Tracker(uri, "exp", "sweep-1"))  # a new driver: asks MLflow what the run holds
    assert resumed.send(sweep_series(ROWS, OBJECTIVES)) == 4 * 2 + 2 * 2  # steps 4 and 5
    history = MlflowClient(uri).get_metric_history(run_id, "best/val/accuracy")
    assert [(m.step, m.value) for m in history] == [(3, 0.5), (4, 0.5), (5, 0.5)]
    steps = [m.step for m in MlflowClient(uri).get_metric_history(run_id, "trials/complete")]
    assert sorted(steps) == [1, 2, 3, 4, 5]


def test_without_a_parent_run_nothing_is_sent(tmp_path):
    tracker = Tracker(f"sqlite:///{tmp_path / 'mlflow.db'}", "exp", "no-parent")
    assert ParentLog(tracker).send(sweep_series(ROWS, OBJECTIVES)) == 0
