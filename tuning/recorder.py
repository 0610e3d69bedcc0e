"""The sweep driver's one Tune callback: results table, MLflow child runs, and a progress line.

It runs in the driver only, so a single process writes the results table and the tracking store. Tune pickles
callbacks with the sweep and does not restore their state, so everything here is re-read from the results table
and found again in MLflow by tags when a sweep resumes. Everything reaches the table first and MLflow from it
(`tuning.mlflow_sync`): a tracking store that does not answer for a while loses nothing. Each time a trial ends,
the parent run gets the steps of its curves it lacks (`tuning.parent_run`).
"""

from __future__ import annotations

import math
import re
import time
from pathlib import Path
from typing import Any

from ray import tune

from tuning.mlflow_sync import MlflowSync, fail_fast
from tuning.naming import DATA_CHECKSUM
from tuning.parent_run import ParentLog, sweep_series
from tuning.storage import Storage, uri_of
from tuning.tracking import Tracker
from tuning.tune_state import BACKUP, back_up

# What Tune adds to every result; the rest is the trainer's metrics.
TUNE_KEYS = {
    "timestamp", "checkpoint_dir_name", "done", "training_iteration", "trial_id", "date", "time_this_iter_s",
    "time_total_s", "pid", "hostname", "node_ip", "config", "time_since_restore", "iterations_since_restore",
    "experiment_tag", "should_checkpoint", "checkpoint_path",
}  # fmt: skip
PROGRESS_EVERY_S = 15.0
POINT = "point"  # a fixed point's config: {POINT: sampled values}, one grid value per trial


_ACTIVE: list[SweepRecorder] = []  # the driver's recorder, for the searcher's pruned suggestions


def active_recorder() -> SweepRecorder | None:
    return _ACTIVE[-1] if _ACTIVE else None


def trial_params(config: dict[str, Any]) -> dict[str, Any]:
    """A trial's sampled values: the searcher's flat dict, or the fixed point it was given."""
    return dict(config[POINT]) if POINT in config else dict(config)


class SweepRecorder(tune.Callback):
    _parent: ParentLog | None = None  # the parent run's curves (a class default: recorders pickled before it)

    def __init__(
        self, *, sweep_dir: Path, tracker: Tracker, job: Any, objectives: list[tuple[str, str]], trials: int,
        concurrency: int, replaces_pruned: bool = True, storage: Storage | None = None,
    ) -> None:  # fmt: skip
        self.sweep_dir, self.tracker, self.job = Path(sweep_dir), tracker, job
        self.storage = storage  # where trials' checkpoints are: their recorded locations keep its scheme
        self.replaces_pruned = replaces_pruned  # a pruned suggestion is followed by another (not in exact studies)
        self.objectives, self.trials, self.concurrency = list(objectives), trials, concurrency
        self._table: Any = None
        self._sync: MlflowSync | None = None
        self._last_print = 0.0
        self._reconciled = False

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_table": None, "_sync": None, "_last_print": 0.0, "_reconciled": False,
                "_parent": None}  # fmt: skip

    def locate(self, path: str) -> str:
        return path if self.storage is None else self.storage.locate(path)

    @property
    def table(self) -> Any:
        if self._table is None:
            self._table = self.job.results_table()
        return self._table

    @property
    def sync(self) -> MlflowSync:
        if self._sync is None:
            self._sync = MlflowSync(self.tracker, self.job.describe)
        return self._sync

    def setup(self, **info: Any) -> None:
        self._table = None  # re-read: a resumed sweep continues the table on disk
        self._reconciled = False
        fail_fast()  # before any MLflow call
        _ACTIVE[:] = [self]
        print(f"sweep: up to {self.trials} trials, {self.concurrency} at a time", flush=True)

    def on_step_end(self, iteration: int, trials: list, **info: Any) -> None:
        if trials:  # Tune saved its state in this step; keep a complete copy of it
            back_up(Path(trials[0].storage.experiment_driver_staging_path), self.sweep_dir / BACKUP)
        if self.sync.down_since is not None:
            self.sync.send(self.table)  # what MLflow missed, once it answers again

    def on_step_begin(self, iteration: int, trials: list, **info: Any) -> None:
        if self._reconciled:
            return
        self._reconciled = True
        # A trial started after the last saved sweep state is unknown to a resumed sweep, which runs its
        # suggestion again under a new id: drop its row and its MLflow run, so no trial appears twice.
        known = {t.trial_id for t in trials}
        for trial_id, row in list(self.table.rows.items()):
            if row["status"] == "RUNNING" and trial_id not in known:
                if row.get("mlflow_run_id"):
                    try:
                        self.tracker.delete(row["mlflow_run_id"])
                    except Exception as err:  # MLflow's or the network's; the run stays, marked RUNNING
                        print(f"sweep: could not delete MLflow run {row['mlflow_run_id']}: {err}", flush=True)
                del self.table.rows[trial_id]
                self.table.save()
                print(f"sweep: trial {trial_id} began after the last saved state; it runs again", flush=True)

    def on_trial_start(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        params = trial_params(trial.config)
        described = self.job.describe(trial.trial_id, params)
        row = self.table.row(trial.trial_id)
        sent = len(row["history"]) if "mlflow_epochs" not in row else row["mlflow_epochs"]  # older tables: all
        self.table.update(
            trial.trial_id, status="RUNNING", params=params, config=described["config"],
            config_path=described["config_path"], command=described["command"],
            started=row.get("started", time.time()), mlflow_epochs=sent, mlflow_ended=False,
            epoch_ms=row.get("epoch_ms", [0] * len(row["history"])), **_predictions(described),
        )  # fmt: skip
        self.sync.send(self.table, [trial.trial_id], described=described)

    def record_pruned(self, trial_id: str, params: dict[str, Any], reason: str) -> None:
        """A suggestion skipped before it started (predicted over the memory budget): a results row and an MLflow
        run that say why, and no process."""
        if trial_id in self.table.rows:
            return  # recorded before the driver was restarted
        described = self.job.describe(trial_id, params)
        self.table.update(
            trial_id, status="PRUNED", reason=reason, params=params, config=described["config"],
            command=described["command"], finished=time.time(), mlflow_epochs=0, epoch_ms=[],
            **_predictions(described),
        )  # fmt: skip
        self.sync.send(self.table, [trial_id], described=described)
        self._send_parent()
        print(f"trial {trial_id} pruned before it started: {reason}", flush=True)

    def on_trial_result(self, iteration: int, trials: list, trial: Any, result: dict, **info: Any) -> None:
        metrics = {k: v for k, v in result.items() if k not in TUNE_KEYS and not k.startswith("config/")}
        if "epoch" not in metrics:
            return
        checksum = metrics.pop(DATA_CHECKSUM, None)  # the data this trial read (a text, not a metric)
        if checksum is not None and self.table.row(trial.trial_id).get(DATA_CHECKSUM) != checksum:
            self.table.update(trial.trial_id, **{DATA_CHECKSUM: checksum})
        if self.table.add_epoch(trial.trial_id, metrics, stamp_ms=_now_ms()):
            self.sync.send(self.table, [trial.trial_id])
        if result.get("checkpoint_path"):  # a trial with workers: the Ray Train run's checkpoint
            self.table.update(trial.trial_id, checkpoint=self.locate(result["checkpoint_path"]))
        if time.monotonic() - self._last_print > PROGRESS_EVERY_S:
            self._print_progress()

    def on_checkpoint(self, iteration: int, trials: list, trial: Any, checkpoint: Any, **info: Any) -> None:
        self.table.update(trial.trial_id, checkpoint=uri_of(checkpoint.filesystem, checkpoint.path))

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        row = self.table.row(trial.trial_id)
        metrics = row.get("metrics") or {}
        bad = [m for m, _ in self.objectives if not finite(metrics.get(m))]
        if bad:
            status, reason = "FAILED", f"objective {bad[0]} is {metrics.get(bad[0])}"
        elif metrics.get("epoch") == metrics.get("epochs"):
            status, reason = "COMPLETE", None
        else:
            status, reason = "STOPPED", f"stopped early by the scheduler at epoch {metrics.get('epoch')}"
        self._finish(trial, status, reason)

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._finish(trial, "FAILED", _error_reason(trial))

    def _finish(self, trial: Any, status: str, reason: str | None) -> None:
        row = self.table.update(trial.trial_id, status=status, reason=reason, finished=time.time())
        self.sync.send(self.table, [trial.trial_id])
        self._send_parent()
        line = f"trial {trial.trial_id} " + (reason if status == "STOPPED" else status.lower())
        if status == "FAILED":
            line += f": {reason}"
        elif row.get("metrics"):
            line += " | " + ", ".join(
                f"{m} {row['metrics'][m]:.4g}" for m, _ in self.objectives if m in row["metrics"]
            )
        print(line, flush=True)
        self._print_progress()

    def _send_parent(self) -> None:
        """The parent run's curves, up to this trial's end (what a store that is down misses is sent later)."""
        if self.sync.down_since is not None:
            return
        try:
            if self._parent is None:
                self._parent = ParentLog(self.tracker)
            self._parent.send(sweep_series(self.table.rows.values(), self.objectives))
        except Exception as err:  # MLflow's or the network's: the curves are sent again at the next end
            self._parent = None
            print(f"sweep: the parent run's curves wait for MLflow ({type(err).__name__})", flush=True)

    def _print_progress(self) -> None:
        self._last_print = time.monotonic()
        rows = list(self.table.rows.values())
        count = {s: sum(r["status"] == s for r in rows) for s in ("COMPLETE", "STOPPED", "FAILED", "RUNNING", "PRUNED")}
        done = count["COMPLETE"] + count["STOPPED"] + count["FAILED"]
        pruned = f", {count['PRUNED']} pruned before they started" if count["PRUNED"] else ""
        line = (
            f"sweep: {done}/{self.trials} done ({count['STOPPED']} stopped early, {count['FAILED']} failed{pruned}), "
            f"{count['RUNNING']} running, "
            f"{max(0, self.trials - len(rows) + (count['PRUNED'] if self.replaces_pruned else 0))} pending"
        )
        metric, mode = self.objectives[0]
        scored = [
            r for r in rows if r["status"] in ("COMPLETE", "STOPPED") and finite((r.get("metrics") or {}).get(metric))
        ]
        if scored:
            pick = max if mode == "max" else min
            best = pick(scored, key=lambda r: r["metrics"][metric])
            line += f" | best {metric} {best['metrics'][metric]:.4f} (trial {best['trial_id']})"
        print(line, flush=True)


def _predictions(described: dict[str, Any]) -> dict[str, Any]:
    """What the job predicted of a trial before it ran (its memory), kept in its results row."""
    return {k: v for k, v in described.items() if k.startswith("predicted")}


def finite(value: Any) -> bool:
    """A real number that is neither NaN nor infinite (booleans are not metrics)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _now_ms() -> int:
    return int(time.time() * 1000)


def _error_reason(trial: Any) -> str:
    """The last line of the trial's error (the exception and its message), else a generic reason."""
    path = trial.error_file
    if path and Path(path).is_file():
        lines = [line.strip() for line in Path(path).read_text().splitlines() if line.strip()]
        if lines:
            return re.sub(r"^(\w+\.)+Trial\w+: ", "", lines[-1])[:500]  # the sweep's own errors: the message alone
    return "the trial raised an error (see its error.txt in the Tune experiment directory)"
