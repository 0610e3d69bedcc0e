"""Seed-robust selection: which re-runs are asked for, how configurations are grouped and ranked by their bound."""

from __future__ import annotations

import math

import pytest

from study.results.seeds import seed_groups, seed_points


def _row(trial_id, value, *, seed=0, origin=None, status="COMPLETE", lr=1e-3):
    params = {"train.lr": lr, **({"train.seed": seed, "seed_of": origin} if origin else {})}
    return {"trial_id": trial_id, "status": status, "params": params,
            "config": {"train.lr": lr, "train.seed": seed}, "metrics": {"val/accuracy": value}}  # fmt: skip


def test_a_stable_configuration_outranks_a_lucky_one_off_and_its_bound_is_the_t_bound():
    rows = [
        _row("stable", 0.80), _row("s1", 0.81, seed=1, origin="stable"), _row("s2", 0.79, seed=2, origin="stable"),
        _row("lucky", 0.95, lr=1e-2), _row("l1", 0.40, seed=1, origin="lucky", lr=1e-2),
        _row("l2", 0.45, seed=2, origin="lucky", lr=1e-2),
        _row("alone", 0.99, lr=5e-3),  # one run: its spread is unknown, so it is not ranked by a bound
        _row("failed", 0.99, seed=3, origin="stable", status="FAILED"),
    ]  # fmt: skip
    groups = seed_groups(rows, "val/accuracy", "max")
    assert [g.origin["trial_id"] for g in groups] == ["stable", "lucky"]
    stable = groups[0]
    assert stable.seeds == 3 and stable.trial_ids == ("stable", "s1", "s2")
    assert stable.mean == pytest.approx(0.80) and stable.std == pytest.approx(0.01)
    # t(0.95, 2 degrees of freedom) = 2.919986
    assert stable.bound == pytest.approx(0.80 - 2.919986 * 0.01 / math.sqrt(3), abs=1e-6)
    assert groups[1].mean == pytest.approx(0.60) and groups[1].bound < groups[1].mean
    # Minimising: the upper bound, lowest first.
    losses = seed_groups([{**r, "metrics": {"val/loss": 1 - r["metrics"]["val/accuracy"]}} for r in rows],
                         "val/loss", "min")  # fmt: skip
    assert [g.origin["trial_id"] for g in losses] == ["stable", "lucky"]
    assert losses[0].bound == pytest.approx(0.20 + 2.919986 * 0.01 / math.sqrt(3), abs=1e-6)


def test_seed_points_bring_the_top_k_originals_to_n_seeds_and_skip_finished_re_runs():
    rows = [_row("a", 0.9, lr=1e-2), _row("b", 0.8), _row("c", 0.7, lr=1e-4),
            _row("a1", 0.85, seed=1, origin="a", lr=1e-2),
            _row("b1", 0.1, seed=1, origin="b", status="FAILED")]  # fmt: skip
    points = seed_points(rows, "val/accuracy", "max", top_k=2, seeds=3)
    assert points == [
        {"train.lr": 1e-2, "train.seed": 2, "seed_of": "a"},  # a's seed 1 is done
        {"train.lr": 1e-3, "train.seed": 1, "seed_of": "b"},  # b's seed 1 failed: again
        {"train.lr": 1e-3, "train.seed": 2, "seed_of": "b"},
    ]
    assert seed_points(rows, "val/accuracy", "max", top_k=2, seeds=1) == []
