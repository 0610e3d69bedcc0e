"""What a finished sweep prints: the best trial, the Pareto set, the seed-robust ranking, the memory model's record,
and where its files, exports, MLflow runs and report are."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from study.cost.memory_model import memory_checks
from study.reporting.claim import Claim
from study.results.racing import race_cost
from study.results.ranking import pareto_front, rank
from study.results.sweep_dir import SweepInfo
from study.spec.definition import Study
from tuning.naming import REPORT_ARTIFACTS, experiment_name, runs_url, trial_summary


def params_text(row: dict[str, Any]) -> str:
    """A results row's searched values, as its MLflow run name says them."""
    return trial_summary(row.get("params", {}))


def print_summary(
    study: Study, sweep: SweepInfo, rows: list[dict[str, Any]], export: dict[str, Any], wall: float,
    report: Path | None = None, claims: list[Claim] = (), logged: bool = True,
) -> bool:  # fmt: skip
    """Print the finished sweep's results; False when no trial finished with a finite objective. `report`: the
    report the sweep wrote, if it did; `claims`: its verdicts on the paper's claim; `logged`: whether the MLflow
    parent run got the report."""
    data = sweep.data
    metric, mode = study.objectives[0].metric, study.objectives[0].mode
    trained = sum((r.get("metrics") or {}).get("run_seconds", 0.0) for r in rows)
    print(f"\nsweep {data['name']} finished in {wall:.0f} s; its trials trained for {trained:.0f} s in total")
    print("trials: " + ", ".join(f"{v} {k}" for k, v in export["trials"].items() if v))
    best = rank(rows, metric, mode)
    if best:
        row, m = best[0], best[0]["metrics"]
        print(
            f"best trial {row['trial_id']} ({params_text(row)}): {metric} {m[metric]:.4f}, "
            f"test accuracy {m.get('test_accuracy', float('nan')):.4f}, {m['epoch']} epochs; "
            f"MLflow run {row['mlflow_run_id']}"
        )
    else:
        print(f"no trial finished with a finite {metric}")
    for found in claims:  # the sweep compared an auxiliary kind with the plain truncated LSTM over seeds
        print(found.line())
    if len(study.objectives) > 1:
        _print_pareto(study, rows)
    if export["ranked_by"] == "seed bound":
        print(f"seed-robust ranking by the one-sided 95 % {'lower' if mode == 'max' else 'upper'} bound of {metric}:")
        for e in (e for e in export["top"] if "seeds" in e):
            print(f"  {e['trial_id']} ({params_text({'params': e['params']})}): mean {e['mean']:.4f}, "
                  f"std {e['std']:.4f}, bound {e['bound']:.4f}, {e['seeds']} seeds")  # fmt: skip
    if data.get("race"):
        print_race_cost(rows, data["race"])
    print_memory(rows)
    print(f"sweep files: {sweep.path} (results.json, configs/, optuna.db)")
    print(f"exports: {sweep.path / 'export'} (summary.md, {len(export['top'])} config(s))")
    if report is not None:
        print(f"report: {report}" + (f" (and on the MLflow parent run, under {REPORT_ARTIFACTS}/)" if logged else ""))
    else:
        print(f"report: python -m study.report --sweep {sweep.path}")
    print_links(study, sweep)
    return bool(best)


def print_links(study: Study, sweep: SweepInfo) -> None:
    """The commands that open the MLflow UI and optuna-dashboard, and the URL of the sweep's runs table."""
    from tuning.tracking import ui_command

    data = sweep.data
    print(f"MLflow UI: {ui_command(data['tracking_uri'])}   (experiment {experiment_name(study.name)})")
    if data.get("mlflow_experiment_id"):
        print(f"  the sweep's runs: {runs_url(data['tracking_uri'], data['mlflow_experiment_id'])}")
    print(f"Optuna dashboard: optuna-dashboard --host 127.0.0.1 sqlite:///{sweep.path / 'optuna.db'}   "
          "(pip install -e '.[ui]')")


def _print_pareto(study: Study, rows: list[dict[str, Any]]) -> None:
    objectives = [(o.metric, o.mode) for o in study.objectives]
    front = pareto_front(rows, objectives)
    print(f"Pareto set ({', '.join(f'{m} {d}' for m, d in objectives)}): {len(front)} trial(s)")
    for row in front:
        values = ", ".join(f"{m} {row['metrics'][m]:.4g}" for m, _ in objectives)
        print(f"  {row['trial_id']} ({params_text(row)}): {values}")


def print_memory(rows: list[dict[str, Any]]) -> None:
    """The trials pruned by the memory budget, and the model's predicted training peaks against the measured."""
    for row in rows:
        if row["status"] == "PRUNED":
            print(f"pruned before it started: {row['trial_id']} ({params_text(row)}): {row['reason']}")
    compared = [check for check in memory_checks(rows) if check.measured > 0]  # a CPU run can show no rise
    if not compared:
        return
    errors = sorted(check.relative_error for check in compared)
    within = sum(check.within for check in compared)
    print(f"memory model: {within} of {len(compared)} training peaks within the stated error of their prediction; "
          f"median error {errors[len(errors) // 2]:.0%}, largest {errors[-1]:.0%} (per trial in the report)")
    for check in compared:
        if not check.within:
            print(f"  outside: {check.row['trial_id']} predicted {check.predicted:,.0f} ± {check.error:,.0f} MB, "
                  f"measured {check.measured:,.0f} MB")


def print_race_cost(rows: list[dict[str, Any]], race: dict[str, Any]) -> None:
    """What the race ran, next to what a fixed top-k re-run to the same number of seeds would have."""
    cost = race_cost(rows, seeds=race["seeds"], top_k=race["top_k"])
    print(f"race: {cost['reruns']} re-run(s) ({cost['trial_epochs']:.0f} trial-epochs) of {cost['configurations']} "
          f"configuration(s) in {race.get('rounds', 0)} round(s), up to {race['seeds']} runs each; --seeds "
          f"{race['seeds']} --top-k {race['top_k']} would have run {cost['fixed_reruns']} "
          f"({cost['fixed_trial_epochs']:.0f} trial-epochs)")  # fmt: skip
