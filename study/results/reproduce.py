"""An exported trial trained again and compared with the original: metric, config, data and code.

The run uses the config's own seed (and the next N-1 seeds), then checks:

- the metric (the sweep's objective, or another): the reproduced mean must lie within the tolerance of the
  original, else within two standard deviations of the seed spread the original sweep measured (its seed re-runs),
  else of the spread measured here (two or more seeds), else within `DEFAULT_TOLERANCE`;
- the config: the YAML against the config the trial ran with;
- the data: the checksum of the prepared dataset here against the sweep's;
- the code: git commit and library versions against those recorded with the sweep (reported, not failed).
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from study.run.config import ConfigError, flatten, load_config

DEFAULT_TOLERANCE = 0.01


@dataclass(frozen=True)
class Original:
    entry: dict[str, Any]  # the trial's entry in summary.json
    summary: dict[str, Any]
    config_file: Path


def find_original(target: Path, trial: str | None) -> Original:
    """The exported trial `target` names: an export directory (rank 1 or `trial`) or one of its YAML files."""
    directory = target if target.is_dir() else target.parent
    summary_file = directory / "summary.json"
    if not summary_file.is_file():
        raise FileNotFoundError(f"{summary_file} is missing: reproduce reads an export written by study.export")
    summary = json.loads(summary_file.read_text())
    entries = summary.get("top") or []
    if target.is_file():
        entries = [e for e in entries if e.get("config_file") and Path(e["config_file"]).name == target.name]
    elif trial:
        entries = [e for e in entries if e["trial_id"] == trial]
    if not entries:
        what = target.name if target.is_file() else f"trial {trial}" if trial else "any trial"
        raise FileNotFoundError(f"{summary_file} has no exported entry for {what}")
    entry = entries[0]
    config_file = target if target.is_file() else directory / Path(entry["config_file"]).name
    return Original(entry, summary, config_file)


def seed_spread(original: Original, metric: str) -> bool:
    """Whether the export holds the original's mean and std over seeds of `metric` (its sweep's objective)."""
    return metric == original.summary["metric"] and original.entry.get("std") is not None


def allowed_deviation(
    original: Original, metric: str, reproduced: list[float], tolerance: float | None
) -> tuple[float, str]:  # fmt: skip
    """How far the reproduced mean may lie from the original, and why that far."""
    if tolerance is not None:
        return tolerance, "the stated tolerance"
    if seed_spread(original, metric):
        return 2 * original.entry["std"], f"2 x the std of the original's {original.entry['seeds']} seeds"
    if len(reproduced) >= 2:
        return 2 * statistics.stdev(reproduced), f"2 x the std of the {len(reproduced)} seeds run here"
    return DEFAULT_TOLERANCE, "no seed spread known (give --seeds N or --tolerance)"


def config_differences(config: dict[str, Any], ran: dict[str, Any] | None) -> list[str]:
    if ran is None:
        return []
    keys = sorted(set(config) | set(ran))
    return [f"{k}: {ran.get(k)!r} -> {config.get(k)!r}" for k in keys if config.get(k) != ran.get(k)]


def data_difference(recorded: str, name: str, here: str) -> str | None:
    """The recorded checksum of dataset `name` ('name:sha name2:sha …') against this machine's."""
    sums = dict(part.split(":", 1) for part in recorded.split() if ":" in part)
    theirs = sums.get(name)
    if theirs == here:
        return None
    return f"{name}: sweep {theirs or 'not recorded'}, here {here}"


def provenance_differences(summary: dict[str, Any]) -> list[str]:
    from study.run.provenance import git_commit, library_versions

    notes = []
    commit = git_commit()
    if summary.get("git_commit") != commit:
        notes.append(f"git commit: sweep {summary.get('git_commit')}, here {commit}")
    ours = library_versions()
    for name, version in sorted((summary.get("versions") or {}).items()):
        if ours.get(name) != version:
            notes.append(f"{name}: sweep {version}, here {ours.get(name)}")
    return notes


def reproduce(target: Path, *, trial: str | None, seeds: int, metric: str | None, tolerance: float | None,
              out: Path | None, data_dir: Path) -> dict[str, Any]:  # fmt: skip
    from study.run.provenance import data_checksum
    from study.run.runner import run_config

    original = find_original(target, trial)
    metric = metric or original.summary["metric"]
    want = original.entry["mean"] if seed_spread(original, metric) else original.entry["metrics"].get(metric)
    if want is None:
        raise ConfigError(f"--metric: the export holds no {metric} for trial {original.entry['trial_id']}")
    cfg = load_config(original.config_file)
    out = out or original.config_file.parent / f"reproduce-{original.entry['trial_id']}"
    values = []
    for i in range(seeds):
        seeded = load_config(original.config_file, [f"train.seed={cfg.train.seed + i}"])
        last: dict[str, Any] = {}  # the last epoch's metrics, as a sweep records them (test accuracy included)
        run_config(seeded, data_dir, out / f"seed{seeded.train.seed}", on_epoch=last.update)
        if metric not in last:
            raise ConfigError(f"--metric: a run reports no {metric}; it reports {', '.join(sorted(last))}")
        values.append(last[metric])
    mean = sum(values) / len(values)
    allowed, why = allowed_deviation(original, metric, values, tolerance)
    config_diff = config_differences(flatten(cfg), original.entry.get("config"))
    data_diff = data_difference(original.summary.get("data_checksum", ""), cfg.data.name,
                                data_checksum(cfg.data, data_dir))  # fmt: skip
    result = {
        "trial_id": original.entry["trial_id"], "config_file": str(original.config_file), "metric": metric,
        "original": want, "reproduced": values, "mean": mean, "difference": mean - want, "allowed": allowed,
        "allowed_because": why, "metric_reproduced": abs(mean - want) <= allowed + 1e-12,
        "config_differences": config_diff, "data_difference": data_diff,
        "provenance_differences": provenance_differences(original.summary),
    }  # fmt: skip
    result["reproduced_ok"] = result["metric_reproduced"] and not config_diff and data_diff is None
    out.mkdir(parents=True, exist_ok=True)
    (out / "reproduce.json").write_text(json.dumps(result, indent=1))
    return result


def describe(result: dict[str, Any]) -> list[str]:
    verdict = "REPRODUCED" if result["reproduced_ok"] else "DIFFERENT"
    values = ", ".join(f"{v:.4f}" for v in result["reproduced"])
    lines = [
        f"{verdict}: trial {result['trial_id']} ({result['config_file']})",
        f"  {result['metric']}: original {result['original']:.4f}, reproduced {values} (mean {result['mean']:.4f}); "
        f"difference {result['difference']:+.4f}, allowed ±{result['allowed']:.4f} ({result['allowed_because']})",
    ]
    for title, items in (("config differs", result["config_differences"]),
                         ("data differs", [result["data_difference"]] if result["data_difference"] else []),
                         ("provenance differs (not failed)", result["provenance_differences"])):  # fmt: skip
        lines += [f"  {title}: {item}" for item in items]
    return lines

