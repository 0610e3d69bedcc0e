"""Warm start: which earlier trials fit a new space, why the others do not, and what the new study holds."""

from __future__ import annotations

import optuna
import pytest

from study.spec.parse import parse_study
from tuning.importance import storage_url
from tuning.warm_start import WarmStartError, collect, searched_trials, seed_study

SPEC = {
    "name": "new",
    "base": {"model": {"kind": "r_lstm"}, "aux": {"segment_len": 100, "truncation": 50, "pretrain_epochs": 0},
             "train": {"epochs": 2, "truncation": 50, "optimizer": "adam"},
             "data": {"name": "mnist", "image_size": 14}},
    "space": {"scientific": {"model.kind": {"choice": ["lstm", "r_lstm"]}},
              "nuisance": {"train.lr": {"float": [1e-4, 1e-2], "log": True}, "aux.weight": {"float": [0.1, 3.0]}}},
}  # fmt: skip
DISTS = {"model.kind": optuna.distributions.CategoricalDistribution(["lstm", "r_lstm", "p_lstm"]),
         "train.lr": optuna.distributions.FloatDistribution(1e-5, 1.0, log=True),
         "aux.weight": optuna.distributions.FloatDistribution(0.0, 5.0),
         "train.optimizer": optuna.distributions.CategoricalDistribution(["adam", "rmsprop"])}  # fmt: skip


def _earlier(tmp_path, name, trials, direction="maximize"):
    path = tmp_path / name
    path.mkdir()
    study = optuna.create_study(study_name=name, storage=storage_url(path), direction=direction)
    for params, value, state in trials:
        study.add_trial(optuna.trial.create_trial(
            params=params, distributions={k: DISTS[k] for k in params}, value=value, state=state))  # fmt: skip
    return name, path


def test_fitting_trials_seed_the_new_study_and_the_others_are_listed_with_their_reason(tmp_path):
    done, failed = optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.FAIL
    source = _earlier(tmp_path, "old", [
        ({"model.kind": "lstm", "train.lr": 1e-3}, 0.5, done),  # fits: aux.weight does not apply to lstm
        ({"model.kind": "r_lstm", "train.lr": 2e-3, "aux.weight": 1.5}, 0.7, done),  # fits
        ({"model.kind": "r_lstm", "train.lr": 0.5, "aux.weight": 1.0}, 0.6, done),  # lr outside [1e-4, 1e-2]
        ({"model.kind": "r_lstm", "train.lr": 1e-3}, 0.6, done),  # no aux.weight, which applies here
        ({"model.kind": "lstm", "train.lr": 1e-3, "train.optimizer": "rmsprop"}, 0.4, done),  # fixed to adam here
        ({"model.kind": "lstm", "train.lr": 1e-3, "train.optimizer": "adam"}, 0.45, done),  # fixed to adam: fits
        ({"model.kind": "p_lstm", "train.lr": 1e-3, "aux.weight": 1.0}, 0.6, done),  # p_lstm is not a choice
        ({"model.kind": "lstm", "train.lr": 1e-3}, None, failed),
    ])  # fmt: skip
    space = parse_study(SPEC).space
    warm = collect(space, [source], ["max"])
    assert sorted(t.value for t in warm.trials) == [0.45, 0.5, 0.7]
    assert all("train.optimizer" not in t.params for t in warm.trials)  # only what the new study searches
    assert warm.skipped == [
        "old#2: train.lr=0.5 is outside the new space",
        "old#3: it has no value for aux.weight",
        "old#4: train.optimizer='rmsprop' is not searched here, and fixed to 'adam'",
        "old#6: model.kind='p_lstm' is outside the new space",
        "old#7: fail, not complete",
    ]
    seed_study(tmp_path, "new", ["max"], warm.trials)
    new = optuna.load_study(study_name="new", storage=storage_url(tmp_path))
    assert len(new.trials) == 3 and searched_trials(new) == []
    assert sorted(t.user_attrs["warm_start_from"] for t in new.trials) == ["old#0", "old#1", "old#5"]
    trial = new.ask()  # TPE samples the new study with the added trials as its history
    space.sample(trial)
    assert set(trial.params) <= {"model.kind", "train.lr", "aux.weight"}


def test_a_source_sharing_nothing_or_optimising_the_other_way_is_refused(tmp_path):
    done = optuna.trial.TrialState.COMPLETE
    other = _earlier(tmp_path, "other", [({"train.optimizer": "adam"}, 0.5, done)])
    space = parse_study(SPEC).space
    with pytest.raises(WarmStartError, match="no trial there searched any parameter of this space"):
        collect(space, [other], ["max"])
    minimised = _earlier(tmp_path, "minimised", [({"train.lr": 1e-3}, 0.5, done)], direction="minimize")
    with pytest.raises(WarmStartError, match=r"minimised: its study optimises \['min'\], this one \['max'\]"):
        collect(space, [minimised], ["max"])
    with pytest.raises(WarmStartError, match="no Optuna study 'missing'"):
        collect(space, [("missing", other[1])], ["max"])


def test_a_source_measured_on_another_fixed_config_is_named_with_its_differences(tmp_path):
    from study.driver.setup import fixed_differences
    from study.results.sweep_dir import SweepInfo

    study = parse_study(SPEC)
    longer = {**SPEC, "base": {**SPEC["base"], "train": {**SPEC["base"]["train"], "epochs": 4}}}
    record = {"spec": longer, "overrides": ["train.seed=3"], "trials": None, "smoke": False}
    assert fixed_differences(study, SweepInfo(tmp_path, record)) == ["train.epochs: 4 there, 2 here"]
    assert fixed_differences(study, SweepInfo(tmp_path, {**record, "spec": SPEC})) == []  # the seed aside
    smoke = fixed_differences(study, SweepInfo(tmp_path, {**record, "spec": SPEC, "smoke": True}))
    assert "data.limit_train: 256 there, None here" in smoke and "train.epochs: 1 there, 2 here" in smoke


def test_trials_a_source_was_itself_warm_started_with_are_not_taken_twice(tmp_path):
    name, path = _earlier(tmp_path, "chained", [({"model.kind": "lstm", "train.lr": 1e-3}, 0.5,
                                                 optuna.trial.TrialState.COMPLETE)])  # fmt: skip
    study = optuna.load_study(study_name=name, storage=storage_url(path))
    params = {"model.kind": "lstm", "train.lr": 2e-3}
    dists, attrs = {k: DISTS[k] for k in params}, {"warm_start_from": "older#4"}
    study.add_trial(optuna.trial.create_trial(params=params, distributions=dists, value=0.6, user_attrs=attrs))
    warm = collect(parse_study(SPEC).space, [(name, path)], ["max"])
    assert [t.value for t in warm.trials] == [0.5] and warm.skipped == ["chained#1: warm-started there from older#4"]


def test_a_value_that_does_not_apply_to_the_trials_kind_here_is_left_out(tmp_path):
    # An earlier space that sampled aux.weight for every kind; here only auxiliary kinds read it.
    done = optuna.trial.TrialState.COMPLETE
    source = _earlier(tmp_path, "loose", [({"model.kind": "lstm", "train.lr": 1e-3, "aux.weight": 2.0}, 0.5, done)])
    warm = collect(parse_study(SPEC).space, [source], ["max"])
    assert [t.params for t in warm.trials] == [{"model.kind": "lstm", "train.lr": 1e-3}]
