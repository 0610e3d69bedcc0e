"""`study.report` on sweep directories written here: the tables' numbers, the fits, the figures, the exclusions."""

from __future__ import annotations

import io
import json
import math

import numpy as np
import pytest
from PIL import Image
from scipy import stats

from study.report import main
from study.reporting.statistics import fit_power_law, mean_ci
from study.run.config import flatten, load_config


def _row(trial_id, status, overrides, *, test=None, val=0.5, peak=100.0, eval_peak=50.0, tps=1e5, reason=None,
         epochs=3):  # fmt: skip
    config = flatten(load_config(None, overrides))
    history = [
        {"epoch": e, "epochs": epochs, "val/accuracy": val * e / epochs, "peak_memory_mb": peak,
         "eval_peak_memory_mb": eval_peak, "tokens_per_second": tps}
        for e in range(1, (epochs if status == "COMPLETE" else 1) + 1)
    ]  # fmt: skip
    if test is not None and status == "COMPLETE":
        history[-1]["test_accuracy"] = test
    return {
        "trial_id": trial_id, "status": status, "config": config, "params": {"train.seed": config["train.seed"]},
        "history": history, "metrics": history[-1], "mlflow_run_id": f"run-{trial_id}", "reason": reason,
    }  # fmt: skip


def _sweep(tmp_path, rows, name="made-here"):
    path = tmp_path / name
    path.mkdir()
    (path / "results.json").write_text(json.dumps(rows))
    data = {"name": name, "study": "paper-table2", "spec": {"description": "rows written by the test"},
            "objectives": [{"metric": "val/accuracy", "mode": "max"}], "command": "python -m study.sweep"}  # fmt: skip
    (path / "sweep.json").write_text(json.dumps(data))
    return path


R300 = ["model.kind=r_lstm", "train.truncation=300", "data.name=mnist"]
L300 = ["model.kind=lstm", "train.truncation=300", "data.name=mnist"]
FASHION = ["model.kind=lstm", "train.truncation=null", "data.name=fashion_mnist"]


def _assert_png_with_content(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", path
    pixels = np.asarray(Image.open(io.BytesIO(data)).convert("L"))
    assert pixels.shape[0] > 100 and pixels.std() > 1, f"{path} is blank"


def test_the_replication_table_holds_the_paper_our_mean_and_interval_and_excludes_unfinished_trials(tmp_path):
    rows = [
        *[_row(f"r{s}", "COMPLETE", [*R300, f"train.seed={s}"], test=t) for s, t in enumerate([0.95, 0.96, 0.97])],
        _row("l0", "COMPLETE", L300, test=0.12),
        _row("f0", "COMPLETE", FASHION, test=0.80),
        # Better accuracies that must not count: stopped early, failed, still running.
        _row("stopped", "STOPPED", [*R300, "train.seed=7"], test=0.99, reason="stopped early by the scheduler"),
        _row("oom", "FAILED", [*R300, "train.seed=8"], reason="RuntimeError: CUDA out of memory. Tried to allocate"),
        _row("running", "RUNNING", [*R300, "train.seed=9"]),
    ]  # fmt: skip
    sweep = _sweep(tmp_path, rows)
    assert main(["--sweep", str(sweep), "--no-mlflow"]) == 0
    report = (sweep / "report" / "report.md").read_text()
    replication = report.split("## Replication of Table 2")[1].split("\n## ")[0]
    table = {tuple(c.strip() for c in line.split("|")[1:3]): line.split("|")[3:6]
             for line in replication.splitlines() if line.startswith("| ")}  # fmt: skip
    half = stats.t.ppf(0.975, 2) * np.std([95, 96, 97], ddof=1) / math.sqrt(3)
    paper, ours, diff = (c.strip() for c in table[("r-LSTM Truncate300", "mnist")])
    assert (paper, ours, diff) == ("96.4", f"96.0 ± {half:.1f} (n=3)", "-0.4")
    assert [c.strip() for c in table[("LSTM Truncate300", "mnist")]] == ["11.3", "12.0 (1 run)", "+0.7"]
    assert [c.strip() for c in table[("LSTM Full BP", "cifar10 (stand-in: fashion_mnist)")]] == [
        "58.8", "80.0 (1 run)", "+21.2"]  # fmt: skip
    assert "run-r0, run-r1, run-r2" in replication and "run-stopped" not in replication and "run-oom" not in replication
    # Each unfinished trial is listed with what happened to it.
    assert "| stopped | r-LSTM Truncate300 | mnist | 784 | stopped | stopped early by the scheduler |" in report
    assert "| oom | r-LSTM Truncate300 | mnist | 784 | did not fit | RuntimeError: CUDA out of memory." in report
    assert "| running | r-LSTM Truncate300 | mnist | 784 | running |" in report
    assert "- trials: 8 (1 running, 5 complete, 1 stopped, 1 failed)" in report
    for figure in ("learning_curves.png", "pareto.png"):
        _assert_png_with_content(sweep / "report" / figure)


def test_scaling_plots_and_exponents_flat_for_truncation_linear_for_full_bptt(tmp_path):
    long = ["data.name=mnist_long", "aux.segment_len=100", "aux.truncation=50", "data.batch_size=32"]
    rows = []
    for side in (16, 24, 32, 48):
        steps = side * side
        rows.append(_row(f"r{side}", "COMPLETE", [*long, f"data.image_size={side}", "model.kind=r_lstm",
                                                  "train.truncation=50"], test=0.5, peak=240.0, eval_peak=30.0,
                         tps=1e5))  # fmt: skip
        rows.append(_row(f"f{side}", "COMPLETE", [*long, f"data.image_size={side}", "model.kind=lstm",
                                                  "train.truncation=null"], test=0.4, peak=0.2 * steps,
                         eval_peak=30.0, tps=1e5))  # fmt: skip
    rows.append(_row("f64", "FAILED", [*long, "data.image_size=64", "model.kind=lstm", "train.truncation=null"],
                     reason="MemoryError: cannot allocate"))  # fmt: skip
    sweep = _sweep(tmp_path, rows)
    assert main(["--sweep", str(sweep), "--no-mlflow", "--out", str(tmp_path / "out")]) == 0
    report = (tmp_path / "out" / "report.md").read_text()
    exponents = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:6]]
                 for line in report.split("Fitted power laws")[1].splitlines() if line.startswith("| ")}  # fmt: skip
    # training peak, evaluation peak, time per step (constant tokens/s: linear in T), lengths
    assert exponents["r-LSTM Truncate50"] == ["0.00", "0.00", "1.00", "256, 576, 1024, 2304"]
    assert exponents["LSTM Full BP"] == ["1.00", "0.00", "1.00", "256, 576, 1024, 2304"]
    assert "Did not fit in memory: LSTM Full BP at 4096 steps." in report
    for figure in ("accuracy_vs_length.png", "memory_vs_length.png", "eval_memory_vs_length.png",
                   "step_time_vs_length.png"):  # fmt: skip
        _assert_png_with_content(tmp_path / "out" / figure)


def test_the_truncation_ablation_separates_runs_with_and_without_the_auxiliary_loss(tmp_path):
    rows = [
        _row(f"{kind}{k}{w}", "COMPLETE", [f"model.kind={kind}", f"train.truncation={k}", f"aux.weight={w}"],
             test=0.1 + k / 1000)
        for kind, w in (("r_lstm", 1.0), ("r_lstm", 0.0)) for k in (10, 100, 300)
    ]  # fmt: skip
    sweep = _sweep(tmp_path, rows)
    assert main(["--sweep", str(sweep), "--no-mlflow"]) == 0
    assert "![accuracy against truncation](truncation.png)" in (sweep / "report" / "report.md").read_text()
    _assert_png_with_content(sweep / "report" / "truncation.png")


def test_a_missing_sweep_is_named():
    assert main(["--sweep", "/nonexistent/sweep", "--no-mlflow"]) == 2


@pytest.mark.parametrize("exponent", [0.0, 0.5, 1.0, 2.0])
def test_the_power_law_fit_recovers_a_known_exponent(exponent):
    lengths = np.array([1024, 2048, 4096, 8192, 16384])
    noise = np.exp(np.random.default_rng(0).normal(0, 0.01, len(lengths)))
    fit = fit_power_law(lengths, 3.0 * lengths**exponent * noise)
    assert fit.exponent == pytest.approx(exponent, abs=0.02) and fit.reliable and fit.lengths == 5
    assert fit(4096) == pytest.approx(3.0 * 4096**exponent, rel=0.05)


def test_a_fit_on_fewer_than_three_lengths_is_flagged():
    fit = fit_power_law([1024, 1024, 4096], [10.0, 11.0, 40.0])
    assert not fit.reliable and "only 2 lengths" in fit.describe()
    with pytest.raises(ValueError, match="two different lengths"):
        fit_power_law([1024, 1024], [1.0, 2.0])


def test_mean_and_interval_over_seeds():
    estimate = mean_ci([1.0, 2.0, 3.0])
    assert estimate.mean == 2.0 and estimate.half_width == pytest.approx(stats.t.ppf(0.975, 2) / math.sqrt(3))
    assert mean_ci([5.0]).describe() == "5.0 (1 run)"


def test_a_downscaled_truncation_fills_the_truncate300_row_and_says_so(tmp_path):
    rows = [_row("r50", "COMPLETE", ["model.kind=r_lstm", "train.truncation=50", "data.image_size=14",
                                      "aux.segment_len=100", "aux.truncation=50"], test=0.5)]  # fmt: skip
    sweep = _sweep(tmp_path, rows)
    assert main(["--sweep", str(sweep), "--no-mlflow"]) == 0
    report = (sweep / "report" / "report.md").read_text()
    assert "| r-LSTM Truncate300 (ran as r-LSTM Truncate50) | mnist | 96.4 | 50.0 (1 run) | -46.4 |" in report


def test_an_ablations_truncations_stay_off_table_2_and_datasets_are_never_averaged_together(tmp_path):
    rows = [
        _row(f"{d}{k}", "COMPLETE", [f"data.name={d}", "model.kind=lstm", f"train.truncation={k}"], test=0.1 + k / 1e3)
        for d in ("mnist", "pmnist") for k in (10, 100, 300)
    ]  # fmt: skip
    sweep = _sweep(tmp_path, rows)
    (sweep / "report").mkdir()
    (sweep / "report" / "keep.png").write_bytes(b"not the report's")
    assert main(["--sweep", str(sweep), "--no-mlflow"]) == 0
    report = (sweep / "report" / "report.md").read_text()
    replication = report.split("## Replication of Table 2")[1].split("\n## ")[0]
    assert "ran as" not in replication  # Truncate10 and Truncate100 are not passed off as Truncate300
    assert "| LSTM Truncate300 | mnist | 11.3 | 40.0 (1 run) | +28.7 |" in replication
    assert "| LSTM Truncate300 | pmnist | 88.8 | 40.0 (1 run) | -48.8 |" in replication
    assert (sweep / "report" / "keep.png").read_bytes() == b"not the report's"  # only its own figures go
    assert "Not computed: no Optuna storage" in report


def test_a_minimised_objective_picks_the_lowest_and_a_group_without_values_never_wins(tmp_path):
    rows = [
        _row("low", "COMPLETE", [*R300, "train.lr=0.001"], test=0.90, val=0.2),
        _row("high", "COMPLETE", [*R300, "train.lr=0.002"], test=0.50, val=0.9),
        {**_row("none", "COMPLETE", [*R300, "train.lr=0.003"], test=0.10), "metrics": {"test_accuracy": 0.1}},
    ]
    sweep = _sweep(tmp_path, rows)
    data = json.loads((sweep / "sweep.json").read_text())
    data["objectives"] = [{"metric": "val/accuracy", "mode": "min"}]
    (sweep / "sweep.json").write_text(json.dumps(data))
    assert main(["--sweep", str(sweep), "--no-mlflow"]) == 0
    assert "| r-LSTM Truncate300 | mnist | 96.4 | 90.0 (1 run) | -6.4 | run-low |" in (
        sweep / "report" / "report.md").read_text()  # fmt: skip


def test_workers_scaling_gives_speed_up_efficiency_and_time_to_target(tmp_path):
    def run(trial_id, workers, tps, accuracies, overrides=R300):
        row = _row(trial_id, "COMPLETE", overrides, tps=tps, epochs=len(accuracies))
        for h, acc in zip(row["history"], accuracies):
            h.update({"val/accuracy": acc, "epoch_seconds": 10.0 / workers, "supervised_epoch": h["epoch"]})
        row["params"] = {"resources.workers": workers}
        return row

    rows = [run("w1", 1, 1000.0, [0.2, 0.5, 0.9]), run("w2", 2, 1800.0, [0.3, 0.6, 0.8]),
            run("w4", 4, 3000.0, [0.1, 0.2, 0.4]), run("other", 1, 500.0, [0.9], L300)]  # fmt: skip
    path = _sweep(tmp_path, rows)
    assert main(["--sweep", str(path), "--no-mlflow"]) == 0
    report = (path / "report" / "report.md").read_text()
    assert "val/accuracy ≥ 0.400" in report  # by default the best accuracy every run reached
    assert "| r-LSTM Truncate300 on mnist | 1 | 1,000 | 1.00x | 100% | 20.0 | 0.9000 | run-w1 |" in report
    assert "| r-LSTM Truncate300 on mnist | 2 | 1,800 | 1.80x | 90% | 10.0 | 0.8000 | run-w2 |" in report
    assert "| r-LSTM Truncate300 on mnist | 4 | 3,000 | 3.00x | 75% | 7.5 | 0.4000 | run-w4 |" in report
    assert "LSTM Truncate300 on mnist | 1 | 500" not in report  # one worker count: no scaling to show
    _assert_png_with_content(path / "report" / "workers.png")
    assert main(["--sweep", str(path), "--no-mlflow", "--target-accuracy", "0.85"]) == 0
    report = (path / "report" / "report.md").read_text()
    assert "| 4 | 3,000 | 3.00x | 75% | not reached |" in report and "| 1 | 1,000 | 1.00x | 100% | 30.0 |" in report


def test_checkpointed_full_bptt_is_its_own_series_and_kept_off_table_2(tmp_path):
    long = ["data.name=mnist_long", "aux.segment_len=100", "aux.truncation=50", "data.batch_size=32"]
    full = ["model.kind=lstm", "train.truncation=null"]
    rows = []
    for side in (16, 24, 32, 48):
        steps = side * side
        at = [*long, f"data.image_size={side}", *full]
        rows.append(_row(f"f{side}", "COMPLETE", at, test=0.4, peak=0.2 * steps, tps=1e5))
        rows.append(_row(f"c{side}", "COMPLETE", [*at, "train.checkpoint_chunk=sqrt"], test=0.4,
                         peak=2.0 * math.sqrt(steps), tps=1e5))  # fmt: skip
    # A better checkpointed run where Table 2 has an "LSTM Full BP" cell: it must not take that cell.
    rows.append(_row("fm", "COMPLETE", FASHION, test=0.80))
    rows.append(_row("cm", "COMPLETE", [*FASHION, "train.checkpoint_chunk=64"], test=0.99))
    sweep = _sweep(tmp_path, rows)
    assert main(["--sweep", str(sweep), "--no-mlflow", "--out", str(tmp_path / "out")]) == 0
    report = (tmp_path / "out" / "report.md").read_text()
    exponents = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:6]]
                 for line in report.split("Fitted power laws")[1].splitlines() if line.startswith("| ")}  # fmt: skip
    # one series per dataset here (the Table 2 rows ran on fashion_mnist)
    assert exponents["LSTM Full BP on mnist_long"][0] == "1.00"
    assert exponents["LSTM Full BP, checkpointed on mnist_long"][0] == "0.50"
    replication = report.split("## Replication of Table 2")[1].split("\n## ")[0]
    assert "| LSTM Full BP | cifar10 (stand-in: fashion_mnist) | 58.8 | 80.0 (1 run) |" in replication
    assert "checkpointed" not in replication and "run-cm" not in replication


def test_predicted_memory_is_set_against_the_measured_peak_and_pruned_trials_are_listed(tmp_path):
    near = {**_row("near", "COMPLETE", R300, peak=100.0), "predicted_peak_memory_mb": [110.0, 20.0]}
    far = {**_row("far", "COMPLETE", L300, peak=100.0), "predicted_peak_memory_mb": [300.0, 50.0]}
    pruned = {**_row("pruned-3", "PRUNED", FASHION, reason="predicted training peak 9,000 MB (± 900) is over the "
              "memory budget of 500 MB"), "history": [], "metrics": None}  # fmt: skip
    path = _sweep(tmp_path, [near, far, pruned])
    assert main(["--sweep", str(path), "--no-mlflow"]) == 0
    report = (path / "report" / "report.md").read_text()
    assert "| near | r-LSTM Truncate300 | 784 | 110 ± 20 | 100 | yes |" in report
    assert "| far | LSTM Truncate300 | 784 | 300 ± 50 | 100 | no |" in report
    assert "Pruned before they started (1): pruned-3 LSTM Full BP at 784 steps." in report
    assert "| pruned-3 | LSTM Full BP | fashion_mnist | 784 | pruned | predicted training peak 9,000 MB" in report
    _assert_png_with_content(path / "report" / "memory_model.png")
