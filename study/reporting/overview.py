"""The report's opening: what was run, and which trials the fits and tables below leave out, with why."""

from __future__ import annotations

from study.reporting.section import ReportContext, Section
from study.results.table import STATUSES


def overview(ctx: ReportContext) -> Section:
    """The sweep: its study, command, provenance and trial counts, and the trials left out of what follows."""
    data, trials = ctx.sweep.data, ctx.trials
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
    return Section(lines)
