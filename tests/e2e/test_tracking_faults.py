"""Faults around a running sweep's tracking, with real processes: Ctrl-C to the driver, four trials at once on the
default SQLite store, and an MLflow server killed and restarted mid-sweep; and no secret in what is tracked.

Each sweep is a driver process joined to the session's two-node cluster, as in test_sweep.py; what it leaves is
read back through MLflow's client and the sweep's results table.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from study.report import main as report_main
from tests.e2e.helpers import TINY, joined, results, runs, sweep, write_spec
from tests.helpers import free_port
from tuning.sockets import beyond_loopback, descendants

pytestmark = pytest.mark.slow

EPOCHS = 4


def _numeric(metrics: dict) -> dict:
    return {k: v for k, v in metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


def _assert_mlflow_holds_the_table(uri: str, experiment: str, rows: list[dict]) -> None:
    """One child run per trial, and every numeric metric of every epoch in it exactly once."""
    parents, children = runs(uri, experiment)
    assert len(parents) == 1
    assert sorted(c.data.tags["auxlstm.trial_id"] for c in children) == sorted(r["trial_id"] for r in rows)
    client = MlflowClient(uri)
    for child in children:
        row = next(r for r in rows if r["trial_id"] == child.data.tags["auxlstm.trial_id"])
        assert child.info.run_id == row["mlflow_run_id"] and child.info.status == "FINISHED"
        for key in _numeric(row["history"][-1]):  # the last epoch has them all (test accuracy only it)
            logged = [(m.step, m.value) for m in client.get_metric_history(child.info.run_id, key)]
            assert logged == [(h["epoch"], float(h[key])) for h in row["history"] if key in h], key


@pytest.fixture(scope="module")
def interrupted(ray_cluster, tmp_path_factory):
    """Six trials, four at a time on the default SQLite store; Ctrl-C once a trial is part-way, then --resume."""
    cwd = tmp_path_factory.mktemp("interrupted")
    fixed = {**TINY["space"]["fixed"], "train.epochs": EPOCHS}
    spec = write_spec(cwd, "ctrlc", trials=6, concurrency=4, resources={"cpus": 1},
                 space={**TINY["space"], "fixed": fixed})  # fmt: skip
    sweep_dir = cwd / "sweeps" / "c"
    # Its own session, as a terminal's foreground job: Ctrl-C reaches the driver's process group.
    driver = subprocess.Popen(
        joined(ray_cluster, "--study", str(spec), "--name", "c"),
        cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 240
    while not any(r["status"] == "RUNNING" and 0 < len(r["history"]) < EPOCHS for r in results(sweep_dir)):
        assert driver.poll() is None and time.monotonic() < deadline, "the sweep ended before Ctrl-C"
        time.sleep(0.1)
    os.killpg(driver.pid, signal.SIGINT)
    stopped_output = driver.communicate(timeout=120)[0]
    before = {r["trial_id"]: r for r in results(sweep_dir)}
    resumed = sweep(cwd, ray_cluster, "--name", "c", "--resume")
    return cwd, driver.returncode, stopped_output, before, resumed


def test_ctrl_c_stops_a_sweep_saying_how_to_resume_and_the_resume_finishes_it(interrupted):
    cwd, code, output, before, resumed = interrupted
    assert code == 1 and "stopped with" in output
    assert "python -m study.sweep --name c --sweeps-dir sweeps --resume" in output
    assert any(r["status"] == "RUNNING" for r in before.values())  # stopped part-way, not run to the end
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    rows = results(cwd / "sweeps" / "c")
    assert len(rows) == 6 and all(r["status"] == "COMPLETE" for r in rows)
    for row in rows:
        assert [h["epoch"] for h in row["history"]] == list(range(1, EPOCHS + 1))
        done = len(before.get(row["trial_id"], {}).get("history", []))
        if 0 < done < EPOCHS:  # continued from its checkpoint, not retrained from the start
            assert row["metrics"]["resumed_from_epoch"] >= done - 1


def test_four_concurrent_trials_on_sqlite_lose_no_metric_and_never_lock(interrupted):
    cwd, _, output, _, resumed = interrupted
    assert "4 at a time" in output
    rows = results(cwd / "sweeps" / "c")
    running_at = [sum(r["started"] <= t < r["finished"] for r in rows) for t in (r["started"] for r in rows)]
    assert max(running_at) == 4  # four trials really ran at once
    for text in (output, resumed.stdout, resumed.stderr):
        assert "database is locked" not in text and "did not answer" not in text
    _assert_mlflow_holds_the_table(f"sqlite:///{cwd / 'mlflow.db'}", "auxlstm-ctrlc", rows)


def _start_server(cwd: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    server = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
         "--backend-store-uri", f"sqlite:///{cwd / 'server.db'}", "--workers", "1"],
        cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 90
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
                if response.status == 200:
                    assert beyond_loopback(descendants([server.pid])) == []  # it listens on 127.0.0.1 only
                    return server
        except OSError:
            assert server.poll() is None and time.monotonic() < deadline, "the MLflow server did not start"
            time.sleep(0.3)


def _stop(server: subprocess.Popen, sig: int) -> None:
    os.killpg(server.pid, sig)  # the server's workers are in its process group
    server.wait(timeout=30)


@pytest.fixture(scope="module")
def served(ray_cluster, tmp_path_factory):
    """A sweep logging to a real MLflow server, which is SIGKILLed after the first epoch and restarted two
    epochs later. The tracking URI carries a password, and credential-like variables are planted."""
    cwd = tmp_path_factory.mktemp("served")
    port = free_port()
    planted = {name: secrets.token_hex(12) for name in ("AUXLSTM_TEST_SECRET_TOKEN", "DB_PASSWORD", "MY_API_KEY")}
    password = secrets.token_hex(12)
    uri = f"http://alice:{password}@127.0.0.1:{port}"
    fixed = {**TINY["space"]["fixed"], "train.epochs": 8, "model.kind": "lstm"}
    # A credential pasted into the description (it becomes the parent run's note): masked like the rest.
    spec = write_spec(cwd, "served", trials=2, space={"nuisance": TINY["space"]["nuisance"], "fixed": fixed},
                 description=f"tried with token {planted['AUXLSTM_TEST_SECRET_TOKEN']}")  # fmt: skip
    sweep_dir = cwd / "sweeps" / "s"
    server = _start_server(cwd, port)
    driver = subprocess.Popen(
        joined(ray_cluster, "--study", str(spec), "--name", "s", "--tracking-uri", uri),
        cwd=cwd, env={**os.environ, **planted}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 240

        def wait_for_epochs(count: int) -> None:
            while max((len(r["history"]) for r in results(sweep_dir)), default=0) < count:
                assert driver.poll() is None and time.monotonic() < deadline, "the sweep ended too early"
                time.sleep(0.1)

        wait_for_epochs(1)
        _stop(server, signal.SIGKILL)
        killed_at = max(len(r["history"]) for r in results(sweep_dir))
        wait_for_epochs(killed_at + 2)  # epochs reported while nothing answers
        server = _start_server(cwd, port)
        output = driver.communicate(timeout=240)[0]
        yield cwd, uri, planted, password, driver.returncode, output
    finally:
        if driver.poll() is None:
            driver.kill()
        _stop(server, signal.SIGTERM)


def test_a_tracking_server_killed_mid_sweep_and_restarted_loses_no_metric_and_duplicates_no_run(served):
    cwd, uri, _, _, code, output = served
    assert code == 0, output[-3000:]
    # Sent by the running sweep once the server answered, or at its end if the restart took longer.
    assert "did not answer" in output and ("answers again" in output or "sent MLflow what it lacked" in output)
    rows = results(cwd / "sweeps" / "s")
    assert len(rows) == 2 and all(r["status"] == "COMPLETE" for r in rows)  # no trial crashed because of it
    _assert_mlflow_holds_the_table(uri, "auxlstm-served", rows)
    assert not (cwd / "mlflow.db").exists()  # nothing went to the default store


def _texts_of_runs(uri: str, experiment: str, tmp: Path) -> tuple[list[str], list[str]]:
    """Every run's name, params and tags; and its artifact files, as text."""
    client = MlflowClient(uri)
    found = client.get_experiment_by_name(experiment)
    fields, files = [], []
    for run in client.search_runs([found.experiment_id], max_results=100):
        fields += [run.info.run_name, *run.data.params.values(), *run.data.tags.values()]
        local = Path(client.download_artifacts(run.info.run_id, "", str(tmp / run.info.run_id)))
        files += [p.read_text(errors="replace") for p in local.rglob("*") if p.is_file()]
    return fields, files


def test_no_secret_reaches_mlflow_the_export_or_the_report(served, tmp_path, monkeypatch):
    cwd, uri, planted, password, code, _ = served
    assert code == 0
    for name, value in planted.items():
        monkeypatch.setenv(name, value)  # the report runs here, with the same environment as the sweep
    assert report_main(["--sweep", str(cwd / "sweeps" / "s")]) == 0  # logged to the parent run
    fields, files = _texts_of_runs(uri, "auxlstm-served", tmp_path)
    assert len(files) >= 2 * 3 + 1  # each trial's history, metrics and config; the parent's report
    assert any("--tracking-uri http://alice:***@127.0.0.1" in t for t in fields)  # the command tag, masked
    assert any("tried with token ***" in t for t in fields)  # the description, masked
    exported = [p.read_text(errors="replace") for p in (cwd / "sweeps" / "s" / "export").rglob("*") if p.is_file()]
    assert any("alice:***@" in t for t in exported)  # the tracking URI, masked
    texts = fields + files + exported
    for secret in [password, *planted.values()]:
        assert not any(secret in t for t in texts)
