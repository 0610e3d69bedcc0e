"""The results table sent to MLflow; what MLflow misses while it does not answer is kept and sent later.

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

from tuning.naming import ended_tags
from tuning.redact import redact
from tuning.tracking import Tracker

RETRY_S, MAX_RETRY_S = 5.0, 60.0  # between attempts while MLflow does not answer, doubling
# Errors of a store that is down or busy, as opposed to one that refuses a request (a run deleted in the UI).
UNAVAILABLE = ("database is locked", "timed out", "timeout", "connection", "max retries", " 502", " 503", " 504")
# An ended row's status (study.results.table.STATUSES) -> the status MLflow gives its run.
RUN_STATUS = {"COMPLETE": "FINISHED", "STOPPED": "FINISHED", "FAILED": "FAILED", "PRUNED": "KILLED"}
# MLflow's client retries a refused request for about four minutes by default, inside a Tune callback that holds
# up the whole sweep; the table keeps everything, so the driver tries once more and moves on (a user's own
# setting wins).
FAIL_FAST = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1", "MLFLOW_HTTP_REQUEST_TIMEOUT": "10"}


class MlflowSync:
    """Brings MLflow's runs level with the results table. `describe(trial_id, params)` is the job's description
    of a trial (run name, params and tags)."""

    def __init__(self, tracker: Tracker, describe: Callable[[str, dict[str, Any]], dict[str, Any]]) -> None:
        self.tracker, self.describe = tracker, describe
        fail_fast()
        self.down_since: float | None = None
        self.sent = 0  # rows sent in full
        self._next_try, self._wait = 0.0, RETRY_S

    def send(self, table: Any, trial_ids: list[str] | None = None, *, now: bool = False,
             described: dict[str, Any] | None = None) -> bool:  # fmt: skip
        """Send what MLflow lacks of these rows (all by default; every row once MLflow answers again after an
        outage). False when MLflow does not answer: what is left waits for a later call, which tries again only
        after a back-off (5 s, doubling to 60 s) unless `now`. `described`: the job's description of the one
        trial asked for, when the caller has it (else it is made again where a run must be created)."""
        if self.down_since is not None:
            if not now and time.monotonic() < self._next_try:
                return False
            if not self._answers():
                self._back_off()
                return False
            print(f"sweep: MLflow answers again after {time.monotonic() - self.down_since:.0f} s; what it missed "
                  "is sent", flush=True)  # fmt: skip
            self.down_since, self._wait, trial_ids = None, RETRY_S, None
        for trial_id in list(table.rows) if trial_ids is None else trial_ids:
            if not lacking(table.rows[trial_id]):
                continue
            try:
                self._send_row(table, trial_id, described if trial_ids == [trial_id] else None)
                self.sent += 1
            except Exception as err:  # MLflow raises its own, requests' and SQLAlchemy's errors
                if not any(word in str(err).lower() for word in UNAVAILABLE) and self._answers():
                    # MLflow works but refuses this run: the row stays in the table, the others go on.
                    table.update(trial_id, mlflow_error=_first_line(err))
                    print(f"sweep: MLflow refused the run of trial {trial_id} ({_first_line(err)}); its metrics stay "
                          "in results.json", flush=True)  # fmt: skip
                    continue
                self.down_since = time.monotonic()
                self._back_off()
                print(f"sweep: MLflow at {redact(self.tracker.uri)} did not answer ({_first_line(err)}); the "
                      "results table keeps every metric and they are sent when it answers", flush=True)  # fmt: skip
                return False
        return True

    def _answers(self) -> bool:
        try:
            self.tracker.client.get_experiment(self.tracker.experiment_id)
            return True
        except Exception:  # whatever the store or the network raises: it does not answer
            return False

    def _back_off(self) -> None:
        self._next_try = time.monotonic() + self._wait
        self._wait = min(MAX_RETRY_S, 2 * self._wait)

    def waiting(self, table: Any) -> int:
        """Rows MLflow does not hold in full."""
        return sum(lacking(row) for row in table.rows.values())

    def _send_row(self, table: Any, trial_id: str, described: dict[str, Any] | None) -> None:
        row = table.rows[trial_id]
        if not row.get("mlflow_run_id"):
            described = described or self.describe(trial_id, row["params"])
            params = described.get("params", described["config"])  # the keys that apply to the trial's kind
            run_id = self.tracker.child(trial_id, described["run_name"], params, described["tags"])
            table.update(trial_id, mlflow_run_id=run_id)
        run_id = row["mlflow_run_id"]
        stamps = row.setdefault("epoch_ms", [])
        for index in range(row.get("mlflow_epochs", 0), len(row["history"])):
            metrics = row["history"][index]
            if index >= len(stamps):  # the driver died between recording the epoch and its time
                stamps.append(int(time.time() * 1000))
            numeric = {k: v for k, v in metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
            self.tracker.log_metrics(run_id, numeric, step=metrics["epoch"], timestamp_ms=stamps[index])
            table.update(trial_id, mlflow_epochs=index + 1)
        if row["status"] in RUN_STATUS and not row.get("mlflow_ended"):
            reason = row.get("reason")
            self.tracker.set_tags(run_id, ended_tags(row["status"], reason))
            if row["status"] != "PRUNED":
                files: dict[str, Any] = {"history.json": row["history"]}
                if row.get("metrics"):
                    files["metrics.json"] = row["metrics"]
                config = _read(row.get("config_path"))
                if config is not None:
                    files["config.yaml"] = config
                self.tracker.log_files(run_id, files)
            self.tracker.end(run_id, RUN_STATUS[row["status"]])
            table.update(trial_id, mlflow_ended=True)


def fail_fast() -> None:
    """MLflow's client in this process gives up on a store that does not answer within seconds (`FAIL_FAST`)."""
    for name, value in FAIL_FAST.items():
        os.environ.setdefault(name, value)


def lacking(row: dict[str, Any]) -> bool:
    """Whether MLflow misses part of this row. Rows of sweeps started before the table kept count were sent as
    they came (`mlflow_epochs` absent): they count as sent; so do rows MLflow refused (`mlflow_error`)."""
    if "mlflow_epochs" not in row or row.get("mlflow_error"):
        return False
    return (
        not row.get("mlflow_run_id")
        or row["mlflow_epochs"] < len(row["history"])
        or (row["status"] in RUN_STATUS and not row.get("mlflow_ended"))
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
    Returns the rows still waiting (kept in the table for the next `--resume`). Rows MLflow refused are tried
    once more."""
    if [row.pop("mlflow_error") for row in table.rows.values() if "mlflow_error" in row]:
        table.save()
    sync = MlflowSync(tracker, describe)
    for attempt in range(attempts):
        if sync.send(table, now=True):
            if sync.sent:
                print(f"sweep: sent MLflow what it lacked of {sync.sent} trial(s)", flush=True)
            return 0
        if attempt + 1 < attempts:
            time.sleep(RETRY_S)
    return sync.waiting(table)
