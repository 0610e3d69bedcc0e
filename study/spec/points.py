"""The points a study evaluates first: the spec's list, a grid of choice parameters, or the base config's values."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

from study.run.config import ConfigError
from study.spec.definition import SpecError, Study
from study.spec.domains import Param


def first_points(
    raw: Any, study: Study, cli: Mapping[str, Any], fixed: Mapping[str, Any]
) -> tuple[dict[str, Any], ...]:
    """The points evaluated first: the spec's, else the base config's values of the searched keys."""
    space = study.space
    if raw is None:
        base_point = {p.key: space.base[p.key] for p in space.params if p.contains(space.base[p.key])}
        return (space.restrict(base_point),) if base_point else ()
    keys = {p.key: p for p in space.params}
    if isinstance(raw, Mapping):
        raw = grid(raw, keys, fixed)
    if not isinstance(raw, list):
        raise SpecError(f"points: expected a list of {{KEY: VALUE}} mappings or {{grid: [KEYS]}}, got {raw!r}")
    points = []
    for i, point in enumerate(raw):
        if not isinstance(point, Mapping):
            raise SpecError(f"points[{i}]: expected a mapping of searched keys to values, got {point!r}")
        if any(k in cli and point[k] != cli[k] for k in point):
            continue  # a CLI change fixed this key to another value
        point = {k: v for k, v in point.items() if k not in cli}
        for key, value in point.items():
            if key not in keys:
                raise SpecError(f"points[{i}].{key}: not a searched key; searched: {', '.join(keys)}")
            if not keys[key].contains(value):
                raise SpecError(f"points[{i}].{key}: {value!r} is outside the space {keys[key].domain()}")
        # A searched key the point leaves out takes its base value, not a value Optuna would sample for it.
        point = {**{p.key: space.base[p.key] for p in space.params if p.contains(space.base[p.key])}, **point}
        try:
            study.config_for(space.restrict(point))
        except ConfigError as err:
            raise SpecError(f"points[{i}]: {err}") from err
        restricted = space.restrict(point)
        if restricted not in points:  # grid points that differ only in keys that do not apply
            points.append(restricted)
    return tuple(points)


def grid(raw: Mapping[str, Any], keys: Mapping[str, Param], fixed: Mapping[str, Any]) -> list[dict[str, Any]]:
    """`points: {grid: [KEY, ...]}`: every combination of the listed choice parameters, first key slowest. Keys
    that a scale or --set fixed take their one value."""
    if set(raw) != {"grid"} or not isinstance(raw["grid"], list) or not raw["grid"]:
        raise SpecError(f"points: expected {{grid: [KEY, ...]}} naming searched choice parameters, got {raw!r}")
    listed = [key for key in raw["grid"] if key not in fixed]
    for key in listed:
        if key not in keys or keys[key].kind != "choice":
            choices = ", ".join(k for k, p in keys.items() if p.kind == "choice") or "none"
            raise SpecError(f"points.grid: {key!r} is not a searched choice parameter; the searched choices: {choices}")
    return [dict(zip(listed, combo)) for combo in itertools.product(*(keys[k].values for k in listed))]

