"""What a sweep trial is, without Ray: sampled values -> config -> the one run path, described for tracking.

`TrialJob` is handed to the Tune glue in tuning/ (which does not import study/) and pickled into every trial.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from study.config import RunConfig, dump_yaml, flatten
from study.provenance import command_line
from study.results import ResultsTable
from study.run import run_config
from study.spec import Study

CONFIGS = "configs"  # sweep_dir/configs/TRIAL.yaml: each trial's resolved config


@dataclass(frozen=True)
class TrialJob:
    study: Study
    data_dir: str
    sweep_dir: str

    def resolve(self, params: dict[str, Any]) -> RunConfig:
        return self.study.config_for(params)

    def run(self, cfg: RunConfig, data_dir: Path, out: Path, **hooks: Any) -> dict[str, Any]:
        return run_config(cfg, data_dir, out, **hooks)

    def results_table(self) -> ResultsTable:
        return ResultsTable(Path(self.sweep_dir))

    def describe(self, trial_id: str, params: dict[str, Any]) -> dict[str, Any]:
        """The trial's resolved config (written to sweep_dir/configs/), a one-line summary and the command that
        trains it again."""
        cfg = self.resolve(params)
        path = Path(self.sweep_dir) / CONFIGS / f"{trial_id}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dump_yaml(cfg))
        args = ["--config", str(path), "--out", f"runs/{Path(self.sweep_dir).name}/{trial_id}"]
        if self.study.resources.workers > 1:
            args += ["--workers", str(self.study.resources.workers)]
        return {
            "config": flatten(cfg),
            "config_path": str(path),
            "summary": summary(params),
            "command": command_line("study.train", args),
        }


def summary(params: dict[str, Any]) -> str:
    """Searched values in a short form for run names, e.g. 'r_lstm aux.weight=0.31 aux.segment_len=64'."""
    parts = []
    for key, value in params.items():
        if key == "model.kind":
            parts.insert(0, str(value))
        else:
            parts.append(f"{key}={value:.3g}" if isinstance(value, float) else f"{key}={value}")
    return " ".join(parts)
