"""Memory: the memory model's predictions against the measured peaks, and the accuracy / memory Pareto front."""

from __future__ import annotations

from typing import Any

from study.cost.memory_model import memory_checks
from study.reporting import plots
from study.reporting.paper import method_of
from study.reporting.section import ReportContext, Section
from study.results.ranking import objective_value, pareto_front


def memory_predictions(ctx: ReportContext) -> Section:
    """The memory model's predicted training peak against the measured one, and the trials it refused."""
    trials, figures = ctx.trials, []
    by_id = {t.row["trial_id"]: t for t in trials}
    checks = memory_checks(t.row for t in trials)
    pruned = [t for t in trials if t.status == "PRUNED"]
    if not checks and not pruned:
        return Section()
    lines = ["## Memory: predicted and measured", ""]
    if checks:
        lines += [
            "Training peak predicted by the memory model before each trial started (± its stated error) and "
            "measured while it trained.",
            "",
            "| trial | method | steps | predicted (MB) | measured (MB) | within the stated error |",
            "|---|---|---|---|---|---|",
        ]
        for check in checks:
            t = by_id[check.row["trial_id"]]
            within = "yes" if check.within else "no"
            lines.append(f"| {check.row['trial_id']} | {t.method} | {t.length} | {check.predicted:,.0f} ± "
                         f"{check.error:,.0f} | {check.measured:,.0f} | {within} |")  # fmt: skip
        points = [(check.measured, check.predicted) for check in checks]
        figures.append(plots.against_identity(ctx.out / "memory_model.png", points, title="Memory model",
                                              xlabel="measured training peak (MB)", ylabel="predicted (MB)"))
        lines += ["", "![predicted against measured memory](memory_model.png)", ""]
    if pruned:
        lines += [f"Pruned before they started ({len(pruned)}): " + "; ".join(
            f"{t.row['trial_id']} {t.method} at {t.length} steps" for t in pruned) + ".", ""]  # fmt: skip
    return Section(lines, figures)


def memory_front(ctx: ReportContext) -> Section:
    """Validation accuracy against training peak memory, and the trials no other beats in both."""
    complete = [t.row for t in ctx.trials if t.status == "COMPLETE"]
    accuracy, memory = "val/accuracy", "peak_memory_mb"

    def point(row: dict[str, Any]) -> tuple[float | None, float | None]:
        return objective_value(row, memory), objective_value(row, accuracy)

    points = [point(r) for r in complete if None not in point(r)]
    if len(points) < 2:
        return Section()
    front = sorted(pareto_front(complete, [(accuracy, "max"), (memory, "min")]), key=point)
    figure = plots.pareto(ctx.out / "pareto.png", points, [point(r) for r in front], xlabel="training peak memory (MB)",
                          ylabel="validation accuracy", title="Accuracy against memory")  # fmt: skip
    lines = ["## Accuracy and memory", "", "![Pareto front](pareto.png)", ""]
    lines += ["| trial | method | val/accuracy | peak memory (MB) |", "|---|---|---|---|"]
    for r in front:
        mb, acc = point(r)
        lines.append(f"| {r['trial_id']} | {method_of(r['config'])} | {acc:.4f} | {mb:.0f} |")
    return Section([*lines, ""], [figure])
