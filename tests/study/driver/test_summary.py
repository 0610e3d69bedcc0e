"""The end-of-sweep summary: the claim line where the sweep compared an auxiliary kind with the plain truncated
LSTM over seeds, and nothing about it where it did not."""

from __future__ import annotations

from study.driver.summary import print_summary
from study.reporting.claim import judge
from study.reporting.trials import load_trials
from study.results.sweep_dir import SweepInfo
from study.run.config import flatten, load_config
from study.spec.parse import load_study

EXPORT = {"trials": {"COMPLETE": 6}, "ranked_by": "objective", "top": []}


def _rows(groups):
    rows = []
    for overrides, results in groups:
        for seed, (val, test) in enumerate(results):
            config = flatten(load_config(None, [*overrides, "train.truncation=1", f"train.seed={seed}"]))
            metrics = {"epoch": 3, "val/accuracy": val, "test_accuracy": test, "run_seconds": 1.0}
            rows.append({"trial_id": f"{config['model.kind']}-{seed}", "status": "COMPLETE", "config": config,
                         "params": {"model.kind": config["model.kind"], "train.seed": seed}, "metrics": metrics,
                         "history": [metrics], "mlflow_run_id": "run"})  # fmt: skip
    return rows


def _print(tmp_path, capsys, rows, logged=True):
    sweep = SweepInfo(tmp_path, {"name": "s", "tracking_uri": f"sqlite:///{tmp_path}/mlflow.db"})
    claims = judge(load_trials(rows), [("val/accuracy", "max")])
    assert print_summary(load_study("default"), sweep, rows, EXPORT, wall=10.0, report=tmp_path / "report.md",
                         claims=claims, logged=logged)  # fmt: skip
    return capsys.readouterr().out


def test_a_sweep_that_ran_the_comparison_states_the_claims_verdict_in_one_line(tmp_path, capsys):
    rows = _rows([(["model.kind=r_lstm"], [(0.30, 0.31), (0.33, 0.32), (0.31, 0.30)]),
                  (["model.kind=lstm"], [(0.11, 0.12), (0.10, 0.13), (0.12, 0.12)])])  # fmt: skip
    lines = [line for line in _print(tmp_path, capsys, rows).splitlines() if "paper's claim" in line]
    assert len(lines) == 1 and "SUPPORTED" in lines[0] and "r-LSTM Truncate1" in lines[0]


def test_a_sweep_without_seeds_says_nothing_about_the_claim(tmp_path, capsys):
    rows = _rows([(["model.kind=r_lstm"], [(0.30, 0.31)]), (["model.kind=lstm"], [(0.11, 0.12)])])
    assert "paper's claim" not in _print(tmp_path, capsys, rows)


def test_the_report_is_said_to_be_on_mlflow_only_where_it_got_there(tmp_path, capsys):
    rows = _rows([(["model.kind=lstm"], [(0.11, 0.12)])])
    assert "(and on the MLflow parent run" in _print(tmp_path, capsys, rows)
    out = _print(tmp_path, capsys, rows, logged=False)
    assert f"report: {tmp_path / 'report.md'}\n" in out and "MLflow parent run" not in out
