"""Data-parallel workers: throughput, speed-up, efficiency and time to a target accuracy per worker count."""

from __future__ import annotations

from collections import defaultdict

from study.reporting import plots
from study.reporting.section import ReportContext, Section
from study.reporting.trials import Trial


def workers(ctx: ReportContext) -> Section:
    """Throughput and time to a target accuracy per worker count, for configurations run on several counts."""
    complete = [t for t in ctx.trials if t.status == "COMPLETE"]
    target = ctx.target_accuracy
    groups: dict[tuple, list[Trial]] = defaultdict(list)
    for t in complete:
        groups[tuple(sorted((k, str(v)) for k, v in t.config.items()))].append(t)
    groups = {k: g for k, g in groups.items() if len({t.workers for t in g}) > 1}
    if not groups:
        return Section()
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
    figure = plots.lines(ctx.out / "workers.png", series, xlabel="data-parallel workers", ylabel="tokens per second",
                         title="Throughput against workers")  # fmt: skip
    return Section([*lines, "", "![throughput against workers](workers.png)", ""], [figure])


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
