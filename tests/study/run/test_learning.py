"""The method learns: r-LSTM with truncation shorter than the sequence beats chance on real MNIST."""

from __future__ import annotations

import os

import pytest

from data import default_data_dir
from study.run.config import load_config
from study.run.local import run


@pytest.mark.slow
def test_truncated_r_lstm_beats_chance_on_downscaled_mnist(tmp_path):
    # 7x7 pixels = 49 steps; the supervised gradient sees only the last 14 (the bottom two rows).
    cfg = load_config(None, [
        "model.kind=r_lstm", "data.image_size=7", "data.limit_train=3000", "data.limit_eval=1000",
        "data.batch_size=64", "train.truncation=14", "aux.segment_len=20", "aux.truncation=14",
        "aux.pretrain_epochs=0", "train.epochs=4", "train.optimizer=adam", "train.lr=3e-3",
    ])  # fmt: skip
    metrics = run(cfg, tmp_path, data_dir=str(default_data_dir(os.environ.get("AUXLSTM_DATA_DIR"))))
    assert metrics["test_accuracy"] > 0.3  # chance is 0.1; measured 0.50
