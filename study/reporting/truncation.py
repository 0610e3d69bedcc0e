"""The truncation ablation: test accuracy against `train.truncation` (full BPTT plotted at the length)."""

from __future__ import annotations

from study.reporting import plots
from study.reporting.section import ReportContext, Section
from study.reporting.trials import Trial, labeller, percent, series


def truncation(ctx: ReportContext) -> Section:
    """Test accuracy against the supervised truncation, per method (and length, in a length study)."""
    complete = [t for t in ctx.trials if t.status == "COMPLETE" and t.last("test_accuracy") is not None]
    if len({t.config.get("train.truncation") for t in complete}) < 2:
        return Section()

    def kind(t: Trial) -> str:
        name = t.method.split(" ")[0]
        return f"{name}, auxiliary weight 0" if t.config.get("aux.weight") == 0 and name != "LSTM" else name

    label = labeller(complete, kind)
    if len({t.length for t in complete}) > 1:  # a length study varies truncation too: one series per length
        label = labeller(complete, lambda t: f"{kind(t)} at {t.length} steps")

    def steps(t: Trial) -> int:
        value = t.config.get("train.truncation")
        return t.length if value is None else value  # full BPTT reaches every step

    points = series(complete, steps, lambda t: percent(t.last("test_accuracy")), label)
    figure = plots.lines(ctx.out / "truncation.png", points, xlabel="train.truncation (steps; full BPTT at the length)",
                         ylabel="test accuracy (%)", title="Truncation ablation")  # fmt: skip
    return Section(["## Truncation", "", "![accuracy against truncation](truncation.png)", ""], [figure])
