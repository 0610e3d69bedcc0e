"""The memory model: its fit recovers known coefficients, and it predicts held-out measured runs within its error."""

from __future__ import annotations

import os

import numpy as np
import pytest

from study.cost.fresh_process import in_fresh_processes
from study.cost.memory_model import TRAIN_FEATURES, MemoryModel, features, fit_peak
from study.run.config import flatten, load_config


def test_the_fit_recovers_known_coefficients_and_states_its_leave_one_out_error():
    rng = np.random.default_rng(0)
    truth = {"supervised": 40.0, "auxiliary": 30.0, "decoder": 20.0, "logits": 4.0, "attention": 0.0, "tokens": 8.0,
             "parameters": 16.0}
    runs = []
    for _ in range(20):
        values = {n: float(rng.uniform(0, 5)) for n in TRAIN_FEATURES}
        runs.append((values, 100.0 + sum(truth[n] * values[n] for n in TRAIN_FEATURES)))
    model = fit_peak(runs, "peak_memory_mb", "cpu")
    assert model.intercept == pytest.approx(100.0, rel=1e-6)
    assert dict(zip(model.names, model.coef)) == pytest.approx(truth, abs=1e-6)
    assert model.relative_error < 1e-6
    noisy = [(v, mb * (1.1 if i % 2 else 0.9)) for i, (v, mb) in enumerate(runs)]  # ±10 % measurement noise
    assert 0.1 < fit_peak(noisy, "peak_memory_mb", "cpu").relative_error < 0.5
    with pytest.raises(ValueError, match="cannot fit"):
        fit_peak(runs[:5], "peak_memory_mb", "cpu")


def test_full_bptt_features_grow_with_length_and_truncated_ones_do_not():
    flat = flatten(load_config(None, ["model.kind=r_lstm", "data.name=mnist"]))
    short, long = features(flat, 1024, 1, "cpu"), features(flat, 16384, 1, "cpu")
    assert short["supervised"] == long["supervised"] and short["decoder"] == long["decoder"]
    full = {**flat, "train.truncation": None}
    assert features(full, 16384, 1, "cpu")["supervised"] == 16 * features(full, 1024, 1, "cpu")["supervised"]
    checkpointed = {**full, "train.checkpoint_chunk": "sqrt"}
    assert features(checkpointed, 16384, 1, "cpu")["supervised"] == 4 * features(checkpointed, 1024, 1, "cpu")[
        "supervised"]  # fmt: skip
    assert features({**flat, "train.precision": "bf16"}, 1024, 1, "cpu")["supervised"] == short["supervised"] / 2


def _measured(settings: list[str]) -> dict:
    """One short training run on synthetic sequences, in this (fresh) process, on one thread (another runs beside
    it): its results row."""
    import tempfile
    from pathlib import Path

    import torch

    torch.set_num_threads(1)

    from data import default_data_dir
    from study.run.runner import run_config

    cfg = load_config(None, settings)
    history: list[dict] = []
    with tempfile.TemporaryDirectory() as out:
        run_config(cfg, default_data_dir(os.environ.get("AUXLSTM_DATA_DIR")), Path(out), on_epoch=history.append)
    return {"status": "COMPLETE", "config": flatten(cfg), "history": history}


def _settings(batch, length, kind, truncation, segment=100):
    return [
        "data.name=synthetic", f"data.seq_len={length}", f"data.batch_size={batch}", f"data.limit_train={4 * batch}",
        "data.limit_eval=128", "train.eval_batch_size=64", f"model.kind={kind}", "train.epochs=1",
        f"train.truncation={'null' if truncation is None else truncation}", "aux.pretrain_epochs=0",
        f"aux.segment_len={segment}", "aux.truncation=50",
    ]  # fmt: skip


FIT = [(16, 200, "lstm", 50), (64, 200, "lstm", None), (32, 400, "lstm", None), (64, 400, "lstm", 100),
       (16, 400, "r_lstm", 50), (64, 200, "r_lstm", 50), (32, 400, "r_lstm", None), (64, 800, "lstm", None),
       (8, 800, "lstm", None), (32, 800, "r_lstm", 50)]  # fmt: skip
HELD_OUT = [(48, 600, "lstm", None), (48, 300, "r_lstm", 50), (24, 800, "lstm", 100)]


@pytest.mark.slow
def test_a_model_fitted_to_measured_runs_predicts_held_out_runs_within_its_stated_error():
    rows = in_fresh_processes(_measured, [(_settings(*run),) for run in FIT + HELD_OUT])  # two at a time
    model = MemoryModel.fit(rows[: len(FIT)], "cpu")
    assert model.train.runs == len(FIT) and model.eval is not None
    measured_full = rows[1]["history"][-1]["peak_memory_mb"]
    assert measured_full > 50, "full BPTT at 64 x 200 steps should need tens of MB: the measurement is broken"
    for row in rows[len(FIT):]:
        predicted, measured = model.predict(row["config"])["peak_memory_mb"], row["history"][-1]["peak_memory_mb"]
        assert abs(predicted.mb - measured) <= predicted.error, (row["config"]["model.kind"], predicted, measured)


def test_fit_and_predict_from_the_command_line(tmp_path, capsys):
    import json

    from study.cost.memory_model import config_features
    from study.memory import main

    rows = []
    for batch in (8, 16, 32, 64):
        for kind, truncation in (("lstm", None), ("lstm", 50), ("r_lstm", 50)):
            settings = ["data.name=mnist", "data.image_size=14", f"model.kind={kind}", "aux.segment_len=100",
                        f"data.batch_size={batch}", f"train.truncation={truncation or 'null'}"]  # fmt: skip
            flat = flatten(load_config(None, settings))
            values = config_features(flat, "cpu")
            peak = 20 + 30 * values["supervised"] + 50 * values["decoder"]  # a known linear truth
            rows.append({"status": "COMPLETE", "config": flat,
                         "history": [{"peak_memory_mb": peak, "eval_peak_memory_mb": 10.0, "device": "cpu"}]})
    sweep = tmp_path / "measured"
    sweep.mkdir()
    (sweep / "sweep.json").write_text(json.dumps({"name": "measured"}))
    (sweep / "results.json").write_text(json.dumps(rows))
    assert main(["fit", "--sweep", str(sweep), "--out", str(tmp_path / "model.json")]) == 0
    assert "peak_memory_mb: 12 runs, leave-one-out error up to 0%" in capsys.readouterr().out
    settings = ["--set", "data.name=mnist", "--set", "data.image_size=14", "--set", "data.batch_size=128",
                "--set", "model.kind=r_lstm", "--set", "aux.segment_len=100"]  # fmt: skip
    assert main(["predict", "--model", str(tmp_path / "model.json"), *settings]) == 0
    flat = flatten(load_config(None, [s for s in settings if s != "--set"]))
    values = config_features(flat, "cpu")
    expected = 20 + 30 * values["supervised"] + 50 * values["decoder"]
    assert f"peak_memory_mb: {expected:,.0f} MB ± 8" in capsys.readouterr().out
    assert main(["predict", "--model", str(tmp_path / "missing.json")]) == 2
