"""What a sweep trial is, without Ray: sampled values -> config -> the one run path, described for tracking.

`TrialJob` is handed to the Tune glue in tuning/ (which does not import study/) and pickled into every trial.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from study.config import RunConfig, dump_yaml, flatten
from study.memory import MemoryModel
from study.provenance import command_line
from study.results import ResultsTable
from study.run import run_config
from study.spec import SEED_OF, Study

CONFIGS = "configs"  # sweep_dir/configs/TRIAL.yaml: each trial's resolved config


@dataclass(frozen=True)
class TrialJob:
    study: Study
    data_dir: str
    sweep_dir: str
    memory_model: MemoryModel | None = None  # predicts each trial's peaks (recorded; gates the budget)
    memory_budget_mb: float | None = None  # trials predicted above it are refused before they start

    def predicted(self, params: dict[str, Any], cfg: RunConfig | None = None) -> dict[str, tuple[float, float]]:
        """{peak name: (MB, stated error)} of the trial's config (`cfg`, if resolved already), or {} without a
        model."""
        if self.memory_model is None:
            return {}
        return self.memory_model.predict(flatten(cfg or self.resolve(params)), self.workers(params))

    def refuse(self, params: dict[str, Any]) -> str | None:
        """Why a suggested trial must not start (its predicted training peak is over the budget), or None."""
        peak = self.predicted(params).get("peak_memory_mb")
        if self.memory_budget_mb is None or peak is None or peak[0] <= self.memory_budget_mb:
            return None
        return (f"predicted training peak {peak[0]:,.0f} MB (± {peak[1]:,.0f}) is over the memory budget of "
                f"{self.memory_budget_mb:,.0f} MB")  # fmt: skip

    def resolve(self, params: dict[str, Any]) -> RunConfig:
        return self.study.config_for(params)

    def workers(self, params: dict[str, Any]) -> int:
        return self.study.workers_for(params)

    def run(self, cfg: RunConfig, data_dir: Path, out: Path, **hooks: Any) -> dict[str, Any]:
        return run_config(cfg, data_dir, out, **hooks)

    def results_table(self) -> ResultsTable:
        return ResultsTable(Path(self.sweep_dir))

    def describe(self, trial_id: str, params: dict[str, Any]) -> dict[str, Any]:
        """The trial's resolved config (written to sweep_dir/configs/), a one-line summary, the command that
        trains it again and its extra tracking tags (a seed re-run names its original)."""
        cfg = self.resolve(params)
        path = Path(self.sweep_dir) / CONFIGS / f"{trial_id}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dump_yaml(cfg))
        args = ["--config", str(path), "--out", f"runs/{Path(self.sweep_dir).name}/{trial_id}"]
        workers = self.workers(params)
        if workers > 1:
            args += ["--workers", str(workers)]
        return {
            "config": flatten(cfg),
            "config_path": str(path),
            "summary": summary(params),
            "command": command_line("study.train", args),
            "tags": {"auxlstm.seed_of": params[SEED_OF]} if SEED_OF in params else {},
            **{f"predicted_{k}": [round(mb, 1), round(error, 1)]
               for k, (mb, error) in self.predicted(params, cfg).items()},
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
