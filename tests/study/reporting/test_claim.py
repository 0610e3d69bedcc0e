"""The paper's claim at a sweep's scale: grouped apart from the seed (one run per seed), chosen on the validation
objective, judged on test accuracy by whether 95 % intervals overlap, never across datasets."""

from __future__ import annotations

import pytest

from study.reporting.claim import REFUTED, SUPPORTED, UNDECIDED, judge, seed_free_groups
from study.reporting.statistics import mean_ci
from study.reporting.trials import load_trials
from study.run.config import flatten, load_config

TRUNC = ["train.truncation=1"]
R, P, LSTM = ["model.kind=r_lstm", *TRUNC], ["model.kind=p_lstm", *TRUNC], ["model.kind=lstm", *TRUNC]
FULL = ["model.kind=lstm", "train.truncation=null"]
VAL = [("val/accuracy", "max")]


def _trials(groups, status="COMPLETE", seeds=None):
    """{name: (overrides, [(val, test) per run])} -> report trials; run i has seed seeds[i] (default i)."""
    rows = []
    for name, (overrides, results) in groups.items():
        for i, (val, test) in enumerate(results):
            seed = seeds[i] if seeds else i
            config = flatten(load_config(None, [*overrides, f"train.seed={seed}"]))
            metrics = {"epoch": 3, "val/accuracy": val, "val/loss": 1 - val, "test_accuracy": test}
            rows.append({"trial_id": f"{name}-{i}", "status": status, "config": config, "metrics": metrics,
                         "history": [metrics], "params": {}})  # fmt: skip
    return load_trials(rows)


def _one(trials, objectives=VAL):
    claims = judge(trials, objectives)
    assert len(claims) <= 1
    return claims[0] if claims else None


SEPARATE = {
    "r": (R, [(0.40, 0.41), (0.44, 0.45), (0.42, 0.40)]),
    "l": (LSTM, [(0.11, 0.10), (0.10, 0.11), (0.11, 0.10)]),
    "f": (FULL, [(0.50, 0.52), (0.48, 0.49), (0.51, 0.50)]),
}


def test_intervals_apart_in_the_auxiliary_kinds_favour_support_the_claim_and_the_line_says_the_numbers():
    claim = _one(_trials(SEPARATE))
    assert claim.verdict == SUPPORTED and claim.dataset == "mnist" and claim.metric == "val/accuracy"
    assert claim.auxiliary.method == "r-LSTM Truncate1" and claim.truncated.method == "LSTM Truncate1"
    assert claim.full.method == "LSTM Full BP"
    line = claim.line()
    expected = mean_ci([0.41, 0.45, 0.40])
    assert f"{expected.mean:.3f} ± {expected.half_width:.3f}" in line
    assert line.count("SUPPORTED") == 1 and "LSTM Full BP" in line and "do not overlap" in line
    assert "on mnist" in line and "on val/accuracy" in line and "3 seeds each" in line


def test_overlapping_intervals_leave_it_undecided_and_the_other_way_round_refute_it():
    close = {"r": (R, [(0.40, 0.30), (0.44, 0.50), (0.42, 0.40)]), "l": (LSTM, [(0.3, 0.38), (0.3, 0.41), (0.3, 0.4)])}
    assert _one(_trials(close)).verdict == UNDECIDED
    worse = {"r": (R, [(0.2, 0.10), (0.2, 0.11), (0.2, 0.12)]), "l": (LSTM, [(0.3, 0.40), (0.3, 0.41), (0.3, 0.42)])}
    assert _one(_trials(worse)).verdict == REFUTED


def test_the_auxiliary_kind_is_chosen_on_validation_not_on_test_accuracy_and_a_minimised_one_picks_the_lowest():
    groups = {
        "r": (R, [(0.50, 0.20), (0.50, 0.21), (0.50, 0.22)]),  # best on validation accuracy, worse on test
        "p": (P, [(0.30, 0.60), (0.30, 0.61), (0.30, 0.62)]),
        "l": (LSTM, [(0.1, 0.10), (0.1, 0.11), (0.1, 0.12)]),
    }  # fmt: skip
    assert _one(_trials(groups)).auxiliary.method == "r-LSTM Truncate1"
    by_loss = _one(_trials(groups), [("peak_memory_mb", "min"), ("val/loss", "min")])  # the first val/ objective
    assert by_loss.auxiliary.method == "r-LSTM Truncate1" and by_loss.metric == "val/loss"


def test_no_verdict_without_a_validation_objective():
    assert judge(_trials(SEPARATE), [("train/loss_main", "min")]) == []


def test_no_verdict_without_two_seeds_a_matching_truncation_or_complete_runs_and_the_reference_is_optional():
    one_seed = {"r": (R, [(0.5, 0.5)]), "l": (LSTM, [(0.1, 0.1)])}
    assert _one(_trials(one_seed)) is None
    other_window = {"r": (R, [(0.5, 0.5), (0.5, 0.5)]), "l": (["model.kind=lstm", "train.truncation=5"],
                                                              [(0.1, 0.1), (0.1, 0.12)])}  # fmt: skip
    assert _one(_trials(other_window)) is None
    two = {"r": (R, [(0.5, 0.5), (0.5, 0.52)]), "l": (LSTM, [(0.1, 0.1), (0.1, 0.12)])}
    assert _one(_trials(two, status="STOPPED")) is None
    found = _one(_trials(two))
    assert found is not None and found.full is None and "reference" not in found.line()


def test_a_repeated_seed_counts_once():
    repeated = {"r": (R, [(0.5, 0.50), (0.5, 0.52), (0.5, 0.51)]), "l": (LSTM, [(0.1, 0.1), (0.1, 0.12), (0.1, 0.1)])}
    claim = _one(_trials(repeated, seeds=[0, 1, 1]))
    assert claim.auxiliary.estimate("test_accuracy").n == 2 == claim.truncated.estimate("test_accuracy").n


def test_datasets_are_judged_apart():
    mnist = _trials(SEPARATE)
    pmnist = _trials({
        "r": ([*R, "data.name=pmnist"], [(0.8, 0.80), (0.8, 0.81), (0.8, 0.82)]),
        "l": ([*LSTM, "data.name=pmnist"], [(0.9, 0.88), (0.9, 0.89), (0.9, 0.90)]),  # better than MNIST's r-LSTM
    })  # fmt: skip
    claims = {c.dataset: c for c in judge(mnist + pmnist, VAL)}
    assert claims["mnist"].verdict == SUPPORTED and claims["pmnist"].verdict == REFUTED
    assert claims["mnist"].truncated.config["data.name"] == "mnist"


@pytest.mark.parametrize("seeds", [2, 3])
def test_groups_ignore_only_the_seed(seeds):
    trials = _trials({"a": (R, [(0.5, 0.5)] * seeds), "b": ([*R, "aux.weight=0.5"], [(0.5, 0.5)] * seeds)})
    groups = seed_free_groups(trials, "val/accuracy")
    assert sorted(len(g.trials) for g in groups) == [seeds, seeds]
