"""MLflow: one parent run per sweep and one nested child run per trial, found or created by tags.

Runs are looked up by the tags `auxlstm.sweep_id` and `auxlstm.trial_id` before anything is created, so a
resumed sweep reuses its runs (Ray's stock `MLflowLoggerCallback` keeps its trial-to-run map in memory and
creates a second child after `Tuner.restore`). Only the sweep driver logs: one writer, even on SQLite. Every
name, param, tag and file passes through `redact` on its way out: no credential reaches the store.
"""

from __future__ import annotations

import json
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mlflow.entities import Metric, Param, RunTag
from mlflow.tracking import MlflowClient

from tuning.naming import PARENT_TAG, ROLE_TAG, SWEEP_ROLE, SWEEP_TAG, TRIAL_ROLE, TRIAL_TAG, UI_PORT
from tuning.redact import redact, secret_values, strip_credentials

BATCH = 100  # MLflow's limit on params per log_batch call
METRIC_BATCH = 1000  # and on metrics


class TrackingError(RuntimeError):
    """The tracking server cannot be used; the message names its URI."""


INVALID_HOST = "Invalid Host header"  # what MLflow's server answers (403) to a Host outside its --allowed-hosts


def check_reachable(uri: str, timeout_s: float = 5.0) -> None:
    """Fail fast (within `timeout_s`) when an HTTP tracking server does not answer its health check, or answers it
    but refuses its API to the name it is reached by: MLflow exempts /health from its Host check (`--allowed-hosts`,
    DNS-rebinding protection), so a server reached by a name it does not allow would pass and then refuse every
    call with 403."""
    if not uri.startswith(("http://", "https://")):
        return
    base = strip_credentials(uri.rstrip("/"))
    try:
        with urllib.request.urlopen(base + "/health", timeout=timeout_s) as response:
            if response.status != 200:
                raise TrackingError(f"MLflow tracking server {redact(uri)} answered {response.status} to /health")
    except (urllib.error.URLError, OSError) as err:
        raise TrackingError(
            f"MLflow tracking server {redact(uri)} is unreachable ({err}); start it or fix --tracking-uri"
        ) from err
    _check_host_allowed(uri, base, timeout_s)


def _check_host_allowed(uri: str, base: str, timeout_s: float) -> None:
    """Any answer but MLflow's 403 for a Host it does not allow passes (a 401 of a server with authentication is
    the client's to answer, with its credentials)."""
    host = urllib.parse.urlsplit(base).netloc
    try:
        with urllib.request.urlopen(base + "/api/2.0/mlflow/experiments/search?max_results=1", timeout=timeout_s):
            return
    except urllib.error.HTTPError as err:
        if err.code != 403 or INVALID_HOST not in err.read().decode(errors="replace"):
            return
    except (urllib.error.URLError, OSError):
        return  # it answered /health a moment ago: what else goes wrong is for the sweep's own retries
    raise TrackingError(
        f"MLflow tracking server {redact(uri)} answers /health but refuses its API to the host name {host!r} (403, "
        f"{INVALID_HOST!r}: MLflow's --allowed-hosts); start it with `mlflow server ... --allowed-hosts {host}` (or "
        "a pattern covering every name the driver and nodes use), or reach it by a name it allows"
    )


class Tracker:
    """Find-or-create and log to the runs of one sweep. Picklable: the client is made on first use."""

    def __init__(self, uri: str, experiment: str, sweep_id: str, tags: Mapping[str, str] | None = None) -> None:
        self.uri, self.experiment, self.sweep_id = uri, experiment, sweep_id
        self.tags = dict(tags or {})  # on the parent and every child: provenance
        self._client: MlflowClient | None = None
        self._experiment_id: str | None = None
        self._children: dict[str, str] = {}
        self._parent: str | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {"uri": self.uri, "experiment": self.experiment, "sweep_id": self.sweep_id, "tags": self.tags}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(**state)

    @property
    def client(self) -> MlflowClient:
        if self._client is None:  # kept only once the experiment is known: a store that is down is asked again
            client = MlflowClient(tracking_uri=self.uri)
            found = client.get_experiment_by_name(self.experiment)
            self._experiment_id = found.experiment_id if found else client.create_experiment(self.experiment)
            self._client = client
        return self._client

    @property
    def experiment_id(self) -> str:
        _ = self.client  # looks the experiment up
        return self._experiment_id

    def _find(self, role: str, trial_id: str | None = None) -> str | None:
        query = f"tags.`{SWEEP_TAG}` = '{self.sweep_id}' and tags.`{ROLE_TAG}` = '{role}'"
        if trial_id is not None:
            query += f" and tags.`{TRIAL_TAG}` = '{trial_id}'"
        runs = self.client.search_runs([self._experiment_id], filter_string=query, max_results=2)
        return runs[0].info.run_id if runs else None

    def parent(self, name: str, params: Mapping[str, Any], tags: Mapping[str, str]) -> str:
        """The sweep's parent run, created (with params and tags) only if it does not exist yet."""
        run_id = self._find(SWEEP_ROLE)
        if run_id is None:
            run = self.client.create_run(
                self._experiment_id, run_name=redact(name),
                tags=_redacted({**self.tags, **tags, SWEEP_TAG: self.sweep_id, ROLE_TAG: SWEEP_ROLE}),
            )
            run_id = run.info.run_id
        else:
            self.client.update_run(run_id, status="RUNNING")
            # Only what it lacks: a driver may have died between creating it and this, and MLflow refuses a param
            # whose value changed (a sweep started by an older version wrote its own forms).
            held = self.client.get_run(run_id).data.params
            params = {k: v for k, v in params.items() if k not in held}
        self._log_params(run_id, params)
        self._parent = run_id
        return run_id

    @property
    def parent_id(self) -> str | None:
        """The sweep's parent run, found by its tags (None before it exists)."""
        if self._parent is None:
            self._parent = self._find(SWEEP_ROLE)
        return self._parent

    def child(self, trial_id: str, name: str, params: Mapping[str, Any], tags: Mapping[str, str]) -> str:
        """The trial's child run under the parent, created once; later calls (and resumed sweeps) reuse it."""
        if trial_id in self._children:
            return self._children[trial_id]
        run_id = self._find(TRIAL_ROLE, trial_id)
        if run_id is None:
            parent = self._find(SWEEP_ROLE)
            run = self.client.create_run(
                self._experiment_id, run_name=redact(name),
                tags=_redacted({
                    **self.tags, **tags, SWEEP_TAG: self.sweep_id, TRIAL_TAG: trial_id, ROLE_TAG: TRIAL_ROLE,
                    PARENT_TAG: parent,
                }),
            )  # fmt: skip
            run_id = run.info.run_id
        else:
            self.client.update_run(run_id, status="RUNNING")
        self._log_params(run_id, params)  # again when found: a driver may have died between creating and this
        self._children[trial_id] = run_id
        return run_id

    def _log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        items = [Param(k, v) for k, v in _redacted(params).items()]
        for start in range(0, len(items), BATCH):
            self.client.log_batch(run_id, params=items[start : start + BATCH])

    def log_metrics(self, run_id: str, metrics: Mapping[str, float], step: int, timestamp_ms: int) -> None:
        entries = [Metric(k, float(v), timestamp_ms, step) for k, v in metrics.items()]
        self.client.log_batch(run_id, metrics=entries)

    def logged_steps(self, run_id: str, key: str) -> set[int]:
        """The steps at which the run holds metric `key`."""
        return {m.step for m in self.client.get_metric_history(run_id, key)}

    def log_points(self, run_id: str, points: list[tuple[str, float, int, int]]) -> None:
        """Metric values as (key, value, timestamp_ms, step)."""
        entries = [Metric(k, float(v), t, step) for k, v, t, step in points]
        for start in range(0, len(entries), METRIC_BATCH):
            self.client.log_batch(run_id, metrics=entries[start : start + METRIC_BATCH])

    def set_tags(self, run_id: str, tags: Mapping[str, str]) -> None:
        self.client.log_batch(run_id, tags=[RunTag(k, v[:5000]) for k, v in _redacted(tags).items()])

    def log_files(self, run_id: str, files: Mapping[str, str | dict | list]) -> None:
        """Artifacts from memory, masked: path (may hold folders, e.g. 'export/summary.md') -> text, or JSON-able
        data."""
        with tempfile.TemporaryDirectory() as directory:
            for name, content in files.items():
                text = content if isinstance(content, str) else json.dumps(content, indent=1, default=str)
                (Path(directory) / name).parent.mkdir(parents=True, exist_ok=True)
                (Path(directory) / name).write_text(redact(text))
            self.client.log_artifacts(run_id, directory)

    def log_binary(self, run_id: str, paths: list[Path], artifact_path: str) -> None:
        """Files that hold no text (figures), as they are, under `artifact_path`."""
        for path in paths:
            self.client.log_artifact(run_id, str(path), artifact_path)

    def delete(self, run_id: str) -> None:
        self.client.delete_run(run_id)

    def end(self, run_id: str, status: str) -> None:
        self.client.set_terminated(run_id, status=status)


def _redacted(values: Mapping[str, Any]) -> dict[str, str]:
    secrets = secret_values()
    return {key: redact(str(value), secrets=secrets) for key, value in values.items()}


def ui_command(uri: str) -> str:
    """The command that opens the MLflow UI on these runs (on this machine only: 127.0.0.1)."""
    if uri.startswith(("http://", "https://")):
        return f"open {redact(uri)} in a browser"
    return f"mlflow ui --host 127.0.0.1 --port {UI_PORT} --backend-store-uri {uri}"


def sweeps_in(uri: str) -> list[tuple[str, str, str]]:
    """(experiment id, experiment name, sweep name) of every sweep's parent run in the store, the newest first."""
    client = MlflowClient(tracking_uri=uri)
    experiments = client.search_experiments()
    if not experiments:
        return []
    names = {e.experiment_id: e.name for e in experiments}
    parents = client.search_runs(
        list(names), filter_string=f"tags.`{ROLE_TAG}` = '{SWEEP_ROLE}'", order_by=["attributes.start_time DESC"],
        max_results=100,
    )  # fmt: skip
    return [(r.info.experiment_id, names[r.info.experiment_id], r.info.run_name) for r in parents]


def default_uri(directory: Path) -> str:
    """SQLite in `directory`, as an absolute URI: trials change directory, and None would clear the URI."""
    return f"sqlite:///{(directory / 'mlflow.db').resolve()}"


def log_paths(uri: str, run_id: str, paths: list[Path], artifact_path: str) -> None:
    """Log files to an existing run, under `artifact_path`."""
    check_reachable(uri)
    try:
        client = MlflowClient(tracking_uri=uri)
        for path in paths:
            client.log_artifact(run_id, str(path), artifact_path)
    except Exception as err:  # MLflow raises its own and the storage's errors
        raise TrackingError(f"MLflow at {redact(uri)} refused the artifacts of run {run_id}: {err}") from err
