"""A finished sweep's best configs, ready to train again, and a summary of them (Markdown and JSON).

Reads only the sweep directory (its results table and sweep.json): no Ray, no tracking server. Writes one YAML
per exported trial that runs unchanged with `python -m study.train --config FILE`, and a summary with metrics,
MLflow run ids, checkpoint locations, the data checksum and the git commit.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from study.results.ranking import default_mode, objective_value, pareto_front, rank
from study.results.seeds import seed_groups
from study.results.sweep_dir import SweepInfo
from study.results.table import STATUSES, load_rows
from study.run.config import config_from_dict, dump_yaml, unflatten
from study.spec.definition import is_rerun
from tuning.redact import redact


def export(sweep: SweepInfo, out: Path, *, top_k: int = 3, metric: str | None = None, mode: str | None = None):
    """Write the top-k COMPLETE trials' configs and the summary to `out`; returns the summary."""
    rows = load_rows(sweep.path)
    objectives = [(o["metric"], o["mode"]) for o in sweep.data["objectives"]]
    metric = metric or objectives[0][0]
    mode = mode or dict(objectives).get(metric) or default_mode(metric)
    # Configurations re-run with several seeds are ranked by their confidence bound, before any single run.
    groups = {g.origin["trial_id"]: g for g in seed_groups(rows, metric, mode)[:top_k]}
    singles = rank([r for r in rows if not is_rerun(r)], metric, mode)
    best = [g.origin for g in groups.values()] + [r for r in singles if r["trial_id"] not in groups]
    out.mkdir(parents=True, exist_ok=True)
    exported = []
    for i, row in enumerate(best[:top_k], 1):
        cfg = config_from_dict(unflatten(row["config"]))  # validates: what is written trains
        path = out / f"{i:02d}_{row['trial_id']}.yaml"
        path.write_text(redact(dump_yaml(cfg)))
        exported.append(_entry(i, row, path, metric))
        g = groups.get(row["trial_id"])
        if g is not None:
            exported[-1].update(mean=g.mean, std=g.std, bound=g.bound, seeds=g.seeds, seed_trials=list(g.trial_ids))
    summary = {
        "sweep": sweep.data["name"],
        "study": sweep.data["study"],
        "metric": metric,
        "mode": mode,
        "objectives": sweep.data["objectives"],
        "ranked_by": "seed bound" if groups else "last epoch",
        "data_checksum": sweep.data["data_checksum"],
        "git_commit": sweep.data["git_commit"],
        "versions": sweep.data.get("versions", {}),
        "tracking_uri": sweep.data["tracking_uri"],
        "mlflow_parent_run_id": sweep.data.get("mlflow_parent_run_id"),
        "trials": {s.lower(): sum(r["status"] == s for r in rows) for s in STATUSES},
        "top": exported,
    }
    if len(objectives) > 1:
        summary["pareto"] = [_entry(None, r, None, metric) for r in pareto_front(rows, objectives)]
    (out / "summary.json").write_text(redact(json.dumps(summary, indent=1)))
    (out / "summary.md").write_text(redact(markdown(summary)))
    return summary


def _entry(rank_: int | None, row: dict[str, Any], path: Path | None, metric: str) -> dict[str, Any]:
    return {
        "rank": rank_,
        "trial_id": row["trial_id"],
        "config_file": str(path) if path else None,
        "params": row.get("params", {}),
        "config": row.get("config"),  # flat: what the trial ran with
        "objective": objective_value(row, metric),
        "metrics": {k: v for k, v in (row.get("metrics") or {}).items() if isinstance(v, (int, float, str))},
        "mlflow_run_id": row.get("mlflow_run_id"),
        "checkpoint": row.get("checkpoint"),
        "command": row.get("command"),
    }


def markdown(summary: dict[str, Any]) -> str:
    metric = summary["metric"]
    lines = [
        f"# Sweep {summary['sweep']} (study {summary['study']})",
        "",
        f"Ranked by {metric} ({summary['mode']}) at the last epoch"
        + (", by the bound over seeds (below)" if summary.get("ranked_by") == "seed bound" else "")
        + ", over trials that trained every epoch. "
        f"Trials: {', '.join(f'{v} {k}' for k, v in summary['trials'].items())}.",
        f"Data checksum `{summary['data_checksum'][:16]}…`, git commit `{summary['git_commit']}`, "
        f"MLflow `{summary['tracking_uri']}` (parent run `{summary['mlflow_parent_run_id']}`).",
        "",
    ]
    if summary.get("ranked_by") == "seed bound":
        bound = "lower" if summary["mode"] == "max" else "upper"
        lines += [
            "## Seed-robust ranking",
            "",
            f"The best configurations re-run with more seeds, ranked by the one-sided 95 % {bound} bound of the mean "
            f"{metric} (Student's t).",
            "",
            f"| # | trial | searched values | seeds | mean | std | {bound} bound | runs |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for e in (e for e in summary["top"] if "seeds" in e):
            params = ", ".join(f"{k}={_short(v)}" for k, v in e["params"].items())
            lines.append(
                f"| {e['rank']} | {e['trial_id']} | {params} | {e['seeds']} | {e['mean']:.4g} | {e['std']:.3g} | "
                f"{e['bound']:.4g} | {', '.join(e['seed_trials'])} |"
            )
        lines.append("")
    for title, entries in (("Top configurations", summary["top"]), ("Pareto set", summary.get("pareto"))):
        if entries is None:
            continue
        header = f"| # | trial | searched values | {metric} | test accuracy | MLflow run | config |"
        lines += [f"## {title}", "", header, "|---|---|---|---|---|---|---|"]
        for e in entries:
            params = ", ".join(f"{k}={_short(v)}" for k, v in e["params"].items())
            test = e["metrics"].get("test_accuracy")
            lines.append(
                f"| {e['rank'] or ''} | {e['trial_id']} | {params} | {_short(e['objective'])} | {_short(test)} | "
                f"{e['mlflow_run_id']} | {Path(e['config_file']).name if e['config_file'] else ''} |"
            )
        lines.append("")
    if summary["top"]:
        command = f"python -m study.train --config {summary['top'][0]['config_file']} --out runs/best"
        lines += ["Train the best again:", "", "```sh", command, "```", ""]
    return "\n".join(lines)


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else "" if value is None else str(value)

