"""MLflow runs found again on a resume: a parent run keeps the params it holds and gets those it lacks, even where
this version writes a param in another form (MLflow refuses to change a logged value)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request

import pytest
from mlflow.tracking import MlflowClient

from tests.helpers import free_port
from tuning.tracking import Tracker, TrackingError, check_reachable


def test_a_parent_run_found_again_keeps_its_params_and_gets_the_ones_it_lacks(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    tags = {"auxlstm.command": "python -m study.sweep"}
    first = Tracker(uri, experiment="exp", sweep_id="s1").parent("sweep", {"space.scientific.model.kind": '["lstm"]'},
                                                                 tags)  # fmt: skip
    again = Tracker(uri, experiment="exp", sweep_id="s1").parent(
        "sweep", {"space.scientific.model.kind": "{choice: [lstm]}", "trials": 8}, tags
    )
    assert again == first
    params = MlflowClient(uri).get_run(first).data.params
    assert params == {"space.scientific.model.kind": '["lstm"]', "trials": "8"}


@pytest.mark.slow
def test_a_server_that_refuses_the_name_it_is_reached_by_is_named_before_anything_starts(tmp_path):
    """A real `mlflow server` allowing only 127.0.0.1:PORT as Host: reached as localhost, /health answers (MLflow
    exempts it) and every API call gets 403, so the pre-flight must ask the API too."""
    port = free_port()
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    server = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
         "--backend-store-uri", f"sqlite:///{tmp_path / 'server.db'}", "--allowed-hosts", f"127.0.0.1:{port}"],
        cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                check_reachable(f"http://127.0.0.1:{port}")  # an allowed name: passes
                break
            except TrackingError:
                assert server.poll() is None and time.monotonic() < deadline, "the MLflow server did not start"
                time.sleep(0.3)
        with urllib.request.urlopen(f"http://localhost:{port}/health", timeout=5) as response:
            assert response.status == 200  # what the old pre-flight asked, and passed
        with pytest.raises(TrackingError, match=rf"--allowed-hosts localhost:{port}"):
            check_reachable(f"http://localhost:{port}")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
