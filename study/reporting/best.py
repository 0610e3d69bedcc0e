"""The best configurations by the objective."""

from __future__ import annotations

from study.reporting.paper import method_of
from study.reporting.section import ReportContext, Section
from study.results.ranking import objective_value, rank


def best_configs(ctx: ReportContext) -> Section:
    """The top-k COMPLETE trials by the objective, with their searched values and MLflow runs."""
    metric = ctx.metric
    best = rank([t.row for t in ctx.trials], metric, ctx.mode)[:ctx.top_k]
    if not best:
        return Section()
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
    return Section([*lines, ""])
