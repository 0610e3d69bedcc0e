"""Faults inside a real sweep (issue 12): a trial out of memory, a killed Ray Train worker, a damaged checkpoint.

Each sweep runs as its own `python -m study.sweep` driver joined to the session's two-node cluster; what it leaves
behind is read back from its results table, Optuna's storage and MLflow (SQLite).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import optuna
import pytest
import yaml
from mlflow.tracking import MlflowClient

from models.checkpoint import load_checkpoint
from tests.e2e.helpers import joined, results, runs, sweep
from tests.helpers import cmdline
from tuning.sockets import descendants

pytestmark = pytest.mark.slow

FIXED = {"model.kind": "lstm", "train.epochs": 3, "data.limit_train": 512, "data.limit_eval": 256}
IMPOSSIBLE = 4_000_000  # LSTM units: 256 TB of weights, past the 128 TiB address space, so allocation fails at once


def _spec(tmp_path: Path, name: str, **spec) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump({"name": name, "base": "quickstart.yaml", "scheduler": {"kind": "fifo"}, **spec}))
    return path


def _start(cwd: Path, cluster, *args: str) -> subprocess.Popen:
    """A sweep driver in the background, its output in cwd/driver.log (a file: a pipe nobody reads could fill)."""
    with (cwd / "driver.log").open("w") as log:
        return subprocess.Popen(joined(cluster, *args), cwd=cwd,
                                stdout=log, stderr=subprocess.STDOUT)  # fmt: skip


def _children(tmp_path: Path, experiment: str) -> list:
    return runs(f"sqlite:///{tmp_path / 'mlflow.db'}", experiment)[1]


def _optuna(sweep_dir: Path, name: str) -> list:
    return optuna.load_study(study_name=name, storage=f"sqlite:///{sweep_dir / 'optuna.db'}").trials


def test_trials_out_of_memory_fail_with_the_reason_once_and_the_sweep_goes_on(ray_cluster, tmp_path):
    # A memory model that predicts 10 MB for everything: no trial is refused before it starts, so the budget is
    # met only by what each trial measures.
    names = ["supervised", "auxiliary", "decoder", "logits", "attention", "tokens"]
    peak = {"target": "peak_memory_mb", "device": "cpu", "names": names, "intercept": 10.0, "coef": [0] * 6}
    peak.update(relative_error=0.1, runs=9)
    (tmp_path / "model.json").write_text(json.dumps({"train": peak, "eval": None}))
    spec = _spec(
        tmp_path, "oom", space={"scientific": {"model.d_hidden": {"choice": [IMPOSSIBLE, 768, 128]}}, "fixed": FIXED},
        points={"grid": ["model.d_hidden"]}, concurrency=3,
    )  # fmt: skip
    result = sweep(tmp_path, ray_cluster, "--study", str(spec), "--name", "oom", "--memory-budget-mb", "250",
                    "--memory-model", str(tmp_path / "model.json"))  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    sweep_dir = tmp_path / "sweeps" / "oom"
    rows = {r["params"]["model.d_hidden"]: r for r in results(sweep_dir)}
    assert sorted(rows) == [128, 768, IMPOSSIBLE]

    # The allocation that cannot succeed: failed with the allocator's message and the fix, before any epoch.
    impossible = rows[IMPOSSIBLE]
    assert impossible["status"] == "FAILED" and impossible["history"] == []
    assert "out of memory: " in impossible["reason"] and "can't allocate memory" in impossible["reason"]
    assert impossible["reason"].endswith("lower model.d_hidden / data.batch_size or set --memory-budget-mb")
    # Over the budget: failed after the epoch that measured it (recorded, so the peak shows in the table).
    over = rows[768]
    assert over["status"] == "FAILED" and [h["epoch"] for h in over["history"]] == [1]
    measured = over["history"][0]["peak_memory_mb"]
    assert measured > 250 and f"peak memory {measured:,.0f} MB over the budget 250 MB in epoch 1" in over["reason"]
    small = rows[128]
    assert small["status"] == "COMPLETE" and [h["epoch"] for h in small["history"]] == [1, 2, 3]
    assert max(h["peak_memory_mb"] for h in small["history"]) <= 250

    # Run once: Tune's one retry of each failed trial stopped at the marker its first run left, before training.
    for row in (impossible, over):
        (trial_dir,) = (sweep_dir / "ray" / "oom").glob(f"sweep_trial_*{row['trial_id']}*")
        error = (trial_dir / "error.txt").read_text()
        assert error.count("Failure #") == 2 and error.count("in run_config") == 1, error[-3000:]
        assert (trial_dir / "out-of-memory.txt").read_text() in row["reason"]
    assert f"trial {impossible['trial_id']} failed: " in result.stdout

    # Optuna: both taught to TPE as infeasible (tuning.failure_feedback), the over-budget one by how far it went.
    by_value = {t.params["model.d_hidden"]: (t.state.name, t.constraints) for t in _optuna(sweep_dir, "oom")}
    assert by_value == {
        IMPOSSIBLE: ("PRUNED", {"memory_mb": 1.0}),  # the allocation failed before any peak was measured
        768: ("PRUNED", {"memory_mb": pytest.approx(measured - 250)}),
        128: ("COMPLETE", {}),
    }
    children = {c.data.tags["auxlstm.trial_id"]: c for c in _children(tmp_path, "auxlstm-oom")}
    assert len(children) == 3
    for row in rows.values():
        child = children[row["trial_id"]]
        assert child.info.status == ("FINISHED" if row["status"] == "COMPLETE" else "FAILED")
        assert child.data.tags.get("auxlstm.reason") == row.get("reason")


def _descendants(title: bytes) -> list[int]:
    """Processes of this session's cluster (descendants of this process: other sessions on the machine have their
    own) whose title holds `title`, e.g. b"RayTrainWorker"."""
    return [pid for pid in descendants([os.getpid()])[1:] if title in cmdline(pid)]


def test_a_killed_worker_of_a_multi_worker_trial_resumes_from_its_last_checkpoint(ray_cluster, tmp_path):
    spec = _spec(
        tmp_path, "wkill", resources={"cpus": 1, "workers": 2}, trials=1, points=[{"train.lr": 0.003}],
        space={"nuisance": {"train.lr": {"float": [1.0e-3, 1.0e-2], "log": True}},
               "fixed": {**FIXED, "train.epochs": 4, "data.limit_train": 1536}},
    )  # fmt: skip
    sweep_dir = tmp_path / "sweeps" / "wkill"
    driver = _start(tmp_path, ray_cluster, "--study", str(spec), "--name", "wkill")
    deadline, killed = time.monotonic() + 240, None
    try:
        while time.monotonic() < deadline and killed is None:  # once the trial has reported an epoch
            rows = results(sweep_dir)
            workers = _descendants(b"RayTrainWorker")
            if rows and rows[0]["status"] == "RUNNING" and 1 <= len(rows[0]["history"]) < 3 and len(workers) == 2:
                killed = (max(workers), len(rows[0]["history"]))
                os.kill(killed[0], signal.SIGKILL)
            assert driver.poll() is None, "the sweep ended before a worker could be killed"
            time.sleep(0.1)
        assert killed, "no Ray Train worker of the trial was found"
        assert driver.wait(timeout=300) == 0, (tmp_path / "driver.log").read_text()[-3000:]
    finally:
        driver.kill()  # a no-op once it has exited

    (row,) = results(sweep_dir)
    assert row["status"] == "COMPLETE" and row["metrics"]["workers"] == 2
    assert [h["epoch"] for h in row["history"]] == [1, 2, 3, 4]  # every epoch recorded once
    # The replacement worker group continued from the last checkpoint, not from the start: at most the epoch in
    # progress was computed again, or one more where the table had not yet caught up with a report at the kill.
    assert row["metrics"]["resumed_from_epoch"] >= max(1, killed[1] - 1)
    assert [t.state.name for t in _optuna(sweep_dir, "wkill")] == ["COMPLETE"]
    (child,) = _children(tmp_path, "auxlstm-wkill")  # one MLflow run for the trial, not one per worker group
    assert child.data.tags["auxlstm.trial_id"] == row["trial_id"] and child.info.status == "FINISHED"
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    assert [m.step for m in client.get_metric_history(child.info.run_id, "val/accuracy")] == [1, 2, 3, 4]


def _settled(sweep_dir: Path, quiet: float = 2.0, timeout: float = 60) -> dict:
    """The results row of the sweep's one trial once its checkpoint has not changed for `quiet` seconds: a frozen
    trial reports nothing more, but a report it made before can still be on its way to being registered."""
    deadline = time.monotonic() + timeout
    last, since = None, time.monotonic()
    while time.monotonic() < deadline:
        rows = results(sweep_dir)
        if rows and rows[0].get("checkpoint") != last:
            last, since = rows[0].get("checkpoint"), time.monotonic()
        elif rows and time.monotonic() - since >= quiet:
            return rows[0]
        time.sleep(0.1)
    raise AssertionError(f"the trial's checkpoint was still changing after {timeout} s")


def test_a_restored_trial_whose_latest_checkpoint_is_damaged_resumes_from_the_one_before(ray_cluster, tmp_path):
    spec = _spec(
        tmp_path, "damaged", trials=1, points=[{"train.lr": 0.003}],
        space={"nuisance": {"train.lr": {"float": [1.0e-3, 1.0e-2], "log": True}},
               "fixed": {**FIXED, "train.epochs": 5, "data.limit_train": 2048}},
    )  # fmt: skip
    sweep_dir = tmp_path / "sweeps" / "damaged"
    driver = _start(tmp_path, ray_cluster, "--study", str(spec), "--name", "damaged", "--verbose")  # trial output
    deadline, damaged = time.monotonic() + 240, None
    try:
        while time.monotonic() < deadline and damaged is None:  # once Tune registered the trial's second checkpoint
            rows = results(sweep_dir)
            trials = _descendants(b"ImplicitFunc")
            if rows and rows[0]["status"] == "RUNNING" and rows[0].get("checkpoint", "").endswith("_000001") and trials:
                os.kill(trials[0], signal.SIGSTOP)  # frozen: it writes and reports no checkpoint from here on
                try:
                    row = _settled(sweep_dir)  # what it reported before is registered by now
                    latest = Path(row["checkpoint"])  # the one Tune restores the trial from
                    damaged = (latest, load_checkpoint(latest / "checkpoint.pt")["epoch"], row["status"])
                    path = latest / "checkpoint.pt"
                    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
                finally:
                    os.kill(trials[0], signal.SIGKILL)
                assert damaged[2] == "RUNNING" and damaged[1] < 5, f"stopped too late: {damaged}"  # epochs to go
            assert driver.poll() is None, "the sweep ended before its trial could be killed"
            time.sleep(0.1)
        assert damaged, "the trial was not found running"
        assert damaged[0].name == f"checkpoint_{damaged[1] - 1:06d}", damaged  # one Tune checkpoint an epoch
        assert driver.wait(timeout=300) == 0, (tmp_path / "driver.log").read_text()[-3000:]
    finally:
        driver.kill()

    (row,) = results(sweep_dir)
    assert row["status"] == "COMPLETE" and [h["epoch"] for h in row["history"]] == [1, 2, 3, 4, 5]
    assert row["metrics"]["resumed_from_epoch"] == damaged[1] - 1  # the checkpoint before the damaged one
    printed = (tmp_path / "driver.log").read_text()
    assert f"warning: {damaged[0] / 'checkpoint.pt'} is not a readable checkpoint, truncated or damaged" in printed
    assert f"resuming from the older checkpoint {damaged[0].parent}/checkpoint_" in printed
    assert f"(epoch {damaged[1] - 1})" in printed
    (child,) = _children(tmp_path, "auxlstm-damaged")
    assert child.info.status == "FINISHED" and child.data.tags["auxlstm.trial_id"] == row["trial_id"]
