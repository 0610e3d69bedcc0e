"""The report: its sections in order, written as one Markdown file with the figures they drew.

A section is a function of the `ReportContext` that returns a `Section` (its lines and the figures it drew);
adding one is a module and one line in `SECTIONS`. The writer logs exactly the figures the sections returned,
and first removes the figures the directory's previous report linked to, which this one may not draw.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from study.reporting.best import best_configs
from study.reporting.claim import claim
from study.reporting.curves import learning_curves
from study.reporting.importances import importances
from study.reporting.lengths import lengths
from study.reporting.memory import memory_front, memory_predictions
from study.reporting.overview import overview
from study.reporting.replication import replication
from study.reporting.section import ReportContext, Section
from study.reporting.trials import load_trials
from study.reporting.truncation import truncation
from study.reporting.workers import workers
from study.results.sweep_dir import SweepInfo
from study.results.table import load_rows
from tuning.redact import redact

REPORT = "report.md"
REPORT_TOP_K = 5  # best configurations listed, unless asked otherwise
# In the order they appear; each returns an empty Section where the sweep has nothing for it.
SECTIONS: tuple[Callable[[ReportContext], Section], ...] = (
    overview,
    claim,
    replication,
    lengths,
    truncation,
    workers,
    memory_predictions,
    learning_curves,
    memory_front,
    importances,
    best_configs,
)
FIGURE_LINK = re.compile(r"!\[[^\]]*\]\(([^)/]+\.png)\)")  # ![alt](name.png): a figure next to the report


def write_report(sweep: SweepInfo, out: Path, *, top_k: int = 3, target_accuracy: float | None = None) -> list[Path]:
    """Write out/report.md and its figures; returns their paths, the report first."""
    out.mkdir(parents=True, exist_ok=True)
    _remove_previous_figures(out)
    objective = sweep.data["objectives"][0]
    context = ReportContext(
        sweep=sweep, trials=load_trials(load_rows(sweep.path)), metric=objective["metric"], mode=objective["mode"],
        out=out, top_k=top_k, target_accuracy=target_accuracy,
    )  # fmt: skip
    sections = [section(context) for section in SECTIONS]
    lines = [line for s in sections for line in s.lines]
    figures = [figure for s in sections for figure in s.figures]
    path = out / REPORT
    path.write_text(redact("\n".join(lines)))  # it goes to MLflow
    return [path, *figures]


def _remove_previous_figures(out: Path) -> None:
    """An earlier report's figures in `out` (those its report.md links to): this one may not draw them all."""
    previous = out / REPORT
    if previous.is_file():
        for name in FIGURE_LINK.findall(previous.read_text()):
            (out / name).unlink(missing_ok=True)
