"""The sweep's parent run as its story: the best objective so far and the trials' ends, one step per trial ended.

Step N is the N-th trial to end (COMPLETE, STOPPED, FAILED or PRUNED), in the order the results table says they
ended. At each step the parent holds `best/METRIC` for every objective (over the COMPLETE trials, the ones that
trained every epoch, as the summary and the export rank them; absent until one exists) and the counts
`trials/complete`, `trials/stopped`, `trials/failed`, `trials/pruned`. The whole series is computed from the table
each time and only the steps MLflow does not hold yet are sent, so a resumed sweep, a driver that died between a
trial's end and this, or MLflow that did not answer for a while, duplicates no step and misses none.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping
from typing import Any

from tuning.naming import COUNT_METRICS, best_metric

# A metric name -> its points as (step, value, timestamp_ms).
Series = dict[str, list[tuple[int, float, int]]]


def ended_rows(rows: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The rows of trials that ended, in the order they ended."""
    ended = [r for r in rows if r.get("status") in COUNT_METRICS]
    return sorted(ended, key=lambda r: r.get("finished") or r.get("started") or 0.0)


def sweep_series(rows: Iterable[Mapping[str, Any]], objectives: list[tuple[str, str]]) -> Series:
    """The parent's curves: best objective so far and counts by status, at step = trials ended so far."""
    series: Series = {name: [] for name in COUNT_METRICS.values()}
    counts = dict.fromkeys(COUNT_METRICS, 0)
    best: dict[str, float] = {}
    for step, row in enumerate(ended_rows(rows), 1):
        stamp = int(1000 * (row.get("finished") or time.time()))
        counts[row["status"]] += 1
        for status, name in COUNT_METRICS.items():
            series[name].append((step, float(counts[status]), stamp))
        for metric, mode in objectives:
            value = (row.get("metrics") or {}).get(metric)
            if row["status"] == "COMPLETE" and _finite(value):
                kept = best.get(metric)
                better = kept is None or (value > kept if mode == "max" else value < kept)
                best[metric] = float(value) if better else kept
            if metric in best:
                series.setdefault(best_metric(metric), []).append((step, best[metric], stamp))
    return series


def trials_ended(rows: Iterable[Mapping[str, Any]]) -> int:
    return len(ended_rows(rows))


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


class ParentLog:
    """Sends a series to the sweep's parent run, only the steps the run does not hold (asked of MLflow once per
    metric, then remembered)."""

    def __init__(self, tracker: Any) -> None:
        self.tracker = tracker
        self._held: dict[str, set[int]] = {}

    def send(self, series: Series) -> int:
        """Log what the parent lacks of `series`; the number of points sent."""
        run_id = self.tracker.parent_id
        if run_id is None:
            return 0
        for name in series:
            if name not in self._held:
                self._held[name] = self.tracker.logged_steps(run_id, name)
        new = [(name, value, stamp, step) for name, points in series.items() for step, value, stamp in points
               if step not in self._held[name]]  # fmt: skip
        if new:
            self.tracker.log_points(run_id, new)
            for name, _, _, step in new:
                self._held[name].add(step)
        return len(new)
