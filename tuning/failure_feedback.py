"""Failures that teach the sampler.

Optuna's TPE learns nothing from a FAIL trial: it leaves it out of both of its densities, so a sweep keeps sampling
the region where trials run out of memory or diverge. A trial that failed for its configuration therefore reaches
Optuna as PRUNED with constraint violations (`optuna.trial.Trial.set_constraint`; a value above 0 is infeasible),
which TPE ranks below every feasible trial:

- `memory_mb`: how far the trial's measured training peak went over the sweep's memory budget (1 where the
  allocation failed before a peak was measured), or how far the prediction was over it for a suggestion the budget
  gate refused before it started;
- `diverged`: the loss or the objective stopped being finite, or ran away (`train.divergence_factor`).

A crash that says nothing of the configuration (a lost node, a bug) stays FAIL. Tune tells the searcher only that
a trial erred; the reason reaches it through the scheduler, whose `on_trial_error` Tune's controller calls with the
trial just before (verified on Ray 2.60): `NotesFailures` notes it, by the sweep's own error classes.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from ray.tune.schedulers import FIFOScheduler

MEMORY, DIVERGED = "memory_mb", "diverged"

# Tune trial id -> MEMORY or DIVERGED, from the scheduler's on_trial_error to the searcher's on_trial_complete.
FAILURES: dict[str, str] = {}

_KINDS = {"TrialOutOfMemory": MEMORY, "TrialDiverged": DIVERGED}


def failure_kind(error_file: str | None) -> str | None:
    """MEMORY or DIVERGED for a trial that failed with the sweep's own error for it; None for any other failure."""
    if not error_file or not Path(error_file).is_file():
        return None
    found = re.findall(r"\b(TrialOutOfMemory|TrialDiverged)\b", Path(error_file).read_text())
    return _KINDS[found[-1]] if found else None


class NotesFailures:
    """Scheduler mixin: notes why a trial failed, for the searcher Tune tells next (`FAILURES`)."""

    def on_trial_error(self, tune_controller: Any, trial: Any) -> None:
        kind = failure_kind(getattr(trial, "error_file", None))
        if kind is not None:
            FAILURES[trial.trial_id] = kind
        super().on_trial_error(tune_controller, trial)


class NotingFIFO(NotesFailures, FIFOScheduler):
    """Tune's FIFO scheduler, noting failures."""


def violations(kind: str, peak_mb: float | None, budget_mb: float | None) -> dict[str, float]:
    """The constraint values of a trial that failed with `kind`, from its last measured peak and the budget."""
    if kind == DIVERGED:
        return {DIVERGED: 1.0}
    over = peak_mb - budget_mb if peak_mb is not None and budget_mb is not None else math.nan
    return {MEMORY: over if over > 0 else 1.0}  # an allocation that failed before any peak was measured
