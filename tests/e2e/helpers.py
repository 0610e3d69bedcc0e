"""What the end-to-end tests share: a tiny spec, a sweep driver run as its own process, and reading back what it
left in MLflow, Optuna's storage and the results table."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import optuna
import yaml
from mlflow.tracking import MlflowClient

from tuning.naming import ROLE_TAG, SWEEP_ROLE, TRIAL_ROLE

TINY = {
    "base": "quickstart.yaml",
    "space": {
        "scientific": {"model.kind": {"choice": ["lstm", "r_lstm"]}},
        "nuisance": {"train.lr": {"float": [1.0e-3, 1.0e-2], "log": True}},
        "fixed": {"train.epochs": 3, "data.limit_train": 512, "data.limit_eval": 256, "aux.segment_len": 20},
    },
    "scheduler": {"kind": "fifo"},
    "concurrency": 2,
}


def joined(cluster, *args: str) -> list[str]:
    """`python -m study.sweep ARGS` joined to `cluster`: its nodes share this machine's disk, so a sweep that starts
    (one with --study or --smoke-test; a resume keeps its own) says its storage is shared."""
    shared = ["--shared-storage"] if {"--study", "--smoke-test"} & set(args) else []
    return [sys.executable, "-m", "study.sweep", "--address", cluster.address, *shared, *args]


def sweep(cwd: Path, cluster, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """`python -m study.sweep ARGS` run to its end in `cwd`, joined to `cluster`."""
    return subprocess.run(
        joined(cluster, *args),
        cwd=cwd, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def write_spec(tmp_path: Path, name: str, **changes) -> Path:
    """A spec file: `TINY` named `name`, with top-level keys replaced by `changes`."""
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump({"name": name, **TINY, **changes}))
    return path


def runs(uri: str, experiment: str) -> tuple[list, list]:
    """The experiment's parent runs and trial runs."""
    client = MlflowClient(uri)
    found = client.get_experiment_by_name(experiment)
    everything = client.search_runs([found.experiment_id], max_results=100)
    parents = [r for r in everything if r.data.tags.get(ROLE_TAG) == SWEEP_ROLE]
    children = [r for r in everything if r.data.tags.get(ROLE_TAG) == TRIAL_ROLE]
    return parents, children


def optuna_states(sweep_dir: Path, name: str) -> list[str]:
    study = optuna.load_study(study_name=name, storage=f"sqlite:///{sweep_dir / 'optuna.db'}")
    return [t.state.name for t in study.trials]


def results(sweep_dir: Path) -> list[dict]:
    """The sweep's results rows ([] until the first is written, or while the file is replaced)."""
    try:
        return json.loads((sweep_dir / "results.json").read_text())
    except (OSError, ValueError):
        return []
