"""`study.reproduce` on an export of a sweep made here: it passes when nothing changed and says what did."""

from __future__ import annotations

import json
import os

import pytest
import yaml

from data import default_data_dir
from study.reproduce import main
from study.results.export import export
from study.results.sweep_dir import SweepInfo
from study.run.config import flatten, load_config
from study.run.runner import run_config

SETTINGS = [
    "data.name=synthetic", "data.seq_len=40", "data.limit_train=256", "data.limit_eval=128", "model.kind=lstm",
    "model.d_hidden=16", "model.d_ffn=16", "train.epochs=1", "train.truncation=10",
]  # fmt: skip


@pytest.fixture()
def exported(tmp_path):
    """A one-trial sweep directory (its trial trained here) and its export."""
    from study.run.provenance import data_checksum, git_commit, library_versions

    data_dir = default_data_dir(os.environ.get("AUXLSTM_DATA_DIR"))
    cfg = load_config(None, SETTINGS)
    metrics: dict = {}  # the last epoch's, as a sweep's results table holds them
    run_config(cfg, data_dir, tmp_path / "original", on_epoch=metrics.update)
    row = {"trial_id": "t1", "status": "COMPLETE", "params": {"train.lr": cfg.train.lr}, "config": flatten(cfg),
           "metrics": metrics, "history": [metrics], "mlflow_run_id": "run-t1"}  # fmt: skip
    sweep = SweepInfo(tmp_path / "sweep", {
        "name": "made-here", "study": "check", "objectives": [{"metric": "val/accuracy", "mode": "max"}],
        "data_checksum": f"synthetic:{data_checksum(cfg.data, data_dir)}", "git_commit": git_commit(),
        "versions": library_versions(), "tracking_uri": "sqlite:///unused.db",
    })  # fmt: skip
    sweep.path.mkdir()
    (sweep.path / "results.json").write_text(json.dumps([row]))
    export(sweep, tmp_path / "export")
    return tmp_path / "export", metrics


def _result(out):
    return json.loads((out / "reproduce.json").read_text())


def test_an_unchanged_export_reproduces_exactly(exported, tmp_path, capsys):
    export_dir, metrics = exported
    assert main([str(export_dir), "--out", str(tmp_path / "again")]) == 0
    result = _result(tmp_path / "again")
    assert result["reproduced"] == [metrics["val/accuracy"]] and result["difference"] == 0
    assert result["config_differences"] == [] and result["data_difference"] is None
    assert "REPRODUCED: trial t1" in capsys.readouterr().out


def test_a_changed_config_a_changed_dataset_and_a_metric_outside_the_spread_are_reported(exported, tmp_path):
    export_dir, metrics = exported
    checksum = json.loads((export_dir / "summary.json").read_text())["data_checksum"]  # the sweep's own data
    (config_file,) = export_dir.glob("01_*.yaml")
    tree = yaml.safe_load(config_file.read_text())
    tree["train"]["lr"] = 0.01
    edited = export_dir / "01_edited.yaml"
    edited.write_text(yaml.safe_dump(tree))
    summary = json.loads((export_dir / "summary.json").read_text())
    summary["top"].append({**summary["top"][0], "config_file": str(edited)})
    summary["data_checksum"] = "synthetic:0000"
    (export_dir / "summary.json").write_text(json.dumps(summary))
    assert main([str(edited), "--out", str(tmp_path / "edited")]) == 1
    result = _result(tmp_path / "edited")
    assert result["config_differences"] == ["train.lr: 0.001 -> 0.01"]
    assert result["data_difference"].startswith("synthetic: sweep 0000, here ")

    # The original's seed spread decides: 2 std of 0.001 cannot hold a shift of 0.05; 2 std of 0.05 can.
    summary = json.loads((export_dir / "summary.json").read_text())
    for std, expected in ((0.001, 1), (0.05, 0)):
        entry = {**summary["top"][0], "mean": metrics["val/accuracy"] + 0.05, "std": std, "seeds": 3}
        fixed = {**summary, "top": [entry], "data_checksum": checksum}
        (export_dir / "summary.json").write_text(json.dumps(fixed))
        assert main([str(export_dir), "--out", str(tmp_path / f"spread{std}")]) == expected
        assert _result(tmp_path / f"spread{std}")["allowed_because"] == "2 x the std of the original's 3 seeds"
    assert main([str(export_dir), "--tolerance", "0.06", "--out", str(tmp_path / "tolerant")]) == 0
    # Another metric is compared with the original run's own value, not with the objective's mean over seeds.
    assert main([str(export_dir), "--metric", "test_accuracy", "--out", str(tmp_path / "test")]) == 0
    assert _result(tmp_path / "test")["original"] == metrics["test_accuracy"]


def test_an_export_without_its_summary_is_refused_naming_the_file(tmp_path, capsys):
    (tmp_path / "01_x.yaml").write_text("model: {kind: lstm}\n")
    assert main([str(tmp_path / "01_x.yaml")]) == 2
    assert f"{tmp_path / 'summary.json'} is missing" in capsys.readouterr().err
