"""The memory model refitted online to the sweep's own measured trials (`study.cost.online_refit`): its stated
error shrinks as they come in, and the budget gate decides with it."""

from __future__ import annotations

import random

import pytest

from study.cost.memory_model import TRAIN_FEATURES, MemoryModel, PeakModel, config_features
from study.cost.online_refit import REFIT_MIN
from study.driver.job import TrialJob
from study.results.table import ResultsTable
from study.run.config import flatten
from study.spec.parse import parse_study
from tests.study.spec.samples import VALID

STUDY = parse_study(VALID)
TRUTH = {"supervised": 40.0, "auxiliary": 30.0, "decoder": 20.0, "logits": 4.0, "attention": 0.0, "tokens": 8.0,
         "parameters": 16.0}  # fmt: skip
# A model fitted elsewhere that overestimates this sweep's peaks twice over, and says so (±60 %).
START = MemoryModel(PeakModel("peak_memory_mb", "cpu", TRAIN_FEATURES, 200.0,
                              tuple(2 * TRUTH[n] for n in TRAIN_FEATURES), 0.6, 30), None)  # fmt: skip


def sampled(rng: random.Random) -> dict:
    return {"model.kind": rng.choice(["lstm", "r_lstm", "p_lstm"]), "aux.segment_len": rng.randint(25, 150),
            "aux.truncation": rng.randint(10, 196), "aux.anchors": rng.randint(1, 4),
            "train.truncation": rng.randint(25, 196), "aux.weight": 1.0, "train.lr": 1e-3}  # fmt: skip


def measured_peak(job: TrialJob, params: dict) -> float:
    values = config_features(flatten(job.resolve(params)), "cpu")
    return 100.0 + sum(TRUTH[n] * values[n] for n in TRAIN_FEATURES)


def test_the_sweeps_measured_trials_refit_the_model_and_the_budget_gate_uses_the_refit(tmp_path, capsys):
    rng = random.Random(0)
    held_out = {**sampled(rng), "model.kind": "r_lstm"}
    truth = measured_peak(TrialJob(study=STUDY, data_dir="", sweep_dir=str(tmp_path)), held_out)
    job = TrialJob(study=STUDY, data_dir="", sweep_dir=str(tmp_path), memory_model=START,
                   memory_budget_mb=1.2 * truth)  # fmt: skip
    table = ResultsTable(tmp_path)
    stated, wrong, refused = [], [], []
    for i in range(REFIT_MIN + 8):
        prediction = job.predicted(held_out)["peak_memory_mb"]
        stated.append(prediction.error / prediction.mb)
        wrong.append(abs(prediction.mb - truth) / truth)
        refused.append(job.refuse(held_out) is not None)
        params = sampled(rng)
        history = [{"epoch": 1, "device": "cpu", "peak_memory_mb": measured_peak(job, params)}]
        # Stopped early by ASHA or finished: both measured whole training steps. A failed one is not used.
        status = ["COMPLETE", "STOPPED", "FAILED"][i % 3]
        table.update(f"t{i}", status=status, config=flatten(job.resolve(params)), history=history)
    # The predictions made once REFIT_MIN trials had measured peaks (two in three rows).
    measured = [i for i in range(len(stated)) if sum(j % 3 != 2 for j in range(i)) >= REFIT_MIN]
    assert len(measured) >= 2
    assert stated[0] == 0.6 and wrong[0] > 0.5 and refused[0]  # the start model's: it refuses a config that fits
    assert all(stated[i] < 0.02 and wrong[i] < 0.01 for i in measured)  # within the 8 MB floor of the error
    assert not any(refused[i] for i in measured)  # the gate now lets it start
    assert all(stated[i] == 0.6 for i in range(len(stated)) if i not in measured)  # not before enough were measured
    assert "memory: model refitted to 9 of this sweep's trials: training peak within 0% (the model in use stated 60%)" \
        in capsys.readouterr().out  # fmt: skip


def test_a_refit_that_states_a_larger_error_than_the_start_model_is_not_used(tmp_path):
    sure = MemoryModel(PeakModel(**{**START.train.__dict__, "relative_error": 0.0}), None)  # claims to be exact
    job = TrialJob(study=STUDY, data_dir="", sweep_dir=str(tmp_path), memory_model=sure)
    table, rng = ResultsTable(tmp_path), random.Random(1)
    for i in range(REFIT_MIN + 1):
        params = sampled(rng)
        noisy = measured_peak(job, params) * (1.3 if i % 2 else 0.7)
        table.update(f"t{i}", status="COMPLETE", config=flatten(job.resolve(params)),
                     history=[{"epoch": 1, "device": "cpu", "peak_memory_mb": noisy}])  # fmt: skip
    assert job.predicted(sampled(rng))["peak_memory_mb"].error == pytest.approx(8.0)  # the floor: the model it had
    assert job.refit.measured == REFIT_MIN + 1 and job.refit.current is None


if __name__ == "__main__":
    # The refit over a finished sweep's trials in the order they started, each predicted from the trials before
    # it (BENCHMARKS.md): python -m tests.study.cost.test_online_refit sweeps/SWEEP
    import json
    import statistics
    import sys
    from pathlib import Path

    from study.cost.memory_model import default_model
    from study.cost.online_refit import OnlineRefit
    from study.results.table import peak

    rows = sorted(json.loads((Path(sys.argv[1]) / "results.json").read_text()), key=lambda r: r.get("started", 0))
    refit, stated, within, errors = OnlineRefit(MemoryModel.load(default_model("cpu"))), [], [], []
    for i, row in enumerate(rows):
        prediction = refit.model(rows[:i]).predict(row["config"])["peak_memory_mb"]
        measured = peak(row, "peak_memory_mb")
        stated.append(f"{prediction.error / prediction.mb:.0%}")
        if refit.current is not None and measured:
            within.append(abs(prediction.mb - measured) <= prediction.error)
            errors.append(abs(prediction.mb - measured) / measured)
    print("stated error per trial, in start order:", " ".join(stated))
    print(f"refitted predictions: {sum(within)} of {len(within)} within their stated error; median error "
          f"{statistics.median(errors):.0%}, largest {max(errors):.0%}")  # fmt: skip
