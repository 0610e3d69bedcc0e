"""The sweep's Optuna study names its objectives after their metrics, so optuna-dashboard's charts read
'val/accuracy' rather than 'Objective 0' (a real SQLite storage, the searcher the sweep builds)."""

from __future__ import annotations

import dataclasses

import optuna

from study.spec.parse import parse_study
from tests.study.spec.samples import VALID
from tuning.tune_sweep import SweepPlan, _searcher

PLAN = SweepPlan(
    name="named", sweep_dir=None, storage="/tmp", space=parse_study(VALID).space, points=[],
    objectives=[("val/accuracy", "max")], scheduler="fifo", grace_period=1, reduction_factor=2,
    max_supervised_epochs=4, trials=4, concurrency=1, cpus=1.0, gpus=0.0, workers=1, seed=0, job=None, tracker=None,
)  # fmt: skip


def _stored(tmp_path, name: str) -> optuna.Study:
    return optuna.load_study(study_name=name, storage=f"sqlite:///{tmp_path / 'optuna.db'}")


def test_the_stored_study_names_its_objectives_single_and_multi(tmp_path):
    _searcher(dataclasses.replace(PLAN, sweep_dir=tmp_path))
    assert _stored(tmp_path, "named").metric_names == ["val/accuracy"]
    objectives = [("val/accuracy", "max"), ("peak_memory_mb", "min")]
    _searcher(dataclasses.replace(PLAN, sweep_dir=tmp_path, name="multi", objectives=objectives, scheduler="fifo"))
    assert _stored(tmp_path, "multi").metric_names == ["val/accuracy", "peak_memory_mb"]
    _searcher(dataclasses.replace(PLAN, sweep_dir=tmp_path))  # a resumed sweep builds it again: unchanged
    assert _stored(tmp_path, "named").metric_names == ["val/accuracy"]
