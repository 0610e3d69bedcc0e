"""Named scales of a spec (`scales.NAME`, chosen with --scale): the spec laid over with a downscaled variant."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from study.spec.definition import SpecError
from study.spec.domains import ROLES
from study.spec.settings import mapping

# What a named scale may change; mappings merge into the spec's, the rest replace.
SCALE_KEYS = ("description", "set", "base", "space", "points", "trials", "concurrency", "scheduler", "resources")


def apply_scale(raw: Mapping[str, Any], scale: str | None) -> dict[str, Any]:
    """The spec at a named scale, self-contained (no `scales` left, so a stored copy rebuilds it as run).

    `scales.SCALE` is laid over the spec: mappings merge key by key, other values replace. Its `set` fixes config
    keys as `--set` does (they leave the space; points that disagree are dropped), and its `description` says what
    was scaled down; it leads the study's description, and the name becomes NAME-SCALE, so every output says so.
    """
    scales = raw.get("scales", {})
    if not isinstance(scales, Mapping) or not all(isinstance(v, Mapping) for v in scales.values()):
        raise SpecError("scales: expected a mapping of scale names to spec changes")
    for name, overlay in scales.items():
        unknown = sorted(set(overlay) - set(SCALE_KEYS))
        if unknown:
            raise SpecError(f"scales.{name}.{unknown[0]}: unknown; valid: {', '.join(SCALE_KEYS)}")
    spec = {k: v for k, v in raw.items() if k != "scales"}
    if scale is None:
        return spec
    if scale not in scales:
        known = ", ".join(sorted(scales)) or "none"
        raise SpecError(f"--scale: study {raw.get('name')!r} has no scale {scale!r}; its scales: {known}")
    overlay = scales[scale]
    spec = _merged(spec, {k: v for k, v in overlay.items() if k not in ("set", "description", "space")})
    fixed = dict(mapping(overlay.get("set"), f"scales.{scale}.set"))
    space = {role: dict(mapping(entries, f"space.{role}")) for role, entries in spec.get("space", {}).items()}
    for role, entries in mapping(overlay.get("space"), f"scales.{scale}.space").items():
        # A domain is replaced whole: {choice: …} over {float: …, log: …} must not keep `log`.
        space[role] = {**space.get(role, {}), **mapping(entries, f"scales.{scale}.space.{role}")}
    for role in ROLES:
        for key in fixed:
            space.get(role, {}).pop(key, None)
    space["fixed"] = {**space.get("fixed", {}), **fixed}
    spec["space"] = space
    if isinstance(spec.get("points"), list):
        spec["points"] = [
            {k: v for k, v in point.items() if k not in fixed}
            for point in spec["points"]
            if not (isinstance(point, Mapping) and any(k in fixed and point[k] != fixed[k] for k in point))
        ]
    spec["name"] = f"{spec.get('name')}-{scale}"
    spec["description"] = f"[scale {scale}] {overlay.get('description', '').strip()}\n{spec.get('description', '')}"
    return spec


def _merged(base: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in changes.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merged(merged[key], value)
        else:
            merged[key] = value
    return merged

