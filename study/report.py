"""`python -m study.report --sweep SWEEP`: a sweep's results as a Markdown report with plots, logged to MLflow.

Reads the sweep directory only (sweep.json, results.json and, for parameter importances, optuna.db): no Ray.
Writes `report.md` and its PNGs to --out (default SWEEP/report), then logs them to the sweep's MLflow parent run.
Sections appear where the sweep has the data for them: the replication of the paper's Table 2, cost and accuracy
against sequence length with fitted power laws, the truncation ablation, learning curves, the accuracy / memory
Pareto front, Optuna's parameter importances and the best configurations. Only COMPLETE trials enter fits and
tables (learning curves also draw trials stopped early); failed, stopped and unfinished ones are listed with
their reasons.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from study import plots
from study.config import ConfigError, config_from_dict, sequence_length
from study.export import unflatten
from study.paper_table import COLUMNS, ROWS, TABLE2, method_of
from study.results import STATUSES, load_rows, memory_checks, objective_value, pareto_front, peak, rank
from study.scaling import PowerLaw, fit_power_law, mean_ci
from study.spec import WORKERS
from study.sweep_dir import SweepInfo, find_sweep
from tuning.redact import redact

OUT_OF_MEMORY = ("out of memory", "outofmemory", "memoryerror", "cannot allocate memory")
MAX_CURVES = 12  # learning curves drawn: the best trials, so that the legend stays readable
FIGURES = (
    "accuracy_vs_length.png", "memory_vs_length.png", "eval_memory_vs_length.png", "step_time_vs_length.png",
    "truncation.png", "workers.png", "memory_model.png", "learning_curves.png", "pareto.png", "importances.png",
)  # fmt: skip


@dataclass(frozen=True)
class Trial:
    """One row of the results table with what the report derives from its config."""

    row: dict[str, Any]
    config: dict[str, Any]  # flat, dotted keys
    method: str  # in the paper's words
    length: int  # steps of the longest example

    @property
    def status(self) -> str:
        return self.row.get("status", "RUNNING")

    @property
    def did_not_fit(self) -> bool:
        return self.status == "FAILED" and any(s in (self.row.get("reason") or "").lower() for s in OUT_OF_MEMORY)

    @property
    def dataset(self) -> str:
        return self.config["data.name"]

    def last(self, metric: str) -> float | None:
        return objective_value(self.row, metric)

    def peak(self, metric: str) -> float | None:
        return peak(self.row, metric)

    @property
    def workers(self) -> int:
        """Data-parallel workers: reported by multi-worker runs, else searched, else one."""
        reported = self.last("workers")
        return int(reported or (self.row.get("params") or {}).get(WORKERS, 1))

    @property
    def ms_per_step(self) -> float | None:
        tokens_per_second = self.last("tokens_per_second")
        if not tokens_per_second:
            return None
        return 1e3 * self.config["data.batch_size"] * self.length / tokens_per_second


def load_trials(rows: Iterable[dict[str, Any]]) -> list[Trial]:
    trials = []
    for row in rows:
        config = row.get("config")
        if not config:
            continue  # a trial that never started has no config recorded
        try:
            length = sequence_length(config_from_dict(unflatten(config)).data)
        except ConfigError:
            length = 0
        trials.append(Trial(row, config, method_of(config), length))
    return trials


def stand_in_of(dataset: str) -> str | None:
    from data import DATASETS

    return DATASETS[dataset].stands_in_for if dataset in DATASETS else None


# --- sections: each returns Markdown lines and writes its figures to `out` --------------------------------------


def header(sweep: SweepInfo, trials: list[Trial]) -> list[str]:
    data = sweep.data
    spec = data.get("spec", {})
    count = {s: sum(t.status == s for t in trials) for s in STATUSES}
    counts = ", ".join(f"{n} {s.lower()}" for s, n in count.items() if n or s != "PRUNED")
    lines = [
        f"# Sweep {data['name']}",
        "",
        f"Study `{data.get('study')}`: {spec.get('description', '').strip()}",
        "",
        f"- command: `{data.get('command', '')}`",
        f"- git commit {data.get('git_commit', '?')}, data checksum {data.get('data_checksum', '?')}",
        f"- MLflow: {data.get('tracking_uri', '?')}, parent run {data.get('mlflow_parent_run_id', '?')}",
        f"- trials: {len(trials)} ({counts})",
        "",
    ]
    unfinished = [t for t in trials if t.status != "COMPLETE"]
    if unfinished:
        lines += ["Trials left out of every fit and table below:", ""]
        lines += ["| trial | method | data | steps | status | reason |", "|---|---|---|---|---|---|"]
        for t in unfinished:
            status = "did not fit" if t.did_not_fit else t.status.lower()
            reason = (t.row.get("reason") or "").splitlines()[0][:160] if t.row.get("reason") else ""
            lines.append(f"| {t.row['trial_id']} | {t.method} | {t.dataset} | {t.length} | {status} | {reason} |")
        lines.append("")
    return lines


@dataclass(frozen=True)
class Cell:
    method: str  # Table 2's row
    ran: str  # the method as run: the row, or a downscaled truncation of it ('r-LSTM Truncate50')
    column: str  # Table 2's dataset
    dataset: str  # what ran: the column's dataset or its stand-in
    paper: float
    accuracy: Any  # study.scaling.Estimate of test accuracy (%)
    runs: tuple[str, ...]  # MLflow run ids


def replication_cells(trials: list[Trial], metric: str, mode: str) -> list[Cell]:
    """Per Table 2 cell the sweep covers: among the configurations of that method and dataset, the one with the
    best mean objective, and its test accuracy over seeds."""
    groups: dict[tuple[str, str, str], dict[tuple, list[Trial]]] = defaultdict(lambda: defaultdict(list))
    complete = [t for t in trials if t.status == "COMPLETE"]
    table_row = table_rows(complete)
    for t in complete:
        column = t.dataset if t.dataset in COLUMNS else stand_in_of(t.dataset)
        row = table_row(t)
        if (row, column) not in TABLE2 or t.last("test_accuracy") is None:
            continue
        setting = tuple(sorted((k, str(v)) for k, v in t.config.items() if k != "train.seed"))
        groups[(row, t.method, column)][setting].append(t)

    def score(group: list[Trial]) -> float:
        values = [t.last(metric) for t in group if t.last(metric) is not None]
        if not values:
            return float("-inf")
        mean = sum(values) / len(values)
        return mean if mode == "max" else -mean

    cells = []
    for (method, ran, column), settings in groups.items():
        best = max(settings.values(), key=score)
        estimate = mean_ci([100 * t.last("test_accuracy") for t in best])
        runs = tuple(t.row.get("mlflow_run_id", "") for t in best)
        cells.append(Cell(method, ran, column, best[0].dataset, TABLE2[(method, column)], estimate, runs))
    order = {name: i for i, name in enumerate(ROWS)}
    return sorted(cells, key=lambda c: (COLUMNS.index(c.column), order[c.method], c.ran))


TRUNCATED = re.compile(r"Truncate\d+$")


def table_rows(complete: list[Trial]):
    """Trial -> Table 2's row: its method, or Truncate300 for the one truncation a downscaled study used in its
    place (the only truncation of that model on that dataset in the sweep; an ablation's many are not mapped)."""
    truncations: dict[tuple[str, str], set[str]] = defaultdict(set)  # (dataset, model) -> truncated methods
    for t in complete:
        if TRUNCATED.search(t.method):
            truncations[(t.dataset, t.method.rsplit(" ", 1)[0])].add(t.method)

    def row(trial: Trial) -> str:
        if truncations.get((trial.dataset, trial.method.rsplit(" ", 1)[0])) == {trial.method}:
            return TRUNCATED.sub("Truncate300", trial.method)
        return trial.method

    return row


def replication(trials: list[Trial], metric: str, mode: str) -> list[str]:
    cells = replication_cells(trials, metric, mode)
    if not cells:
        return []
    lines = [
        "## Replication of Table 2",
        "",
        "Test accuracy (%) after the last epoch: mean ± half-width of the 95 % confidence interval over seeds "
        f"(Student's t), or one run; per cell the configuration with the best mean {metric}.",
        "",
        "| method | dataset | paper | ours | ours − paper | MLflow runs |",
        "|---|---|---|---|---|---|",
    ]
    for c in cells:
        dataset = c.column if c.dataset == c.column else f"{c.column} (stand-in: {c.dataset})"
        method = c.method if c.ran == c.method else f"{c.method} (ran as {c.ran})"
        lines.append(
            f"| {method} | {dataset} | {c.paper:.1f} | {c.accuracy.describe()} | "
            f"{c.accuracy.mean - c.paper:+.1f} | {', '.join(r for r in c.runs if r)} |"
        )
    return [*lines, ""]


def fits_by_method(trials: list[Trial], value) -> dict[str, PowerLaw]:
    points = _series(trials, lambda t: t.length, value, _labeller(trials))
    return {m: fit_power_law(*zip(*p)) for m, p in points.items() if len({x for x, _ in p}) >= 2}


def _labeller(trials: list[Trial], base=lambda t: t.method):
    """Series labels: `base`, with the dataset added when the trials span several (never averaged together)."""
    if len({t.dataset for t in trials}) > 1:
        return lambda t: f"{base(t)} on {t.dataset}"
    return base


def _series(trials: list[Trial], x, y, label=lambda t: t.method) -> dict[str, list[tuple[float, float]]]:
    series: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for t in trials:
        xv, yv = x(t), y(t)
        if xv is not None and yv is not None and yv > 0:
            series[label(t)].append((xv, yv))
    return dict(series)


def scaling(trials: list[Trial], out: Path) -> list[str]:
    complete = [t for t in trials if t.status == "COMPLETE" and t.length]
    if len({t.length for t in complete}) < 2:
        return []
    lines = ["## Sequence length", ""]
    series_label = _labeller(complete)
    accuracy = _series(complete, lambda t: t.length, lambda t: _percent(t.last("test_accuracy")), series_label)
    if accuracy:
        plots.lines(out / "accuracy_vs_length.png", accuracy, xlabel="sequence length (steps)",
                    ylabel="test accuracy (%)", title="Accuracy against length")  # fmt: skip
        lines += ["![accuracy against length](accuracy_vs_length.png)", ""]
    costs = {
        "training peak memory (MB)": ("memory_vs_length.png", lambda t: t.peak("peak_memory_mb")),
        "evaluation peak memory (MB)": ("eval_memory_vs_length.png", lambda t: t.peak("eval_peak_memory_mb")),
        "time per step (ms)": ("step_time_vs_length.png", lambda t: t.ms_per_step),
    }
    exponents: dict[str, dict[str, PowerLaw]] = {}
    for label, (file, value) in costs.items():
        fits = fits_by_method(complete, value)
        exponents[label] = fits
        series = _series(complete, lambda t: t.length, value, series_label)
        if not series:
            continue
        shown = {m: (f, f"exponent {f.describe()}") for m, f in fits.items()}
        plots.lines(out / file, series, xlabel="sequence length (steps)", ylabel=label, log=True, fits=shown,
                    title=f"{label[0].upper()}{label[1:]} against length (log-log)")  # fmt: skip
        lines += [f"![{label} against length]({file})", ""]
    methods = sorted({m for fits in exponents.values() for m in fits})  # labels: method[ on dataset]
    if methods:
        lines += [
            "Fitted power laws, value ∝ length^exponent (least squares in log-log space; 0 is flat, 1 linear):",
            "",
            "| method | " + " | ".join(f"{label} exponent" for label in costs) + " | lengths |",
            "|---|" + "---|" * (len(costs) + 1),
        ]
        for m in methods:
            cells = [exponents[label][m].describe() if m in exponents[label] else "-" for label in costs]
            lengths = sorted({t.length for t in complete if series_label(t) == m})
            lines.append(f"| {m} | " + " | ".join(cells) + f" | {', '.join(map(str, lengths))} |")
        lines.append("")
    unfit = sorted({(t.method, t.length) for t in trials if t.did_not_fit})
    if unfit:
        lines += ["Did not fit in memory: " + ", ".join(f"{m} at {n} steps" for m, n in unfit) + ".", ""]
    return lines


def truncation_ablation(trials: list[Trial], out: Path) -> list[str]:
    complete = [t for t in trials if t.status == "COMPLETE" and t.last("test_accuracy") is not None]
    if len({t.config.get("train.truncation") for t in complete}) < 2:
        return []

    def kind(t: Trial) -> str:
        name = t.method.split(" ")[0]
        return f"{name}, auxiliary weight 0" if t.config.get("aux.weight") == 0 and name != "LSTM" else name

    label = _labeller(complete, kind)
    if len({t.length for t in complete}) > 1:  # a length study varies truncation too: one series per length
        label = _labeller(complete, lambda t: f"{kind(t)} at {t.length} steps")

    def truncation(t: Trial) -> int:
        value = t.config.get("train.truncation")
        return t.length if value is None else value  # full BPTT reaches every step

    series = _series(complete, truncation, lambda t: _percent(t.last("test_accuracy")), label)
    plots.lines(out / "truncation.png", series, xlabel="train.truncation (steps; full BPTT at the length)",
                ylabel="test accuracy (%)", title="Truncation ablation")  # fmt: skip
    return ["## Truncation", "", "![accuracy against truncation](truncation.png)", ""]


def workers_scaling(trials: list[Trial], out: Path, target: float | None) -> list[str]:
    """Throughput and time to a target accuracy per worker count, for configurations run on several counts."""
    complete = [t for t in trials if t.status == "COMPLETE"]
    groups: dict[tuple, list[Trial]] = defaultdict(list)
    for t in complete:
        groups[tuple(sorted((k, str(v)) for k, v in t.config.items()))].append(t)
    groups = {k: g for k, g in groups.items() if len({t.workers for t in g}) > 1}
    if not groups:
        return []
    scaled = [t for g in groups.values() for t in g]
    accuracy = "val/accuracy" if all(t.peak("val/accuracy") is not None for t in scaled) else "train/accuracy"
    if target is None:  # the accuracy every run reached
        target = min((t.peak(accuracy) or 0.0) for t in scaled)
    lines = [
        "## Data-parallel workers",
        "",
        f"Throughput: median tokens/s over the joint epochs, all workers together. Time to {accuracy} ≥ "
        f"{target:.3f}: training seconds summed over epochs up to the first that reached it (evaluation excluded).",
        "",
        "| configuration | workers | tokens/s | speed-up | efficiency | time to target (s) | best "
        f"{accuracy} | MLflow run |",
        "|---|---|---|---|---|---|---|---|",
    ]
    series: dict[str, list[tuple[float, float]]] = {}
    for i, group in enumerate(groups.values()):
        label = f"{group[0].method} on {group[0].dataset}" + (f" ({i + 1})" if len(groups) > 1 else "")
        by_workers = sorted(group, key=lambda t: t.workers)
        base = _throughput(by_workers[0]) / by_workers[0].workers
        for t in by_workers:
            speed = _throughput(t)
            reached = _time_to(t, accuracy, target)
            lines.append(
                f"| {label} | {t.workers} | {speed:,.0f} | {speed / base / by_workers[0].workers:.2f}x | "
                f"{speed / (base * t.workers):.0%} | {'not reached' if reached is None else f'{reached:.1f}'} | "
                f"{t.peak(accuracy):.4f} | {t.row.get('mlflow_run_id', '')} |"
            )
        series[label] = [(t.workers, _throughput(t)) for t in by_workers]
        series[f"{label}, ideal"] = [(t.workers, base * t.workers) for t in by_workers]
    plots.lines(out / "workers.png", series, xlabel="data-parallel workers", ylabel="tokens per second",
                title="Throughput against workers")  # fmt: skip
    return [*lines, "", "![throughput against workers](workers.png)", ""]


def _throughput(t: Trial) -> float:
    history = t.row.get("history", [])
    joint = [h for h in history if h.get("supervised_epoch", 1) > 0] or history
    values = sorted(h["tokens_per_second"] for h in joint if isinstance(h.get("tokens_per_second"), (int, float)))
    return values[len(values) // 2] if values else 0.0


def _time_to(t: Trial, metric: str, target: float) -> float | None:
    seconds = 0.0
    for h in t.row.get("history", []):
        seconds += h.get("epoch_seconds") or 0.0
        if isinstance(h.get(metric), (int, float)) and h[metric] >= target:
            return seconds
    return None


def memory_predictions(trials: list[Trial], out: Path) -> list[str]:
    """The memory model's predicted training peak against the measured one, and the trials it refused."""
    by_id = {t.row["trial_id"]: t for t in trials}
    checks = memory_checks(t.row for t in trials)
    pruned = [t for t in trials if t.status == "PRUNED"]
    if not checks and not pruned:
        return []
    lines = ["## Memory: predicted and measured", ""]
    if checks:
        lines += [
            "Training peak predicted by the memory model before each trial started (± its stated error) and "
            "measured while it trained.",
            "",
            "| trial | method | steps | predicted (MB) | measured (MB) | within the stated error |",
            "|---|---|---|---|---|---|",
        ]
        for row, predicted, error, measured in checks:
            t = by_id[row["trial_id"]]
            within = "yes" if abs(predicted - measured) <= error else "no"
            lines.append(f"| {row['trial_id']} | {t.method} | {t.length} | {predicted:,.0f} ± {error:,.0f} | "
                         f"{measured:,.0f} | {within} |")  # fmt: skip
        points = [(measured, predicted) for _, predicted, _, measured in checks]
        plots.against_identity(out / "memory_model.png", points, xlabel="measured training peak (MB)",
                               ylabel="predicted (MB)", title="Memory model")  # fmt: skip
        lines += ["", "![predicted against measured memory](memory_model.png)", ""]
    if pruned:
        lines += [f"Pruned before they started ({len(pruned)}): " + "; ".join(
            f"{t.row['trial_id']} {t.method} at {t.length} steps" for t in pruned) + ".", ""]  # fmt: skip
    return lines


def learning_curves(trials: list[Trial], out: Path, metric: str, mode: str) -> list[str]:
    shown = rank([t.row for t in trials], metric, mode, statuses=("COMPLETE", "STOPPED"))[:MAX_CURVES]
    series = {  # joint epochs only: pretraining has no supervised signal (its main loss is 0)
        f"{row['trial_id']} {method_of(row['config'])}": [
            (h.get("supervised_epoch", h["epoch"]), h[metric])
            for h in row.get("history", [])
            if h.get("supervised_epoch", h["epoch"]) > 0 and isinstance(h.get(metric), (int, float))
        ]
        for row in shown
    }
    series = {k: v for k, v in series.items() if v}
    if not series:
        return []
    plots.lines(out / "learning_curves.png", series, xlabel="supervised epoch", ylabel=metric,
                title=f"Learning curves (best {len(series)} trials)")  # fmt: skip
    return ["## Learning curves", "", "![learning curves](learning_curves.png)", ""]


def memory_front(trials: list[Trial], out: Path) -> list[str]:
    complete = [t.row for t in trials if t.status == "COMPLETE"]
    accuracy, memory = "val/accuracy", "peak_memory_mb"

    def point(row: dict[str, Any]) -> tuple[float | None, float | None]:
        return objective_value(row, memory), objective_value(row, accuracy)

    points = [point(r) for r in complete if None not in point(r)]
    if len(points) < 2:
        return []
    front = sorted(pareto_front(complete, [(accuracy, "max"), (memory, "min")]), key=point)
    plots.pareto(out / "pareto.png", points, [point(r) for r in front], xlabel="training peak memory (MB)",
                 ylabel="validation accuracy", title="Accuracy against memory")  # fmt: skip
    lines = ["## Accuracy and memory", "", "![Pareto front](pareto.png)", ""]
    lines += ["| trial | method | val/accuracy | peak memory (MB) |", "|---|---|---|---|"]
    for r in front:
        mb, acc = point(r)
        lines.append(f"| {r['trial_id']} | {method_of(r['config'])} | {acc:.4f} | {mb:.0f} |")
    return [*lines, ""]


def importances(sweep: SweepInfo, out: Path) -> list[str]:
    from tuning.importance import param_importances

    try:
        values = param_importances(sweep.path, sweep.data["name"])
    except ValueError as err:
        return ["## Parameter importances", "", f"Not computed: {err}.", ""]
    plots.bars(out / "importances.png", values, xlabel="importance (Optuna's default evaluator, normalised)",
               title=f"What mattered for {sweep.data['objectives'][0]['metric']}")  # fmt: skip
    return ["## Parameter importances", "", "![parameter importances](importances.png)", ""]


def best_configs(trials: list[Trial], metric: str, mode: str, top_k: int) -> list[str]:
    best = rank([t.row for t in trials], metric, mode)[:top_k]
    if not best:
        return []
    lines = [
        f"## Best configurations by {metric}",
        "",
        f"| trial | method | {metric} | test accuracy | searched values | MLflow run |",
        "|---|---|---|---|---|---|",
    ]
    for r in best:
        test = objective_value(r, "test_accuracy")
        values = ", ".join(f"{k}={v}" for k, v in (r.get("params") or {}).items())
        test_text = "-" if test is None else f"{test:.4f}"
        lines.append(
            f"| {r['trial_id']} | {method_of(r['config'])} | {objective_value(r, metric):.4f} | {test_text} | "
            f"{values} | {r.get('mlflow_run_id', '')} |"
        )
    return [*lines, ""]


def _percent(value: float | None) -> float | None:
    return None if value is None else 100 * value


def write_report(sweep: SweepInfo, out: Path, *, top_k: int = 3, target_accuracy: float | None = None) -> list[Path]:
    """Write out/report.md and its figures; returns their paths, the report first."""
    out.mkdir(parents=True, exist_ok=True)
    for name in FIGURES:
        (out / name).unlink(missing_ok=True)  # an earlier report's, which this one may not draw
    trials = load_trials(load_rows(sweep.path))
    objective = sweep.data["objectives"][0]
    metric, mode = objective["metric"], objective["mode"]
    lines = header(sweep, trials)
    lines += replication(trials, metric, mode)
    lines += scaling(trials, out)
    lines += truncation_ablation(trials, out)
    lines += workers_scaling(trials, out, target_accuracy)
    lines += memory_predictions(trials, out)
    lines += learning_curves(trials, out, metric, mode)
    lines += memory_front(trials, out)
    lines += importances(sweep, out)
    lines += best_configs(trials, metric, mode, top_k)
    path = out / "report.md"
    path.write_text(redact("\n".join(lines)))  # it goes to MLflow
    return [path, *(out / name for name in FIGURES if (out / name).exists())]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m study.report", description=__doc__.splitlines()[0])
    parser.add_argument("--sweep", required=True, help="sweep name (under --sweeps-dir) or directory")
    parser.add_argument("--sweeps-dir", default="sweeps", type=Path)
    parser.add_argument("--out", type=Path, help="report directory (default: SWEEP/report)")
    parser.add_argument("--top-k", type=int, default=5, help="best configurations listed (default 5)")
    parser.add_argument(
        "--target-accuracy", type=float, metavar="A",
        help="workers study: time each run takes to reach this accuracy (default: the best accuracy every run reached)",
    )  # fmt: skip
    parser.add_argument("--no-mlflow", dest="mlflow", action="store_false", help="do not log to the parent run")
    args = parser.parse_args(argv)
    if args.top_k < 1:
        parser.error("--top-k must be at least 1")
    if args.target_accuracy is not None and not 0 < args.target_accuracy <= 1:  # a fraction, as the runs report it
        parser.error(f"--target-accuracy must be an accuracy in (0, 1], got {args.target_accuracy:g}")
    try:
        sweep = find_sweep(args.sweep, args.sweeps_dir)
        files = write_report(
            sweep, args.out or sweep.path / "report", top_k=args.top_k, target_accuracy=args.target_accuracy
        )
    except (FileNotFoundError, ConfigError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"report: {files[0]}")
    run_id, uri = sweep.data.get("mlflow_parent_run_id"), sweep.data.get("tracking_uri")
    if args.mlflow and run_id and uri:
        from tuning.tracking import TrackingError, log_paths

        try:
            log_paths(uri, run_id, files, "report")
        except TrackingError as err:
            print(f"error: the report is written, but not logged to MLflow: {err}", file=sys.stderr)
            return 1
        print(f"logged to MLflow run {run_id} under report/")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
