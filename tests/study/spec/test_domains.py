"""Every search-space domain type: a spec's domain parses, holds its bounding values and nothing outside them,
Optuna samples inside it, and the Optuna distribution it names agrees with it on what it holds."""

from __future__ import annotations

import optuna
import pytest

from study.spec.domains import DOMAINS, SpaceError, parse_param
from study.spec.space import Space
from tuning.warm_start import distribution

# Per domain type: a spec's domain, values inside it, values outside it.
CASES = {
    "choice": ({"choice": [1, "a", None, True]}, [1, 1.0, "a", None, True], [2, "b", False, 0]),
    "float": ({"float": [0.01, 10.0], "log": True}, [0.01, 1, 10.0], [0.0099, 10.5, "1", True]),
    "int": ({"int": [2, 10], "step": 4}, [2, 6, 10, 6.0], [4, 1, 14, 6.5, True]),
}


def test_every_domain_type_has_cases():
    assert set(CASES) == set(DOMAINS)


@pytest.mark.parametrize("kind", sorted(DOMAINS))
def test_a_domain_holds_its_values_and_its_extremes_and_nothing_outside(kind):
    raw, inside, outside = CASES[kind]
    param = parse_param("train.lr", raw, "nuisance", "space.nuisance.train.lr")
    assert param.kind == kind and param.domain().startswith(f"{{{kind}: ")
    assert all(param.contains(v) for v in [*inside, *param.extremes()]), param
    assert not any(param.contains(v) for v in outside), param


@pytest.mark.parametrize("kind", sorted(DOMAINS))
def test_optunas_samples_stay_inside_the_domain(kind):
    param = parse_param("train.lr", CASES[kind][0], "nuisance", "space.nuisance.train.lr")
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    space = Space(params=(param,), base={"model.kind": "lstm"})
    for _ in range(30):
        trial = study.ask()
        space.sample(trial)
        assert param.contains(trial.params["train.lr"]), trial.params


@pytest.mark.parametrize("kind", sorted(DOMAINS))
def test_the_optuna_distribution_holds_the_same_values(kind):
    raw, inside, outside = CASES[kind]
    param = parse_param("train.lr", raw, "nuisance", "space.nuisance.train.lr")
    dist = distribution(param)
    for value in [*param.extremes(), *(v for v in inside if not isinstance(v, bool) or kind == "choice")]:
        optuna.trial.create_trial(params={"train.lr": value}, distributions={"train.lr": dist}, value=0.0)
    for value in (v for v in outside if not isinstance(v, (bool, str))):
        with pytest.raises(ValueError):
            optuna.trial.create_trial(params={"train.lr": value}, distributions={"train.lr": dist}, value=0.0)


def test_a_fixed_trial_reads_the_domains_suggestions_back():
    params = [
        parse_param("model.kind", {"choice": ["lstm", "r_lstm"]}, "scientific", "s"),
        parse_param("aux.weight", {"float": [0.1, 3.0]}, "nuisance", "n"),
        parse_param("aux.anchors", {"int": [1, 4]}, "nuisance", "n"),
    ]
    space = Space(params=tuple(params), base={"model.kind": "r_lstm"})
    trial = optuna.trial.FixedTrial({"model.kind": "r_lstm", "aux.weight": 0.5, "aux.anchors": 3})
    space.sample(trial)
    assert trial.params == {"model.kind": "r_lstm", "aux.weight": 0.5, "aux.anchors": 3}
    lstm = optuna.trial.FixedTrial({"model.kind": "lstm"})  # aux.* do not apply to a plain LSTM: never asked
    space.sample(lstm)
    assert lstm.params == {"model.kind": "lstm"}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ([1, 2], "expected a domain {choice: [a, b]}, {float: [low, high]} or {int: [low, high]}"),
        ({"float": [1, 2], "int": [1, 2]}, "give exactly one of choice, float, int"),
        ({"choice": [1], "log": True}, "unknown for a choice domain; valid: choice, when"),
        ({"int": [1, 5], "step": 2, "log": True}, "Optuna cannot combine log with step 2"),
    ],
)
def test_a_malformed_domain_is_refused_naming_what_each_type_takes(raw, message):
    with pytest.raises(SpaceError, match=message.replace("[", r"\[").replace("{", r"\{")):
        parse_param("train.lr", raw, "nuisance", "space.nuisance.train.lr")
