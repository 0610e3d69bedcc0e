"""The results table sent to MLflow, and kept until MLflow answers when it does not.

The results table is the sweep's record: every epoch lands there first. Each row notes how much of it MLflow
holds (`mlflow_epochs`, `mlflow_ended`), so a tracking server that restarts, or a SQLite store that is busy,
costs no metric and no trial: what it missed is sent when it answers again, by the running sweep or at the end.
Sending twice is harmless: runs are found by tags before one is created, and each epoch is sent with the
timestamp it was first recorded at, which MLflow's stores de-duplicate.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tuning.tracking import Tracker

RETRY_S = 5.0  # between attempts while MLflow does not answer
ENDED = {"COMPLETE": "FINISHED", "STOPPED": "FINISHED", "FAILED": "FAILED", "PRUNED": "KILLED"}  # row -> run status
# MLflow's client retries a refused request for about four minutes by default; the table keeps everything, so
# the driver tries once more and moves on (a user's own setting wins).
FAIL_FAST = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1", "MLFLOW_HTTP_REQUEST_TIMEOUT": "20"}


class MlflowSync:
    """Brings MLflow's runs level with the results table. `describe(trial_id, params)` is the job's description
    of a trial (run name, params and tags)."""

    def __init__(self, tracker: Tracker, describe: Callable[[str, dict[str, Any]], dict[str, Any]]) -> None:
        self.tracker, self.describe = tracker, describe
        for name, value in FAIL_FAST.items():
            os.environ.setdefault(name, value)
        self.down_since: float | None = None
        self._next_try = 0.0

    def send(self, table: Any, trial_ids: list[str] | None = None, *, now: bool = False) -> bool:
        """Send what MLflow lacks of these rows (all by default). False when MLflow did not answer: the rest
        waits for a later call, which before `RETRY_S` has passed (unless `now`) does not try again."""
        if self.down_since is not None and not now and time.monotonic() < self._next_try:
            return False
        for trial_id in list(table.rows) if trial_ids is None else trial_ids:
            if not lacking(table.rows[trial_id]):
                continue
            try:
                self._send_row(table, trial_id)
            except Exception as err:  # MLflow raises its own, requests' and SQLAlchemy's errors
                self._next_try = time.monotonic() + RETRY_S
                if self.down_since is None:
                    self.down_since = time.monotonic()
                    print(f"sweep: MLflow at {self.tracker.uri} did not answer ({_first_line(err)}); the results "
                          "table keeps every metric and they are sent when it answers", flush=True)  # fmt: skip
                return False
        if self.down_since is not None:
            print(f"sweep: MLflow answers again after {time.monotonic() - self.down_since:.0f} s; what it missed "
                  "is sent", flush=True)  # fmt: skip
            self.down_since = None
        return True

    def waiting(self, table: Any) -> int:
        """Rows MLflow does not hold in full."""
        return sum(lacking(row) for row in table.rows.values())

    def _send_row(self, table: Any, trial_id: str) -> None:
        row = table.rows[trial_id]
        if not row.get("mlflow_run_id"):
            described = self.describe(trial_id, row["params"])
            tags = {"auxlstm.command": described["command"], "auxlstm.config_path": described["config_path"],
                    **described.get("tags", {})}  # fmt: skip
            run_id = self.tracker.child(trial_id, f"{trial_id} {described['summary']}", described["config"], tags)
            table.update(trial_id, mlflow_run_id=run_id)
        run_id = row["mlflow_run_id"]
        for index in range(row.get("mlflow_epochs", 0), len(row["history"])):
            metrics = row["history"][index]
            numeric = {k: v for k, v in metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
            self.tracker.log_metrics(run_id, numeric, step=metrics["epoch"], timestamp_ms=row["epoch_ms"][index])
            table.update(trial_id, mlflow_epochs=index + 1)
        if row["status"] in ENDED and not row.get("mlflow_ended"):
            reason = row.get("reason")
            self.tracker.set_tags(run_id, {"auxlstm.status": row["status"], **({"auxlstm.reason": reason} if reason
                                                                               else {})})  # fmt: skip
            if row["status"] != "PRUNED":
                files: dict[str, Any] = {"history.json": row["history"]}
                if row.get("metrics"):
                    files["metrics.json"] = row["metrics"]
                config = _read(row.get("config_path"))
                if config is not None:
                    files["config.yaml"] = config
                self.tracker.log_files(run_id, files)
            self.tracker.end(run_id, ENDED[row["status"]])
            table.update(trial_id, mlflow_ended=True)


def lacking(row: dict[str, Any]) -> bool:
    """Whether MLflow misses part of this row. Rows of sweeps started before the table kept count were sent as
    they came (`mlflow_epochs` absent): they count as sent."""
    if "mlflow_epochs" not in row:
        return False
    return (
        not row.get("mlflow_run_id")
        or row["mlflow_epochs"] < len(row["history"])
        or (row["status"] in ENDED and not row.get("mlflow_ended"))
    )


def _read(path: str | None) -> str | None:
    try:
        return Path(path).read_text() if path else None
    except OSError:
        return None


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0][:200]}" if text else type(err).__name__


def send_kept(tracker: Tracker, describe: Callable[[str, dict[str, Any]], dict[str, Any]], table: Any,
              attempts: int = 6) -> int:  # fmt: skip
    """At the end of a sweep: send what MLflow missed, waiting up to `attempts` x RETRY_S for it to answer.
    Returns the rows still waiting (kept in the table for the next `--resume`)."""
    sync = MlflowSync(tracker, describe)
    for attempt in range(attempts):
        if sync.send(table, now=True):
            return 0
        if attempt + 1 < attempts:
            time.sleep(RETRY_S)
    return sync.waiting(table)
