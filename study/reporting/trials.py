"""The trials a report reads: each results row with what the report derives from its config (method, length,
dataset, workers), and the grouping of trials into plotted series."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from study.reporting.paper import method_of
from study.results.ranking import objective_value
from study.results.table import peak
from study.run.config import ConfigError, config_from_dict, sequence_length, unflatten
from study.spec.definition import WORKERS

OUT_OF_MEMORY = ("out of memory", "outofmemory", "memoryerror", "cannot allocate memory")


@dataclass(frozen=True)
class Trial:
    """One row of the results table with what the report derives from its config."""

    row: dict[str, Any]
    config: dict[str, Any]  # flat, dotted keys
    method: str  # in the paper's words
    length: int  # steps of the longest example

    @property
    def status(self) -> str:
        return self.row.get("status", "RUNNING")

    @property
    def did_not_fit(self) -> bool:
        return self.status == "FAILED" and any(s in (self.row.get("reason") or "").lower() for s in OUT_OF_MEMORY)

    @property
    def dataset(self) -> str:
        return self.config["data.name"]

    def last(self, metric: str) -> float | None:
        return objective_value(self.row, metric)

    def peak(self, metric: str) -> float | None:
        return peak(self.row, metric)

    @property
    def workers(self) -> int:
        """Data-parallel workers: reported by multi-worker runs, else searched, else one."""
        reported = self.last("workers")
        return int(reported or (self.row.get("params") or {}).get(WORKERS, 1))

    @property
    def ms_per_step(self) -> float | None:
        tokens_per_second = self.last("tokens_per_second")
        if not tokens_per_second:
            return None
        return 1e3 * self.config["data.batch_size"] * self.length / tokens_per_second


def load_trials(rows: Iterable[dict[str, Any]]) -> list[Trial]:
    trials = []
    for row in rows:
        config = row.get("config")
        if not config:
            continue  # a trial that never started has no config recorded
        try:
            length = sequence_length(config_from_dict(unflatten(config)).data)
        except ConfigError:
            length = 0
        trials.append(Trial(row, config, method_of(config), length))
    return trials


def stand_in_of(dataset: str) -> str | None:
    from data import DATASETS

    return DATASETS[dataset].stands_in_for if dataset in DATASETS else None


def labeller(trials: list[Trial], base: Callable[[Trial], str] = lambda t: t.method) -> Callable[[Trial], str]:
    """Series labels: `base`, with the dataset added when the trials span several (never averaged together)."""
    if len({t.dataset for t in trials}) > 1:
        return lambda t: f"{base(t)} on {t.dataset}"
    return base


def series(trials: list[Trial], x, y, label=lambda t: t.method) -> dict[str, list[tuple[float, float]]]:
    """Per label, the (x, y) points of the trials where both are known and y is positive (log axes)."""
    points: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for t in trials:
        xv, yv = x(t), y(t)
        if xv is not None and yv is not None and yv > 0:
            points[label(t)].append((xv, yv))
    return dict(points)


def percent(value: float | None) -> float | None:
    """A fraction as a percentage (None stays None)."""
    return None if value is None else 100 * value

