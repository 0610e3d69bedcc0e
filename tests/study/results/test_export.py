"""`export` ranks only trials that trained every epoch: an ASHA-stopped trial's last value is from fewer epochs.

Such a value can look best (an early, noisy epoch); exporting it would hand users, ranked first, a config whose
score the sweep never measured at the end of training.
"""

from __future__ import annotations

import json

from study.results.export import export
from study.results.sweep_dir import SweepInfo
from study.run.config import flatten, load_config

METRIC = "val/accuracy"


def _row(trial_id: str, status: str, accuracy: float, lr: float, epoch: int) -> dict:
    cfg = load_config(None, [f"train.lr={lr}", "train.epochs=3"])
    metrics = {"epoch": epoch, "epochs": 3, "supervised_epoch": epoch, METRIC: accuracy}
    return {"trial_id": trial_id, "status": status, "params": {"train.lr": lr}, "config": flatten(cfg),
            "metrics": metrics, "history": [metrics], "mlflow_run_id": f"run-{trial_id}"}  # fmt: skip


def _sweep(tmp_path, rows: list[dict]) -> SweepInfo:
    sweep = SweepInfo(tmp_path / "sweep", {
        "name": "s", "study": "check", "objectives": [{"metric": METRIC, "mode": "max"}],
        "data_checksum": "synthetic:0000", "git_commit": "abc", "tracking_uri": "sqlite:///unused.db",
    })  # fmt: skip
    sweep.path.mkdir()
    sweep.save()
    (sweep.path / "results.json").write_text(json.dumps(rows))
    return sweep


def test_a_stopped_trial_with_the_best_last_value_is_neither_ranked_nor_exported(tmp_path):
    rows = [
        _row("fair", "COMPLETE", 0.70, 0.002, epoch=3),
        _row("early", "STOPPED", 0.95, 0.009, epoch=1),  # best value, but after 1 of 3 epochs
        _row("good", "COMPLETE", 0.80, 0.001, epoch=3),
    ]
    out = tmp_path / "export"
    summary = export(_sweep(tmp_path, rows), out, top_k=3)

    assert [e["trial_id"] for e in summary["top"]] == ["good", "fair"]
    assert [e["rank"] for e in summary["top"]] == [1, 2]
    assert sorted(p.name for p in out.glob("*.yaml")) == ["01_good.yaml", "02_fair.yaml"]
    assert "lr: 0.009" not in "".join(p.read_text() for p in out.glob("*.yaml"))
    on_disk = json.loads((out / "summary.json").read_text())
    assert [e["trial_id"] for e in on_disk["top"]] == ["good", "fair"]
    assert on_disk["trials"]["stopped"] == 1  # counted, just not ranked
    assert "| early |" not in (out / "summary.md").read_text()


def test_a_sweep_whose_trials_were_all_stopped_exports_nothing(tmp_path):
    out = tmp_path / "export"
    summary = export(_sweep(tmp_path, [_row("s1", "STOPPED", 0.9, 0.001, 1), _row("s2", "STOPPED", 0.5, 0.002, 2)]),
                     out)  # fmt: skip
    assert summary["top"] == []
    assert list(out.glob("*.yaml")) == []
