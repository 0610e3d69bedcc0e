"""A sweep's results table: one row per trial, kept in the sweep directory, read without Ray or MLflow.

Rows hold the trial's searched values, its resolved config, status, per-epoch history, final metrics, MLflow run
id, checkpoint location and the command that reproduces it. The sweep driver rewrites the file (atomically) as
trials start, report and end; `study.export`, `study.report` and the sweep summary read it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

RESULTS = "results.json"
# RUNNING: started; COMPLETE: every epoch trained; STOPPED: stopped early by the scheduler (ASHA);
# FAILED: raised, diverged or produced a non-finite objective; PRUNED: refused before it started (predicted over
# the memory budget), so never a Tune trial.
STATUSES = ("RUNNING", "COMPLETE", "STOPPED", "FAILED", "PRUNED")
ENDED = ("COMPLETE", "STOPPED", "FAILED")  # Tune trials that ran to an end


class ResultsTable:
    """The rows of one sweep, keyed by trial id, persisted to `sweep_dir/results.json` on every change."""

    def __init__(self, sweep_dir: Path) -> None:
        self.path = Path(sweep_dir) / RESULTS
        self.rows: dict[str, dict[str, Any]] = {}
        if self.path.exists():
            self.rows = {row["trial_id"]: row for row in json.loads(self.path.read_text())}

    def row(self, trial_id: str) -> dict[str, Any]:
        return self.rows.setdefault(trial_id, {"trial_id": trial_id, "status": "RUNNING", "history": []})

    def update(self, trial_id: str, **fields: Any) -> dict[str, Any]:
        row = self.row(trial_id)
        row.update(fields)
        self.save()
        return row

    def add_epoch(self, trial_id: str, metrics: Mapping[str, Any], stamp_ms: int | None = None) -> bool:
        """Record one epoch's metrics (and, given `stamp_ms`, when they arrived: `epoch_ms`); False (and nothing
        recorded) if that epoch is already in the history, as when a resumed trial repeats an epoch whose report
        outran the last saved sweep state."""
        row = self.row(trial_id)
        if row["history"] and metrics["epoch"] <= row["history"][-1]["epoch"]:
            return False
        row["history"].append(dict(metrics))
        row["metrics"] = dict(metrics)
        if stamp_ms is not None:
            row.setdefault("epoch_ms", []).append(stamp_ms)
        self.save()
        return True

    def save(self) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps(list(self.rows.values()), indent=1, default=str))
        os.replace(tmp, self.path)


def load_rows(sweep_dir: Path) -> list[dict[str, Any]]:
    path = Path(sweep_dir) / RESULTS
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist: not a sweep directory, or no trial has started yet")
    return json.loads(path.read_text())


def peak(row: Mapping[str, Any], metric: str) -> float | None:
    """The largest value of `metric` over the trial's epochs (a memory peak), None if no epoch has it."""
    values = [h[metric] for h in row.get("history") or [] if isinstance(h.get(metric), (int, float))]
    return max(values) if values else None

