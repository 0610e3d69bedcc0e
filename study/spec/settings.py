"""The parts of a spec besides its space: objectives, scheduler, resources, and the checks of plain values."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from study.spec.definition import EPOCH_METRICS, Objective, Resources, Scheduler, SpecError


def mapping(raw: Any, where: str) -> Mapping[str, Any]:
    """A spec part that must be a mapping ({} when absent)."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise SpecError(f"{where}: expected a mapping of dotted config keys, got {raw!r}")
    return raw


def positive_int(value: Any, where: str) -> int:
    """A count of at least 1 (booleans are not counts)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise SpecError(f"{where}: expected a whole number >= 1, got {value!r}")
    return value


def whole_int(value: Any, where: str) -> int:
    """A whole number (a seed)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise SpecError(f"{where}: expected a whole number, got {value!r}")
    return value


def objectives(raw: Mapping[str, Any]) -> tuple[Objective, ...]:
    """`objective` (one) or `objectives` (several): known epoch metrics, never the test split, each once."""
    if "objective" in raw and "objectives" in raw:
        raise SpecError("objectives: give either objective (one) or objectives (a list), not both")
    if "objectives" in raw:
        items, where = raw["objectives"], "objectives"
        if not isinstance(items, list) or not items:
            raise SpecError("objectives: expected a non-empty list of {metric, mode}")
    else:
        items, where = [raw.get("objective", {"metric": "val/accuracy", "mode": "max"})], "objective"
    goals = []
    for i, item in enumerate(items):
        at = f"{where}[{i}]" if where == "objectives" else where
        if not isinstance(item, Mapping) or set(item) - {"metric", "mode"}:
            raise SpecError(f"{at}: expected {{metric: NAME, mode: max|min}}, got {item!r}")
        metric, mode = item.get("metric"), item.get("mode")
        if metric in ("test_accuracy", "test/accuracy"):
            raise SpecError(f"{at}.metric: the test split is never a selection target; use val/accuracy")
        if metric not in EPOCH_METRICS:
            raise SpecError(f"{at}.metric: unknown metric {metric!r}; known: {', '.join(EPOCH_METRICS)}")
        if mode not in ("max", "min"):
            raise SpecError(f"{at}.mode: expected max or min, got {mode!r}")
        goals.append(Objective(metric, mode))
    if len({o.metric for o in goals}) != len(goals):
        raise SpecError(f"{where}: a metric appears twice")
    return tuple(goals)


def scheduler(raw: Any, goals: tuple[Objective, ...]) -> Scheduler:
    """`scheduler`: ASHA (one objective only) or FIFO, with ASHA's grace period and reduction factor."""
    if not isinstance(raw, Mapping):
        raise SpecError(f"scheduler: expected a mapping such as {{kind: asha}}, got {raw!r}")
    unknown = sorted(set(raw) - {"kind", "grace_period", "reduction_factor"})
    if unknown:
        raise SpecError(f"scheduler.{unknown[0]}: unknown; valid: kind, grace_period, reduction_factor")
    default = "asha" if len(goals) == 1 else "fifo"
    kind = raw.get("kind", default)
    if kind not in ("asha", "fifo"):
        raise SpecError(f"scheduler.kind: expected asha or fifo, got {kind!r}")
    if kind == "asha" and len(goals) > 1:
        # ASHA would stop trials on one metric, and Optuna would record them COMPLETE with early values.
        raise SpecError("scheduler.kind: a multi-objective study runs without early stopping; use fifo")
    # Without one, the study's half of a trial's supervised epochs (parse: `_grace_checked`), measured on the replay
    # bench: at 1 epoch of 4, ASHA stopped trials on a value with no rank correlation to their last (BENCHMARKS.md).
    grace = positive_int(raw["grace_period"], "scheduler.grace_period") if "grace_period" in raw else 0
    factor = positive_int(raw.get("reduction_factor", 2), "scheduler.reduction_factor")
    if factor < 2:
        raise SpecError(f"scheduler.reduction_factor: must be >= 2, got {factor}")
    return Scheduler(kind, grace, factor)


# Where a trial's Ray Train workers go (Ray's placement strategies): as few nodes as possible (fast collectives),
# spread where it can, or each on a node of its own.
PLACEMENTS = ("pack", "spread", "strict_spread")


def resources(raw: Any) -> Resources:
    """`resources`: CPUs and GPUs per worker (a fraction of one GPU at most 1), data-parallel workers and their
    placement over the cluster's nodes."""
    if not isinstance(raw, Mapping):
        raise SpecError(f"resources: expected a mapping {{cpus, gpus, workers, placement}}, got {raw!r}")
    unknown = sorted(set(raw) - {"cpus", "gpus", "workers", "placement"})
    if unknown:
        raise SpecError(f"resources.{unknown[0]}: unknown; valid: cpus, gpus, workers, placement")
    cpus, gpus = raw.get("cpus", 1), raw.get("gpus", 0)
    for key, value in (("cpus", cpus), ("gpus", gpus)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise SpecError(f"resources.{key}: expected a number >= 0, got {value!r}")
    if cpus <= 0:
        raise SpecError(f"resources.cpus: must be above 0 (a trial needs some CPU), got {cpus!r}")
    if gpus > 1 and not float(gpus).is_integer():
        raise SpecError(f"resources.gpus: a fraction of a GPU must be at most 1 (Ray's rule), got {gpus}")
    workers = positive_int(raw.get("workers", 1), "resources.workers")
    placement = raw.get("placement", "pack")
    if placement not in PLACEMENTS:
        raise SpecError(f"resources.placement: expected one of {', '.join(PLACEMENTS)}, got {placement!r}")
    return Resources(float(cpus), float(gpus), workers, placement)

