"""Trials ranked by an objective at their last epoch, and the Pareto set of several objectives."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any


def default_mode(metric: str) -> str:
    """The direction a metric is better in, where nothing says: accuracies and throughput up, the rest down."""
    return "max" if metric.endswith("accuracy") or metric == "tokens_per_second" else "min"


def objective_value(row: Mapping[str, Any], metric: str) -> float | None:
    """The trial's value of `metric` at its last epoch (the paper's protocol), None if it has none."""
    value = (row.get("metrics") or {}).get(metric)
    if value is None or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def rank(rows: Iterable[Mapping[str, Any]], metric: str, mode: str, statuses: tuple[str, ...] = ("COMPLETE",)):
    """Rows of the given statuses that have `metric`, best first."""
    scored = [r for r in rows if r.get("status") in statuses and objective_value(r, metric) is not None]
    return sorted(scored, key=lambda r: objective_value(r, metric), reverse=mode == "max")


def pareto_front(rows: Iterable[Mapping[str, Any]], objectives: list[tuple[str, str]]) -> list[Mapping[str, Any]]:
    """The COMPLETE trials no other COMPLETE trial dominates (at least as good in every objective, better in one).

    Trials stopped early never enter: their values are from fewer epochs.
    """

    def signed(row: Mapping[str, Any]) -> tuple[float, ...] | None:
        values = [objective_value(row, m) for m, _ in objectives]
        if any(v is None for v in values):
            return None
        return tuple(v if mode == "max" else -v for v, (_, mode) in zip(values, objectives))

    candidates = [(r, signed(r)) for r in rows if r.get("status") == "COMPLETE"]
    candidates = [(r, s) for r, s in candidates if s is not None]

    def dominated(s: tuple[float, ...]) -> bool:
        return any(all(o >= v for o, v in zip(other, s)) and other != s for _, other in candidates)

    return [r for r, s in candidates if not dominated(s)]

