"""What a study is once its spec is checked: `Study` and its parts, and the point keys that are not config keys."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from study.run.config import ConfigError, RunConfig, config_from_dict
from study.spec.space import Space, implied_overrides

# What every epoch reports (models.loop.fit) and a study may optimise. The test split is never a target.
EPOCH_METRICS = (
    "val/accuracy", "val/loss", "train/loss", "train/loss_main", "train/loss_aux", "train/accuracy",
    "tokens_per_second", "peak_memory_mb", "eval_peak_memory_mb", "epoch_seconds",
)  # fmt: skip
# Point keys that are not config keys: how many workers a trial runs on (searchable), and which trial a
# seed re-run repeats (study.results.seeds).
WORKERS = "resources.workers"
SEED_OF = "seed_of"


class SpecError(ConfigError):
    """A study spec that cannot run; the message names the offending key."""


def is_rerun(row: Mapping[str, Any]) -> bool:
    """Whether a results row is a seed re-run of another trial (`SEED_OF` among its values)."""
    return SEED_OF in (row.get("params") or {})


def config_values(point: Mapping[str, Any]) -> dict[str, Any]:
    """A sampled point without its keys that are not config keys: the config values it sets."""
    return {k: v for k, v in point.items() if k not in (WORKERS, SEED_OF)}


@dataclass(frozen=True)
class Objective:
    metric: str
    mode: Literal["max", "min"]


@dataclass(frozen=True)
class Scheduler:
    kind: Literal["asha", "fifo"] = "asha"
    grace_period: int = 1  # supervised epochs before ASHA may stop a trial (a spec without one: half a trial's)
    reduction_factor: int = 2


@dataclass(frozen=True)
class Resources:
    cpus: float = 1.0  # per worker (a one-worker trial: per trial)
    gpus: float = 0.0  # per worker; fractions (0.25, 0.5) pack several trials on one GPU
    workers: int = 1  # data-parallel Ray Train workers per trial
    placement: str = "pack"  # a trial's workers on as few nodes as possible, or spread over nodes (Ray's strategies)


@dataclass(frozen=True)
class Study:
    name: str
    description: str
    base: Mapping[str, Any]  # the raw config tree, fixed values applied
    space: Space
    points: tuple[dict[str, Any], ...]  # evaluated first, in order
    objectives: tuple[Objective, ...]
    trials: int
    concurrency: int
    scheduler: Scheduler
    resources: Resources
    seed: int
    raw: Mapping[str, Any]  # the spec as read, with the base config inlined: enough to rebuild this study
    exact_points: bool = False  # the study runs its points and nothing else (no `trials` given)

    def config_for(self, point: Mapping[str, Any]) -> RunConfig:
        """The validated config of one sampled point."""
        values = {**config_values(point), **implied_overrides(point, self.space.base)}
        return config_from_dict(dict(self.base), values=values)

    def workers_for(self, point: Mapping[str, Any]) -> int:
        """Data-parallel workers of one sampled point: searched (`resources.workers` in the space) or the spec's."""
        return int(point.get(WORKERS, self.resources.workers))

    @property
    def max_workers(self) -> int:
        searched = [p for p in self.space.params if p.key == WORKERS]
        return max(searched[0].values) if searched else self.resources.workers

    @property
    def max_supervised_epochs(self) -> int:
        epochs = [p for p in self.space.params if p.key == "train.epochs"]
        return int(epochs[0].extremes()[-1]) if epochs else int(self.space.base["train.epochs"])

    @property
    def spec_hash(self) -> str:
        return hashlib.sha256(json.dumps(self.raw, sort_keys=True, default=str).encode()).hexdigest()[:16]
