"""Learning curves: the objective per supervised epoch of the best trials."""

from __future__ import annotations

from study.reporting import plots
from study.reporting.paper import method_of
from study.reporting.section import ReportContext, Section
from study.results.ranking import rank

MAX_CURVES = 12  # learning curves drawn: the best trials, so that the legend stays readable


def learning_curves(ctx: ReportContext) -> Section:
    """The objective per supervised epoch of the best trials (those stopped early too)."""
    metric = ctx.metric
    shown = rank([t.row for t in ctx.trials], metric, ctx.mode, statuses=("COMPLETE", "STOPPED"))[:MAX_CURVES]
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
        return Section()
    figure = plots.lines(ctx.out / "learning_curves.png", series, xlabel="supervised epoch", ylabel=metric,
                         title=f"Learning curves (best {len(series)} trials)")  # fmt: skip
    return Section(["## Learning curves", "", "![learning curves](learning_curves.png)", ""], [figure])
