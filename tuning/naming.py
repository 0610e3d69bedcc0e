"""Every name the project gives MLflow: the experiment, the runs and the tags. Change a name here, and only here.

A sweep is one experiment per study (`auxlstm-STUDY`) holding one parent run per sweep (named as the sweep) and a
child run per trial (`TRIAL_ID summary`, the summary naming its searched values). Runs are found again by the
sweep, trial and role tags, so a resumed sweep reuses them. Ray-free: the sweep's command line imports it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

SWEEP_TAG, TRIAL_TAG, ROLE_TAG = "auxlstm.sweep_id", "auxlstm.trial_id", "auxlstm.role"
SWEEP_ROLE, TRIAL_ROLE = "sweep", "trial"  # the values of ROLE_TAG
PARENT_TAG = "mlflow.parentRunId"  # what the MLflow UI nests children by
NOTE_TAG = "mlflow.note.content"  # the run's description in the MLflow UI
STATUS_TAG, REASON_TAG = "auxlstm.status", "auxlstm.reason"  # a trial's end, as the results table says it


def experiment_name(study: str) -> str:
    """The experiment of every sweep of a study."""
    return f"auxlstm-{study}"


def sweep_run_name(sweep: str) -> str:
    """The sweep's parent run: named as the sweep."""
    return sweep


def trial_run_name(trial_id: str, params: Mapping[str, Any]) -> str:
    """A trial's run: its id, then its searched values (sortable by trial id)."""
    return f"{trial_id} {trial_summary(params)}"


def trial_summary(params: Mapping[str, Any]) -> str:
    """Searched values in a short form, e.g. 'r_lstm aux.weight=0.31 aux.segment_len=64' (the kind first)."""
    parts = []
    for key, value in params.items():
        if key == "model.kind":
            parts.insert(0, str(value))
        else:
            parts.append(f"{key}={value:.3g}" if isinstance(value, float) else f"{key}={value}")
    return " ".join(parts)


def provenance_tags(
    *, study: str, sweep: str, spec_hash: str, git_commit: str, data_checksum: str,
    stand_ins: Mapping[str, str] | None, versions: Mapping[str, str],
) -> dict[str, str]:  # fmt: skip
    """What the parent run and every trial's run carry: where the results come from."""
    return {
        "auxlstm.study": study, "auxlstm.spec_hash": spec_hash, "auxlstm.git_commit": git_commit,
        "auxlstm.data_checksum": data_checksum, "auxlstm.sweep": sweep,
        **({"auxlstm.stand_ins": json.dumps(dict(stand_ins))} if stand_ins else {}),
        **{f"auxlstm.version.{name}": version for name, version in versions.items()},
    }  # fmt: skip


def sweep_tags(command: str, description: str) -> dict[str, str]:
    """The parent run's own tags: the command that started the sweep, and the study's description as its note."""
    return {"auxlstm.command": command, NOTE_TAG: description}


def trial_tags(command: str, config_path: str, seed_of: str | None = None) -> dict[str, str]:
    """A trial run's own tags: the command that trains it again, its config file, the trial a seed re-run repeats."""
    tags = {"auxlstm.command": command, "auxlstm.config_path": config_path}
    if seed_of is not None:
        tags["auxlstm.seed_of"] = seed_of
    return tags


def ended_tags(status: str, reason: str | None) -> dict[str, str]:
    """The tags a trial's run gets when it ends: its results-table status, and why where it did not complete."""
    return {STATUS_TAG: status, **({REASON_TAG: reason} if reason else {})}
