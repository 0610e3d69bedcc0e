"""`python -m study.ui` (`make ui`): the latest sweep's runs URL from the local store, then the MLflow UI served on
127.0.0.1 only, answering on that URL's server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request

import pytest

from study.ui import main
from tests.helpers import free_port
from tuning.sockets import beyond_loopback, descendants
from tuning.tracking import Tracker

PAGE = "runs?workflowType=machine_learning"


def _store(tmp_path) -> tuple[str, str, str]:
    """A store with two studies' sweeps, 'new' started last; (uri, its experiment id, the other's)."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    old = Tracker(uri, "auxlstm-old", "s-old")
    old.parent("old-sweep", {}, {})
    time.sleep(0.05)  # a later start time
    new = Tracker(uri, "auxlstm-new", "s-new")
    new.parent("new-sweep", {}, {})
    return uri, new.experiment_id, old.experiment_id


def test_it_prints_the_latest_sweeps_runs_table_first(tmp_path, capsys):
    uri, new, old = _store(tmp_path)
    assert main(["--tracking-uri", uri, "--print-only", "--port", "5001"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == (f"the latest sweep's runs (new-sweep, experiment auxlstm-new): "
                        f"http://127.0.0.1:5001/#/experiments/{new}/{PAGE}")  # fmt: skip
    assert lines[1].endswith(f"http://127.0.0.1:5001/#/experiments/{old}/{PAGE}") and len(lines) == 2


def test_without_a_store_it_says_to_run_a_sweep_and_a_server_is_refused(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["--print-only"]) == 1
    assert "no MLflow store at" in capsys.readouterr().err and not (tmp_path / "mlflow.db").exists()
    with pytest.raises(SystemExit) as stop:
        main(["--tracking-uri", "http://127.0.0.1:5000"])
    assert stop.value.code == 2


@pytest.mark.slow
def test_it_serves_the_ui_on_loopback_where_the_printed_url_points(tmp_path):
    uri, new, _ = _store(tmp_path)
    port = free_port()
    ui = subprocess.Popen(
        [sys.executable, "-m", "study.ui", "--tracking-uri", uri, "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        assert ui.stdout.readline().strip().endswith(f"http://127.0.0.1:{port}/#/experiments/{new}/{PAGE}")
        deadline = time.monotonic() + 90
        while True:
            try:
                url = f"http://127.0.0.1:{port}/ajax-api/2.0/mlflow/experiments/get?experiment_id={new}"
                with urllib.request.urlopen(url, timeout=2) as response:
                    assert b"auxlstm-new" in response.read()
                    break
            except OSError:
                assert ui.poll() is None and time.monotonic() < deadline, "the UI did not start"
                time.sleep(0.3)
        assert beyond_loopback(descendants([ui.pid])) == []
    finally:
        os.killpg(ui.pid, signal.SIGTERM)  # the UI and its workers: the process group it started
        ui.wait(timeout=30)
