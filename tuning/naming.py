"""Every name the project gives MLflow: the experiment, the runs and the tags. Change a name here, and only here.

A sweep is one experiment per study (`auxlstm-STUDY`) holding one parent run per sweep (named as the sweep) and a
child run per trial (`0003 r_lstm trunc=14`: its number in the sweep, kind and a few searched values). Runs are found
again by the sweep, trial and role tags, so a resumed sweep reuses them. The parent's metrics (step = trials ended)
and artifacts are named here too, as is the URL of an experiment's runs table. Ray-free and MLflow-free: the sweep's
command line imports it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

from tuning.redact import strip_credentials

SWEEP_TAG, TRIAL_TAG, ROLE_TAG = "auxlstm.sweep_id", "auxlstm.trial_id", "auxlstm.role"
SWEEP_ROLE, TRIAL_ROLE = "sweep", "trial"  # the values of ROLE_TAG
PARENT_TAG = "mlflow.parentRunId"  # what the MLflow UI nests children by
NOTE_TAG = "mlflow.note.content"  # the run's description in the MLflow UI
CLAIM_TAG = "auxlstm.claim"  # the parent's verdict on the paper's claim, where the sweep decided one
STATUS_TAG, REASON_TAG = "auxlstm.status", "auxlstm.reason"  # a trial's end, as the results table says it
# A trial's configuration apart from its seed (MLflow's "Group by" it: mean and range over seeds), and the values of
# the study's scientific keys for it (e.g. 'r_lstm train.truncation=14').
CONFIG_GROUP_TAG, SCIENTIFIC_TAG = "auxlstm.config_group", "auxlstm.scientific"
SEED_KEY = "train.seed"  # left out of the config group
DATA_CHECKSUM = "data_checksum"  # a trial's epochs carry the checksum of the data it read; its results row keeps it

# The parent run's metrics. Step = trials ended so far (COMPLETE, STOPPED, FAILED or PRUNED).
COUNT_METRICS = {"COMPLETE": "trials/complete", "STOPPED": "trials/stopped", "FAILED": "trials/failed",
                 "PRUNED": "trials/pruned"}  # fmt: skip
WALL_METRIC = "sweep/wall_seconds"  # the driver's time, over every session of a resumed sweep
TRIAL_SECONDS_METRIC = "sweep/trial_seconds"  # the trials' own training time, summed
MEAN_TRIAL_SECONDS_METRIC = "sweep/mean_trial_seconds"  # per trial that trained
# The parent run's artifacts, at the end of every sweep.
SPEC_ARTIFACT, RESULTS_ARTIFACT = "spec.yaml", "results.json"
EXPORT_ARTIFACTS, EXPORT_CONFIGS = "export", "export/configs"  # summary.md, summary.json; the exported configs
REPORT_ARTIFACTS = "report"  # report.md and its figures
# The MLflow UI a local store is opened with, and the page that shows a sweep's runs as a model-training table.
UI_PORT = 5000
RUNS_PAGE = "#/experiments/{experiment_id}/runs?workflowType=machine_learning"
MAX_RUN_NAME = 40
# Short forms of keys in run names; any other key is named by its last part.
SHORT_KEYS = {
    "train.truncation": "trunc", "aux.truncation": "aux_trunc", "aux.segment_len": "seg", "aux.weight": "aux_w",
    "aux.pretrain_epochs": "pre", "train.seed": "seed", "data.image_size": "img", "data.name": "data",
    "resources.workers": "workers", "train.checkpoint_chunk": "ckpt", "train.supervised_grad": "grad",
}  # fmt: skip


def experiment_name(study: str) -> str:
    """The experiment of every sweep of a study."""
    return f"auxlstm-{study}"


def sweep_run_name(sweep: str) -> str:
    """The sweep's parent run: named as the sweep."""
    return sweep


def trial_run_name(number: int, params: Mapping[str, Any], first: Iterable[str] = ()) -> str:
    """A trial's run: its number in the sweep (zero-padded, so names sort in the order trials started), its kind,
    then as many short `key=value` of its sampled values as fit in MAX_RUN_NAME characters, the keys in `first`
    (the study's scientific keys) first: '0003 r_lstm trunc=14 lr=0.0031'."""
    name = f"{number:04d}" + (f" {params['model.kind']}" if "model.kind" in params else "")
    first = [k for k in [*first, SEED_KEY] if k in params]  # a seed re-run says its seed
    for key in [*first, *(k for k in params if k not in first)]:
        if key in ("model.kind", "seed_of"):
            continue
        part = f" {SHORT_KEYS.get(key, key.rsplit('.', 1)[-1])}={_short(params[key])}"
        if len(name) + len(part) > MAX_RUN_NAME:
            break
        name += part
    return name


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.2g}"
    return "full" if value is None else str(value)


def config_group(config: Mapping[str, Any]) -> str:
    """8 hex digits naming a configuration apart from its seed: equal for runs that differ only in train.seed."""
    kept = {k: v for k, v in config.items() if k != SEED_KEY}
    return hashlib.sha256(json.dumps(kept, sort_keys=True, default=str).encode()).hexdigest()[:8]


def best_metric(metric: str) -> str:
    """The parent run's metric of the best `metric` so far: 'best/val/accuracy'."""
    return f"best/{metric}"


def runs_url(tracking_uri: str, experiment_id: str, port: int = UI_PORT) -> str:
    """The experiment's runs table in the MLflow UI's model-training mode: on the tracking server itself for an
    http(s) URI (its credentials left out), else on the local `mlflow ui` (127.0.0.1, `port`)."""
    if tracking_uri.startswith(("http://", "https://")):
        base = strip_credentials(tracking_uri).rstrip("/")
    else:
        base = f"http://127.0.0.1:{port}"
    return f"{base}/{RUNS_PAGE.format(experiment_id=experiment_id)}"


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


def claim_tags(description: str, claim: str) -> dict[str, str]:
    """The parent run's verdict on the paper's claim, as a tag and under the study's description in its note."""
    return {CLAIM_TAG: claim, NOTE_TAG: f"{description.strip()}\n\n**{claim}**"}


def sweep_tags(command: str, description: str) -> dict[str, str]:
    """The parent run's own tags: the command that started the sweep, and the study's description as its note."""
    return {"auxlstm.command": command, NOTE_TAG: description}


def trial_tags(
    command: str, config_path: str, seed_of: str | None = None, *, group: str | None = None, scientific: str = ""
) -> dict[str, str]:
    """A trial run's own tags: the command that trains it again, its config file, the trial a seed re-run repeats,
    its configuration group (`config_group`) and its scientific values."""
    tags = {"auxlstm.command": command, "auxlstm.config_path": config_path}
    if seed_of is not None:
        tags["auxlstm.seed_of"] = seed_of
    if group is not None:
        tags[CONFIG_GROUP_TAG] = group
    if scientific:
        tags[SCIENTIFIC_TAG] = scientific
    return tags


def ended_tags(status: str, reason: str | None) -> dict[str, str]:
    """The tags a trial's run gets when it ends: its results-table status, and why where it did not complete."""
    return {STATUS_TAG: status, **({REASON_TAG: reason} if reason else {})}
