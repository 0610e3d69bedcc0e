"""The replication of the paper's Table 2: per cell the sweep covers, its best configuration's test accuracy
over seeds against the published number."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass

from study.reporting.paper import COLUMNS, ROWS, TABLE2
from study.reporting.section import ReportContext, Section
from study.reporting.statistics import Estimate, mean_ci
from study.reporting.trials import Trial, stand_in_of


@dataclass(frozen=True)
class Cell:
    method: str  # Table 2's row
    ran: str  # the method as run: the row, or a downscaled truncation of it ('r-LSTM Truncate50')
    column: str  # Table 2's dataset
    dataset: str  # what ran: the column's dataset or its stand-in
    paper: float
    accuracy: Estimate  # test accuracy (%) over seeds
    runs: tuple[str, ...]  # MLflow run ids


def replication_cells(trials: list[Trial], metric: str, mode: str) -> list[Cell]:
    """Per Table 2 cell the sweep covers: among the configurations of that method and dataset, the one with the
    best mean objective, and its test accuracy over seeds."""
    groups: dict[tuple[str, str, str], dict[tuple, list[Trial]]] = defaultdict(lambda: defaultdict(list))
    complete = [t for t in trials if t.status == "COMPLETE"]
    table_row = table_rows(complete)
    for t in complete:
        column = t.dataset if t.dataset in COLUMNS else stand_in_of(t.dataset)
        row = table_row(t)
        if (row, column) not in TABLE2 or t.last("test_accuracy") is None:
            continue
        setting = tuple(sorted((k, str(v)) for k, v in t.config.items() if k != "train.seed"))
        groups[(row, t.method, column)][setting].append(t)

    def score(group: list[Trial]) -> float:
        values = [t.last(metric) for t in group if t.last(metric) is not None]
        if not values:
            return float("-inf")
        mean = sum(values) / len(values)
        return mean if mode == "max" else -mean

    cells = []
    for (method, ran, column), settings in groups.items():
        best = max(settings.values(), key=score)
        estimate = mean_ci([100 * t.last("test_accuracy") for t in best])
        runs = tuple(t.row.get("mlflow_run_id", "") for t in best)
        cells.append(Cell(method, ran, column, best[0].dataset, TABLE2[(method, column)], estimate, runs))
    order = {name: i for i, name in enumerate(ROWS)}
    return sorted(cells, key=lambda c: (COLUMNS.index(c.column), order[c.method], c.ran))


TRUNCATED = re.compile(r"Truncate\d+$")


def table_rows(complete: list[Trial]):
    """Trial -> Table 2's row: its method, or Truncate300 for the one truncation a downscaled study used in its
    place (the only truncation of that model on that dataset in the sweep; an ablation's many are not mapped)."""
    truncations: dict[tuple[str, str], set[str]] = defaultdict(set)  # (dataset, model) -> truncated methods
    for t in complete:
        if TRUNCATED.search(t.method):
            truncations[(t.dataset, t.method.rsplit(" ", 1)[0])].add(t.method)

    def row(trial: Trial) -> str:
        if truncations.get((trial.dataset, trial.method.rsplit(" ", 1)[0])) == {trial.method}:
            return TRUNCATED.sub("Truncate300", trial.method)
        return trial.method

    return row


def replication(ctx: ReportContext) -> Section:
    """Table 2 of the paper next to this sweep's test accuracies, for the cells the sweep covers."""
    cells = replication_cells(ctx.trials, ctx.metric, ctx.mode)
    if not cells:
        return Section()
    lines = [
        "## Replication of Table 2",
        "",
        "Test accuracy (%) after the last epoch: mean ± half-width of the 95 % confidence interval over seeds "
        f"(Student's t), or one run; per cell the configuration with the best mean {ctx.metric}.",
        "",
        "| method | dataset | paper | ours | ours − paper | MLflow runs |",
        "|---|---|---|---|---|---|",
    ]
    for c in cells:
        dataset = c.column if c.dataset == c.column else f"{c.column} (stand-in: {c.dataset})"
        method = c.method if c.ran == c.method else f"{c.method} (ran as {c.ran})"
        lines.append(
            f"| {method} | {dataset} | {c.paper:.1f} | {c.accuracy.describe()} | "
            f"{c.accuracy.mean - c.paper:+.1f} | {', '.join(r for r in c.runs if r)} |"
        )
    return Section([*lines, ""])
