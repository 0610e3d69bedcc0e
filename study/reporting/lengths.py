"""Sequence length: accuracy, training and evaluation peak memory and step time against length, with power
laws fitted to each cost (0: flat, 1: linear)."""

from __future__ import annotations

from study.reporting import plots
from study.reporting.section import ReportContext, Section
from study.reporting.statistics import PowerLaw, fit_power_law
from study.reporting.trials import Trial, labeller, percent, series


def fits_by_method(trials: list[Trial], value) -> dict[str, PowerLaw]:
    """Per series (method, and dataset where several), the power law of `value` against length."""
    points = series(trials, lambda t: t.length, value, labeller(trials))
    return {m: fit_power_law(*zip(*p)) for m, p in points.items() if len({x for x, _ in p}) >= 2}


def lengths(ctx: ReportContext) -> Section:
    """Accuracy and costs against sequence length, with power laws fitted to the costs."""
    trials, out = ctx.trials, ctx.out
    complete = [t for t in trials if t.status == "COMPLETE" and t.length]
    if len({t.length for t in complete}) < 2:
        return Section()
    figures = []
    lines = ["## Sequence length", ""]
    series_label = labeller(complete)
    accuracy = series(complete, lambda t: t.length, lambda t: percent(t.last("test_accuracy")), series_label)
    if accuracy:
        figures.append(plots.lines(out / "accuracy_vs_length.png", accuracy, xlabel="sequence length (steps)",
                                   ylabel="test accuracy (%)", title="Accuracy against length"))  # fmt: skip
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
        points = series(complete, lambda t: t.length, value, series_label)
        if not points:
            continue
        shown = {m: (f, f"exponent {f.describe()}") for m, f in fits.items()}
        title = f"{label[0].upper()}{label[1:]} against length (log-log)"
        figures.append(plots.lines(out / file, points, xlabel="sequence length (steps)", ylabel=label, log=True,
                                   fits=shown, title=title))  # fmt: skip
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
            measured = sorted({t.length for t in complete if series_label(t) == m})
            lines.append(f"| {m} | " + " | ".join(cells) + f" | {', '.join(map(str, measured))} |")
        lines.append("")
    unfit = sorted({(t.method, t.length) for t in trials if t.did_not_fit})
    if unfit:
        lines += ["Did not fit in memory: " + ", ".join(f"{m} at {n} steps" for m, n in unfit) + ".", ""]
    return Section(lines, figures)
