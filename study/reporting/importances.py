"""Parameter importances: what mattered for the objective, by Optuna's default evaluator over the complete trials."""

from __future__ import annotations

from study.reporting import plots
from study.reporting.section import ReportContext, Section


def importances(ctx: ReportContext) -> Section:
    """Optuna's importance of each searched parameter for the first objective."""
    from tuning.importance import param_importances

    sweep = ctx.sweep
    try:
        values = param_importances(sweep.path, sweep.data["name"])
    except ValueError as err:
        return Section(["## Parameter importances", "", f"Not computed: {err}.", ""])
    figure = plots.bars(ctx.out / "importances.png", values, title=f"What mattered for {ctx.metric}",
                        xlabel="importance (Optuna's default evaluator, normalised)")
    return Section(["## Parameter importances", "", "![parameter importances](importances.png)", ""], [figure])
