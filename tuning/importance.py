"""Optuna's parameter importances for a sweep, read from its storage (no Ray)."""

from __future__ import annotations

import warnings
from pathlib import Path

import optuna

from tuning.optuna_storage import OPTUNA_DB, storage_url


def param_importances(sweep_dir: Path, study_name: str, objective: int = 0) -> dict[str, float]:
    """Normalised importance of each searched parameter for objective `objective` (Optuna's default evaluator over
    the complete trials), most important first. ValueError where Optuna cannot say (too few trials, nothing
    varied)."""
    if not (Path(sweep_dir) / OPTUNA_DB).exists():
        raise ValueError(f"no Optuna storage at {Path(sweep_dir) / OPTUNA_DB}")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        study = optuna.load_study(study_name=study_name, storage=storage_url(sweep_dir))
    except Exception as err:  # KeyError for a missing study, the database's own errors for a damaged file
        raise ValueError(f"no Optuna study {study_name!r} readable in {Path(sweep_dir) / OPTUNA_DB} ({err})") from err
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if len(complete) < 3:
        raise ValueError(f"{len(complete)} complete trials; importances need at least 3")
    # The default evaluator (PED-ANOVA) ranks what leads to low values: a maximised objective is negated.
    sign = -1.0 if study.directions[objective] == optuna.study.StudyDirection.MAXIMIZE else 1.0
    try:
        with warnings.catch_warnings():  # "less than 2 trials in a regime": expected in small sweeps
            warnings.simplefilter("ignore", UserWarning)
            return optuna.importance.get_param_importances(study, target=lambda t: sign * t.values[objective])
    except (RuntimeError, ValueError) as err:
        raise ValueError(str(err)) from err
