"""The paper's claim at a sweep's scale: grouped apart from the seed, chosen on validation, judged on test accuracy
by whether 95 % intervals overlap."""

from __future__ import annotations

import pytest

from study.reporting.claim import REFUTED, SUPPORTED, UNDECIDED, judge, seed_free_groups
from study.reporting.statistics import mean_ci
from study.reporting.trials import load_trials
from study.run.config import flatten, load_config

TRUNC = ["train.truncation=1"]
R, P, LSTM = ["model.kind=r_lstm", *TRUNC], ["model.kind=p_lstm", *TRUNC], ["model.kind=lstm", *TRUNC]
FULL = ["model.kind=lstm", "train.truncation=null"]


def _trials(groups, status="COMPLETE"):
    """{name: (overrides, [(val, test) per seed])} -> report trials, seeds 0.. per group."""
    rows = []
    for name, (overrides, results) in groups.items():
        for seed, (val, test) in enumerate(results):
            config = flatten(load_config(None, [*overrides, f"train.seed={seed}"]))
            metrics = {"epoch": 3, "val/accuracy": val, "test_accuracy": test}
            rows.append({"trial_id": f"{name}-{seed}", "status": status, "config": config, "metrics": metrics,
                         "history": [metrics], "params": {}})  # fmt: skip
    return load_trials(rows)


def test_intervals_apart_in_the_auxiliary_kinds_favour_support_the_claim_and_the_line_says_the_numbers():
    trials = _trials({
        "r": (R, [(0.40, 0.41), (0.44, 0.45), (0.42, 0.40)]),
        "l": (LSTM, [(0.11, 0.10), (0.10, 0.11), (0.11, 0.10)]),
        "f": (FULL, [(0.50, 0.52), (0.48, 0.49), (0.51, 0.50)]),
    })  # fmt: skip
    claim = judge(trials, "val/accuracy", "max")
    assert claim.verdict == SUPPORTED
    assert claim.auxiliary.method == "r-LSTM Truncate1" and claim.truncated.method == "LSTM Truncate1"
    assert claim.full.method == "LSTM Full BP"
    line = claim.line()
    expected = mean_ci([0.41, 0.45, 0.40])
    assert f"{expected.mean:.3f} ± {expected.half_width:.3f}" in line
    assert line.count("SUPPORTED") == 1 and "LSTM Full BP" in line and "do not overlap" in line


def test_overlapping_intervals_leave_it_undecided_and_the_other_way_round_refute_it():
    close = {"r": (R, [(0.40, 0.30), (0.44, 0.50), (0.42, 0.40)]), "l": (LSTM, [(0.3, 0.38), (0.3, 0.41), (0.3, 0.4)])}
    assert judge(_trials(close), "val/accuracy", "max").verdict == UNDECIDED
    worse = {"r": (R, [(0.2, 0.10), (0.2, 0.11), (0.2, 0.12)]), "l": (LSTM, [(0.3, 0.40), (0.3, 0.41), (0.3, 0.42)])}
    assert judge(_trials(worse), "val/accuracy", "max").verdict == REFUTED


def test_the_auxiliary_kind_is_chosen_on_validation_not_on_test_accuracy():
    trials = _trials({
        "r": (R, [(0.50, 0.20), (0.50, 0.21), (0.50, 0.22)]),  # best on validation, worse on test
        "p": (P, [(0.30, 0.60), (0.30, 0.61), (0.30, 0.62)]),
        "l": (LSTM, [(0.1, 0.10), (0.1, 0.11), (0.1, 0.12)]),
    })  # fmt: skip
    assert judge(trials, "val/accuracy", "max").auxiliary.method == "r-LSTM Truncate1"


def test_no_verdict_without_two_seeds_a_matching_truncation_or_complete_runs():
    one_seed = {"r": (R, [(0.5, 0.5)]), "l": (LSTM, [(0.1, 0.1)])}
    assert judge(_trials(one_seed), "val/accuracy", "max") is None
    other_window = {"r": (R, [(0.5, 0.5), (0.5, 0.5)]), "l": (["model.kind=lstm", "train.truncation=5"],
                                                              [(0.1, 0.1), (0.1, 0.12)])}  # fmt: skip
    assert judge(_trials(other_window), "val/accuracy", "max") is None
    two = {"r": (R, [(0.5, 0.5), (0.5, 0.52)]), "l": (LSTM, [(0.1, 0.1), (0.1, 0.12)])}
    assert judge(_trials(two, status="STOPPED"), "val/accuracy", "max") is None
    assert judge(_trials(two), "val/accuracy", "max") is not None


@pytest.mark.parametrize("seeds", [2, 3])
def test_groups_ignore_only_the_seed(seeds):
    trials = _trials({"a": (R, [(0.5, 0.5)] * seeds), "b": ([*R, "aux.weight=0.5"], [(0.5, 0.5)] * seeds)})
    groups = seed_free_groups(trials, "val/accuracy")
    assert sorted(len(g.trials) for g in groups) == [seeds, seeds]
