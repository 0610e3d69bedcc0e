"""What the sweep's MLflow parent run gets when the sweep ends: its report, its last curve points and time, and
its files.

- Metrics (`tuning.naming`): the curves of `tuning.parent_run` (best objective so far, trials by status) and, at
  the last step, `sweep/wall_seconds` (the driver's time over every session of a resumed sweep),
  `sweep/trial_seconds` (the trials' training time, summed) and `sweep/mean_trial_seconds`.
- Tags: where the sweep compared an auxiliary kind with the plain truncated LSTM over seeds, the claim's verdict
  (`auxlstm.claim`, and under the study's description in the run's note).
- Artifacts: `spec.yaml` (the study as it ran), `results.json`, `export/summary.md`, `export/summary.json`,
  `export/configs/NN_TRIAL.yaml` and `report/report.md` with its figures, every text masked (`tuning.redact`).

Neither the report nor MLflow can fail the sweep: the trials ran, and their results are on disk; a warning says
what is missing and how to get it.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import yaml

from study.reporting.claim import Claim, judge
from study.reporting.trials import load_trials
from study.reporting.writer import REPORT, REPORT_TOP_K, write_report
from study.results.sweep_dir import SweepInfo
from study.results.table import RESULTS
from tuning.naming import (
    EXPORT_ARTIFACTS,
    EXPORT_CONFIGS,
    MEAN_TRIAL_SECONDS_METRIC,
    REPORT_ARTIFACTS,
    RESULTS_ARTIFACT,
    SPEC_ARTIFACT,
    TRIAL_SECONDS_METRIC,
    WALL_METRIC,
    claim_tags,
)

REPORT_DIR = "report"  # SWEEP/report, as `python -m study.report` writes it


def write_sweep_report(sweep: SweepInfo) -> list[Path]:
    """The sweep's report in SWEEP/report (report.md first, then its figures); [] with a warning where it fails."""
    try:
        return write_report(sweep, sweep.path / REPORT_DIR, top_k=REPORT_TOP_K)
    except Exception as err:  # any section's: the sweep's results stand without it
        print(f"sweep: warning: the report could not be written ({type(err).__name__}: {err}); write it with "
              f"python -m study.report --sweep {sweep.path}", flush=True)  # fmt: skip
        return []


def sweep_claims(rows: list[dict[str, Any]], objectives: list[tuple[str, str]]) -> list[Claim]:
    """The paper's claim as the sweep decided it (`study.reporting.claim`); [] with a warning where that fails."""
    try:
        return judge(load_trials(rows), objectives)
    except Exception as err:  # a row the verdict cannot read: the sweep's results stand without it
        print(f"sweep: warning: no verdict on the paper's claim ({type(err).__name__}: {err})", flush=True)
        return []


def end_series(rows: list[dict[str, Any]], objectives: list[tuple[str, str]], wall_seconds: float) -> dict:
    """The parent's curves, and the sweep's times at the last step."""
    from tuning.parent_run import sweep_series, trials_ended

    series = sweep_series(rows, objectives)
    step, stamp = trials_ended(rows), int(time.time() * 1000)
    trained = [r["metrics"]["run_seconds"] for r in rows if "run_seconds" in (r.get("metrics") or {})]
    series[WALL_METRIC] = [(step, wall_seconds, stamp)]
    series[TRIAL_SECONDS_METRIC] = [(step, sum(trained), stamp)]
    if trained:
        series[MEAN_TRIAL_SECONDS_METRIC] = [(step, sum(trained) / len(trained), stamp)]
    return series


def parent_files(sweep: SweepInfo, report: list[Path], exported: dict[str, Any]) -> dict[str, str]:
    """The parent's text artifacts: artifact path -> text (of the export, only the configs it just wrote)."""
    files = {SPEC_ARTIFACT: yaml.safe_dump(sweep.data["spec"], sort_keys=False)}
    if (sweep.path / RESULTS).is_file():
        files[RESULTS_ARTIFACT] = (sweep.path / RESULTS).read_text()
    export = sweep.path / "export"
    for path in sorted(export.glob("summary.*")):
        files[f"{EXPORT_ARTIFACTS}/{path.name}"] = path.read_text()
    for name in sorted(Path(entry["config_file"]).name for entry in exported.get("top", [])):
        files[f"{EXPORT_CONFIGS}/{name}"] = (export / name).read_text()
    if report and report[0].name == REPORT:
        files[f"{REPORT_ARTIFACTS}/{REPORT}"] = report[0].read_text()
    return files


def log_parent(tracker: Any, sweep: SweepInfo, objectives: list[tuple[str, str]], rows: list[dict[str, Any]],
               report: list[Path], exported: dict[str, Any], claims: list[Claim]) -> bool:  # fmt: skip
    """Send the parent run its last curve points, times, files and verdicts (`exported`: what `export` returned);
    False (with a warning) where MLflow refuses."""
    from tuning.parent_run import ParentLog

    try:
        ParentLog(tracker).send(end_series(rows, objectives, sweep.data.get("wall_seconds", 0.0)))
        tracker.log_files(tracker.parent_id, parent_files(sweep, report, exported))
        tracker.log_binary(tracker.parent_id, [p for p in report[1:] if p.is_file()], REPORT_ARTIFACTS)
        if claims:
            lines = "\n\n".join(found.line() for found in claims)
            tracker.set_tags(tracker.parent_id, claim_tags(sweep.data["spec"].get("description", ""), lines))
        return True
    except Exception as err:  # MLflow's or the network's: everything is in the sweep directory
        print(f"sweep: warning: the MLflow parent run did not get the sweep's metrics and files ({type(err).__name__}: "
              f"{str(err)[:200]}); they are in {sweep.path}", flush=True)  # fmt: skip
        return False
