"""A space checked before it runs: every combination of range ends builds a valid config with meaningful
truncations, so every point inside does."""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from typing import Any

from models import MODELS
from study.run.config import ConfigError, RunConfig, config_from_dict, sequence_length
from study.spec.definition import WORKERS, SpecError, config_values
from study.spec.space import Space, implied_overrides

MAX_CORNERS = 4096  # combinations of range ends checked together; beyond that each range is checked alone


def check_ranges(space: Space, base_tree: Mapping[str, Any], fixed: Mapping[str, Any]) -> None:
    """Every combination of range ends (and choices) must give a valid config: then every point inside does.

    Ranges are monotone in what validation checks (a segment fits or not, a truncation is inside the sequence
    or not), so the ends bound the whole range.
    """
    params = space.ordered()
    corners = math.prod(len(p.extremes()) for p in params)
    if corners <= MAX_CORNERS:
        combos = itertools.product(*(p.extremes() for p in params))
        candidates = [dict(zip([p.key for p in params], combo)) for combo in combos]
    else:
        candidates = [{p.key: v} for p in params for v in p.extremes()]
    for candidate in candidates:
        point = space.restrict(candidate)
        values = {**fixed, **config_values(point), **implied_overrides(point, space.base)}
        try:
            cfg = config_from_dict(dict(base_tree), values=values)
            check_truncations(cfg)
        except ConfigError as err:
            key = next((k for k in point if k in str(err)), next(iter(point), "space"))
            role = next(p.role for p in params if p.key == key) if key in point else "fixed"
            raise SpecError(
                f"space.{role}.{key}: the point {point} gives an invalid config: {err}"
            ) from err


def unknown_key(key: str, base: Mapping[str, Any]) -> str:
    """Why `key` cannot be searched, with the keys that can: those of its section, else the sections."""
    section = key.partition(".")[0]
    known = [k.partition(".")[2] for k in base if k.startswith(f"{section}.") and k != WORKERS]
    if known:
        return f"unknown config key {key!r}; valid keys of {section}: {', '.join(known)}"
    return f"unknown config key {key!r}; searchable keys are model.*, aux.*, train.*, data.* and {WORKERS}"


def check_truncations(cfg: RunConfig) -> None:
    """Truncations longer than the sequence mean nothing (the spec's ranges would waste trials)."""
    steps = sequence_length(cfg.data)
    if cfg.train.truncation is not None and cfg.train.truncation > steps:
        raise ConfigError(
            f"train.truncation: {cfg.train.truncation} is longer than the {steps}-step sequence; use at most {steps}, "
            "or null for full BPTT"
        )
    if MODELS[cfg.model.kind].auxiliary and cfg.aux.truncation > steps:
        raise ConfigError(
            f"aux.truncation: {cfg.aux.truncation} is longer than the {steps}-step sequence; use at most {steps}"
        )

