"""Stand-ins: a spec with every dataset that cannot be had here replaced by the one that stands in for it."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any


def swap_datasets(raw: Mapping[str, Any], swaps: Mapping[str, str]) -> dict[str, Any]:
    """A scaled spec (no `scales`) with every `data.name` value in `swaps` replaced, and the replacement said
    first in its description: the base, fixed values, choices and points."""

    def swap(value: Any) -> Any:
        return swaps.get(value, value) if isinstance(value, str) else value

    spec = copy.deepcopy(dict(raw))
    base = spec.get("base")
    if isinstance(base, dict) and isinstance(base.get("data"), dict) and "name" in base["data"]:
        base["data"]["name"] = swap(base["data"]["name"])
    for role, entries in (spec.get("space") or {}).items():
        if isinstance(entries, dict) and "data.name" in entries:
            domain = entries["data.name"]
            if role == "fixed":
                entries["data.name"] = swap(domain)
            elif isinstance(domain, dict) and isinstance(domain.get("choice"), list):
                domain["choice"] = list(dict.fromkeys(swap(v) for v in domain["choice"]))
    if isinstance(spec.get("points"), list):
        spec["points"] = [
            {k: swap(v) if k == "data.name" else v for k, v in point.items()} if isinstance(point, dict) else point
            for point in spec["points"]
        ]
    said = ", ".join(f"{new} stands in for {old}" for old, new in swaps.items())
    spec["description"] = f"[stand-in: {said}, which cannot be had here] {spec.get('description', '')}"
    return spec

