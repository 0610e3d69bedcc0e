"""A sweep's directory and its `sweep.json`: everything needed to resume, export or audit the sweep.

sweeps/NAME/
  sweep.json      what was run: the spec (base config inlined), CLI changes, tracking URI, storage, provenance
  results.json    one row per trial (study.results)
  configs/        each trial's resolved config
  optuna.db       the Optuna study (optuna-dashboard sqlite:///…/optuna.db)
  ray/            Tune and Train state and checkpoints, unless --storage put them elsewhere
  tune-state/     the last complete copy of Tune's state files (tuning.tune_state), for resuming
  asha_rungs.json ASHA's rung records and stops (tuning.resumable_asha), read back on resume
  export/         the best configs and summary, written when the sweep ends
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SWEEP_JSON = "sweep.json"


@dataclass
class SweepInfo:
    path: Path
    data: dict[str, Any]

    def save(self) -> None:
        tmp = self.path / (SWEEP_JSON + ".tmp")
        tmp.write_text(json.dumps(self.data, indent=1, default=str))
        os.replace(tmp, self.path / SWEEP_JSON)


def sweep_path(name_or_path: str, sweeps_dir: Path) -> Path:
    """A name lives under `sweeps_dir`; anything with a slash is a directory of its own."""
    return (Path(name_or_path) if "/" in name_or_path else sweeps_dir / name_or_path).resolve()


def find_sweep(name_or_path: str, sweeps_dir: Path) -> SweepInfo:
    path = sweep_path(name_or_path, sweeps_dir)
    file = path / SWEEP_JSON
    if not file.is_file():
        raise FileNotFoundError(f"no sweep at {path} ({SWEEP_JSON} missing); check --name/--sweep and --sweeps-dir")
    return SweepInfo(path, json.loads(file.read_text()))
