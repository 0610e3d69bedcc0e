"""Warm start: a new sweep's Optuna study begins with the finished trials of earlier sweeps that fit its space.

Optuna takes finished trials with their parameters, distributions and values (`Study.add_trial`); TPE then
samples the new study as if it had run them. A trial fits when every value it holds is inside the new space (or
equals the value the new study fixes for a key it no longer searches) and it has a value for every parameter
that applies to it there. Trials that do not fit are listed with the reason and left out.

Ray is not imported here: this runs before Ray starts. `space` is a `study.spec.space.Space` (duck-typed:
tuning/ does not import study/): each parameter says which values it holds and which Optuna distribution records it
(`study.spec.domains`), so nothing here dispatches on domain types.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna
from optuna.distributions import BaseDistribution

from tuning.optuna_storage import storage_url

WARM_START_ATTR = "warm_start_from"  # user attribute of an added trial: "SWEEP#NUMBER"


class WarmStartError(ValueError):
    """Earlier sweeps that cannot seed this one (nothing in common); the message says why."""


@dataclass
class WarmStart:
    trials: list[optuna.trial.FrozenTrial] = field(default_factory=list)  # ready to add
    skipped: list[str] = field(default_factory=list)  # "SWEEP#N: reason"


def distribution(param: Any) -> BaseDistribution:
    """The Optuna distribution of a searched parameter, as its domain type names it."""
    name, arguments = param.distribution()
    return getattr(optuna.distributions, name)(**arguments)


def _misfit(space: Any, params: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """Why a trial's values do not fit `space` (None if they do), and the values the new study records."""
    searched = {p.key: p for p in space.params}
    kept = {}
    for key, value in params.items():
        if key in searched:
            if not searched[key].contains(value):
                return f"{key}={value!r} is outside the new space", {}
            kept[key] = value
        elif space.base.get(key, object()) != value:
            return f"{key}={value!r} is not searched here, and fixed to {space.base.get(key)!r}", {}
    for param in space.ordered():
        if param.key not in kept and space.applies(param, kept):
            return f"it has no value for {param.key}", {}
    return None, space.restrict(kept)  # values for keys that do not apply here (another kind's) are left out


def collect(space: Any, sources: list[tuple[str, Path]], directions: list[str]) -> WarmStart:
    """The finished trials of each (sweep name, sweep directory) that fit `space`, and the rest with reasons.

    Refuses sources whose study optimises in other directions, and sources that share no parameter with the
    space (nothing they measured applies here).
    """
    result = WarmStart()
    searched = {p.key for p in space.params}
    shared = False
    for name, path in sources:
        try:
            earlier = optuna.load_study(study_name=name, storage=storage_url(path))
        except KeyError as err:
            raise WarmStartError(f"--warm-start {name}: no Optuna study {name!r} in {path}/optuna.db") from err
        theirs = [d.name.lower()[:3] for d in earlier.directions]
        if theirs != [d[:3] for d in directions]:
            raise WarmStartError(
                f"--warm-start {name}: its study optimises {theirs}, this one {directions}"
            )
        for trial in earlier.get_trials(deepcopy=False):
            label = f"{name}#{trial.number}"
            shared |= bool(searched & set(trial.params))
            if WARM_START_ATTR in trial.user_attrs:
                result.skipped.append(f"{label}: warm-started there from {trial.user_attrs[WARM_START_ATTR]}")
                continue
            if trial.state != optuna.trial.TrialState.COMPLETE:
                result.skipped.append(f"{label}: {trial.state.name.lower()}, not complete")
                continue
            if not all(math.isfinite(v) for v in trial.values):
                result.skipped.append(f"{label}: its objective is not finite")
                continue
            reason, params = _misfit(space, trial.params)
            if reason:
                result.skipped.append(f"{label}: {reason}")
                continue
            searched_params = {p.key: p for p in space.params}
            result.trials.append(
                optuna.trial.create_trial(
                    params=params,
                    distributions={k: distribution(searched_params[k]) for k in params},
                    values=list(trial.values),
                    user_attrs={WARM_START_ATTR: label},
                )
            )
    if not shared:
        names = ", ".join(name for name, _ in sources)
        raise WarmStartError(f"--warm-start {names}: no trial there searched any parameter of this space")
    return result


def seed_study(sweep_dir: Path, name: str, directions: list[str], trials: list[optuna.trial.FrozenTrial]) -> None:
    """Create this sweep's Optuna study holding `trials` (OptunaSearch loads it when the sweep starts)."""
    study = optuna.create_study(
        study_name=name, storage=storage_url(sweep_dir), load_if_exists=True,
        directions=["maximize" if d == "max" else "minimize" for d in directions],
    )  # fmt: skip
    study.add_trials(trials)


def searched_trials(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    """The trials this sweep ran itself (warm-started ones aside)."""
    return [t for t in study.trials if WARM_START_ATTR not in t.user_attrs]
