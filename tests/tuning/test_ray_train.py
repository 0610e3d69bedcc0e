"""Data-parallel training on a real two-node Ray cluster: equivalence with one worker, and the command line. (A
worker SIGKILLed mid-run: tests/e2e/test_faults.py, inside a sweep trial.)"""

from __future__ import annotations

import json
import os

import pytest

from data import default_data_dir
from data.config import DataConfig
from models import AuxConfig, ModelConfig, TrainConfig
from models.checkpoint import load_checkpoint
from study.run.config import RunConfig
from study.run.runner import run_config
from study.train import main as train_main
from tuning.ray_train import WorkerConfig, run_distributed

pytestmark = pytest.mark.slow


def _config(kind: str, epochs: int, seq_len: int = 40, limit_train: int = 512) -> WorkerConfig:
    cfg = RunConfig(
        model=ModelConfig(kind=kind, d_hidden=16, d_ffn=16, dropconnect=0.0),
        aux=AuxConfig(segment_len=10, truncation=10, pretrain_epochs=0, decoder_units=16),
        train=TrainConfig(epochs=epochs, truncation=10),
        data=DataConfig(name="synthetic", seq_len=seq_len, batch_size=32, limit_train=limit_train, limit_eval=256),
    )
    return WorkerConfig(run=run_config, config=cfg, data_dir=str(default_data_dir(os.environ.get("AUXLSTM_DATA_DIR"))))


def test_two_workers_on_two_nodes_match_one_worker_with_the_same_global_batch(ray_cluster, tmp_path):
    cfg = _config("lstm", epochs=2)
    one = run_distributed(cfg, name="one", storage=str(tmp_path), workers=1)
    two = run_distributed(
        cfg, name="two", storage=str(tmp_path), workers=2, placement_strategy="STRICT_SPREAD",
        download_to=tmp_path / "final.pt",
    )  # fmt: skip
    assert (one["workers"], two["workers"], two["nodes"]) == (1, 2, 2)  # one worker on each node
    assert load_checkpoint(tmp_path / "final.pt")["epoch"] == 2
    # Same examples per global step and averaged gradients: only float summation order differs.
    for key in ("train/loss", "val/loss"):
        assert two[key] == pytest.approx(one[key], rel=1e-4), key
    for key in ("val/accuracy", "test_accuracy"):
        assert abs(two[key] - one[key]) <= 2 / 256, key  # at most a couple of borderline examples flip


def test_cli_runs_two_workers(ray_cluster, tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["--out", str(out), "--workers", "2", "--address", ray_cluster.address, "--shared-storage",
            "--smoke-test", "--set", "data.name=synthetic", "--set", "data.seq_len=40", "--set", "aux.segment_len=10",
            "--set", "aux.truncation=10", "--set", "train.truncation=10"]  # fmt: skip
    assert train_main(argv) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["workers"] == 2 and metrics["epochs"] == 2
    assert (out / "checkpoint.pt").exists() and len(json.loads((out / "history.json").read_text())) == 2
    assert f"results in {out}" in capsys.readouterr().out
