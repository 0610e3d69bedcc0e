"""Sweeps on a cluster whose nodes share no disk (issue 21): storage in a bucket, the driver submitted as a Ray job,
a NaN trial, a node lost mid-trial, the driver and the head lost and the sweep resumed, and a Ray Train trial
across two nodes.

The head offers no CPUs, so every trial runs on the worker node, which sees none of the driver's files (its state,
its data cache, the project's code); only the last case adds a CPU node beside the head, for the Ray Train
worker that must be on another node. Each case is asserted from the results table, Optuna's storage, MLflow
(through its server) and the bucket. The commands are the README's ("On a cluster"), addresses aside.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import yaml

from tests.cluster.nodes import BUCKET, DASHBOARD, GCS, MLFLOW, PROJECT, S3, NamespacedCluster

STORAGE = f"s3://{BUCKET}/ray"
FIXED = {"train.epochs": 2, "data.limit_train": 256, "data.limit_eval": 128, "aux.segment_len": 20}


def _spec(cluster: NamespacedCluster, name: str, **spec) -> Path:
    path = cluster.state / f"{name}.yaml"
    path.write_text(yaml.safe_dump({"name": name, "base": "quickstart.yaml", "scheduler": {"kind": "fifo"}, **spec}))
    return path


def _sweep_args(cluster: NamespacedCluster, name: str, *args: str) -> list[str]:
    """`study.sweep` as the README runs it on a cluster: the bucket, its endpoint, the MLflow server, a sweeps
    folder that outlives the driver, and the data the head prepared."""
    return [
        "-m", "study.sweep", "--name", name, "--storage", STORAGE, "--storage-endpoint", S3,
        "--tracking-uri", MLFLOW, "--sweeps-dir", str(cluster.state / "sweeps"), "--data-dir", str(cluster.data_dir),
        *args,
    ]  # fmt: skip


def _driver(cluster: NamespacedCluster, args: list[str], **kw) -> subprocess.CompletedProcess:
    """The driver in the head's namespace, joining the cluster by its address, with the bucket's keys."""
    return cluster.run([sys.executable, *args, "--address", GCS], env={**cluster.ray_env(), **cluster.keys},
                       cwd=PROJECT, **kw)  # fmt: skip


def _ray_job(cluster: NamespacedCluster, *args: str) -> subprocess.CompletedProcess:
    """`ray job ARGS` against the head's Jobs API, with the token."""
    return cluster.run([cluster.bin / "ray", "job", *args[:1], "--address", DASHBOARD, *args[1:]],
                       env=cluster.ray_env(), cwd=PROJECT)  # fmt: skip


def _submit(cluster: NamespacedCluster, *args: str) -> subprocess.CompletedProcess:
    """`ray job submit --working-dir . ARGS`, as the README submits a sweep."""
    return _ray_job(cluster, "submit", "--working-dir", str(PROJECT), *args)


def _rows(cluster: NamespacedCluster, name: str) -> list[dict]:
    try:
        return json.loads((cluster.state / "sweeps" / name / "results.json").read_text())
    except (OSError, ValueError):
        return []


def _recorded(cluster: NamespacedCluster, name: str) -> dict:
    return json.loads((cluster.state / "sweeps" / name / "sweep.json").read_text())


def _wait_for(check, what: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.3)


def test_without_storage_every_node_reaches_the_sweep_is_refused_before_anything_starts(cluster):
    started = time.monotonic()
    done = _driver(cluster, ["-m", "study.sweep", "--smoke-test", "--name", "local-storage",
                             "--sweeps-dir", str(cluster.state / "sweeps"), "--tracking-uri", MLFLOW])  # fmt: skip
    assert done.returncode == 2, done.stderr[-2000:]
    assert "--storage" in done.stderr and "s3://" in done.stderr and "cannot reach it" in done.stderr
    assert time.monotonic() - started < 30  # refused up front: no trial ran for an epoch first
    assert not (cluster.state / "sweeps" / "local-storage").exists()


def test_sweeps_submitted_as_ray_jobs_train_without_the_drivers_disk_or_are_refused_for_state_in_rays_folder(cluster):
    # Two trials that train and one whose loss becomes NaN: it fails with its reason and is not retried.
    spec = _spec(
        cluster, "submitted", trials=3,
        space={"scientific": {"model.kind": {"choice": ["lstm", "r_lstm"]}},
               "nuisance": {"train.lr": {"choice": [0.003, 1.0e30]}}, "fixed": FIXED},
        points=[{"model.kind": "lstm", "train.lr": 0.003}, {"model.kind": "r_lstm", "train.lr": 0.003},
                {"model.kind": "lstm", "train.lr": 1.0e30}],
    )  # fmt: skip
    # Beside it, a job that would keep its state in Ray's temporary copy of the folder: refused before it starts.
    refused = _submit(cluster, "--submission-id", "refused", "--no-wait", "--", sys.executable, "-m", "study.sweep",
                      "--smoke-test", "--storage", STORAGE, "--storage-endpoint", S3)  # fmt: skip
    assert refused.returncode == 0, refused.stderr[-2000:]
    done = _submit(cluster, "--", sys.executable, *_sweep_args(cluster, "job", "--study", str(spec), "--no-report"))
    assert done.returncode == 0 and "succeeded" in done.stdout, (done.stdout + done.stderr)[-4000:] + cluster.logs()
    logs = _ray_job(cluster, "logs", "refused")  # it ended long before the other (the job's exit is its own)
    assert "state error" in logs.stdout and "--sweeps-dir sweeps" in logs.stdout, logs.stdout + logs.stderr
    assert "--tracking-uri" in logs.stdout and "failed" in _ray_job(cluster, "status", "refused").stdout.lower()
    rows = _rows(cluster, "job")
    assert len(rows) == 3
    good = [r for r in rows if r["params"]["train.lr"] < 1]
    (nan,) = [r for r in rows if r["params"]["train.lr"] > 1]
    assert [r["status"] for r in good] == ["COMPLETE", "COMPLETE"]
    # The trials read the driver's data, shipped through the bucket: the same checksum.
    driver_checksum = dict(i.split(":", 1) for i in _recorded(cluster, "job")["data_checksum"].split())["mnist"]
    assert {r["data_checksum"] for r in good} == {driver_checksum}
    # Checkpoints in the bucket, named with their scheme; none on the driver's disk.
    keys = cluster.bucket()
    for row in good:
        assert row["checkpoint"].startswith(f"{STORAGE}/job/"), row["checkpoint"]
        assert any(k.startswith(row["checkpoint"].removeprefix(f"s3://{BUCKET}/")) for k in keys)
    assert not list((cluster.state / "sweeps" / "job").rglob("checkpoint*"))
    # The NaN trial: its reason, kept in the bucket beside the trial, so the retry Tune would make is refused.
    assert nan["status"] == "FAILED" and "nan" in nan["reason"].lower(), nan
    assert any(k.endswith("/diverged.txt") for k in keys)
    # Optuna: taught to TPE as infeasible (tuning.failure_feedback), not FAIL, which TPE would ignore.
    assert [state for params, state in _optuna_states(cluster, "job") if params["train.lr"] > 1] == ["PRUNED"]
    assert sorted(state for params, state in _optuna_states(cluster, "job")) == ["COMPLETE", "COMPLETE", "PRUNED"]
    # MLflow: one run per trial, their files in the bucket through the server (the driver holds no S3 keys).
    _, children = _mlflow(cluster, "auxlstm-submitted")
    assert len(children) == 3 and all(r["artifact_uri"].startswith("mlflow-artifacts:") for r in children)
    for run in children:
        assert any(k.startswith("mlflow/") and run["run_id"] in k for k in keys), run
    (failed,) = [r for r in children if r["status"] == "FAILED"]
    assert failed["tags"]["auxlstm.trial_id"] == nan["trial_id"] and "nan" in failed["tags"]["auxlstm.reason"]


def _mlflow(cluster: NamespacedCluster, experiment: str) -> tuple[list[dict], list[dict]]:
    """The experiment's parent runs and trial runs, through the MLflow server (tests/cluster/mlflow_view.py)."""
    done = cluster.run([sys.executable, "-m", "tests.cluster.mlflow_view", MLFLOW, experiment], cwd=PROJECT)
    assert done.returncode == 0, done.stderr[-2000:]
    runs = json.loads(done.stdout)
    return [r for r in runs if r["role"] == "sweep"], [r for r in runs if r["role"] == "trial"]


def _optuna_states(cluster: NamespacedCluster, name: str) -> list[tuple[dict, str]]:
    storage = f"sqlite:///{cluster.state / 'sweeps' / name / 'optuna.db'}"
    return [(t.params, t.state.name) for t in optuna.load_study(study_name=name, storage=storage).trials]


def _resume_args(cluster: NamespacedCluster, name: str) -> list[str]:
    """`--resume`: the sweep keeps its storage and endpoint (start-only, in its sweep.json)."""
    return ["-m", "study.sweep", "--name", name, "--resume", "--no-report", "--tracking-uri", MLFLOW,
            "--sweeps-dir", str(cluster.state / "sweeps"), "--data-dir", str(cluster.data_dir)]  # fmt: skip


def _background_sweep(cluster: NamespacedCluster, name: str, spec: Path) -> subprocess.Popen:
    argv = [sys.executable, *_sweep_args(cluster, name, "--study", str(spec), "--no-report"), "--address", GCS]
    return cluster.background(argv, env={**cluster.ray_env(), **cluster.keys}, log=f"{name}-driver")


def _epochs(cluster: NamespacedCluster, name: str) -> int:
    return max((len(r["history"]) for r in _rows(cluster, name)), default=0)


def _resumed(cluster: NamespacedCluster, name: str) -> set[str]:
    """The trials that continued from a checkpoint (an epoch reported `resumed_from_epoch` above 0)."""
    return {r["trial_id"] for r in _rows(cluster, name) if any(h.get("resumed_from_epoch") for h in r["history"])}


def test_a_sweep_that_lost_a_node_then_its_driver_and_head_resumes_and_every_trial_finishes_once(cluster):
    epochs = 3
    spec = _spec(cluster, "lost", trials=3, concurrency=2,
                 space={"scientific": {"model.kind": {"choice": ["lstm", "r_lstm"]}},
                        "fixed": {**FIXED, "train.epochs": epochs}})  # fmt: skip
    driver = _background_sweep(cluster, "lost", spec)

    def one_done_one_part_way() -> bool:
        rows = _rows(cluster, "lost")
        running = any(r["status"] == "RUNNING" and 0 < len(r["history"]) < epochs for r in rows)
        return (running and any(r["status"] == "COMPLETE" for r in rows)) or driver.poll() is not None

    try:
        # The worker node lost mid-trial (its raylet SIGKILLed): a fresh node takes its trials over from their
        # checkpoints in the bucket.
        _wait_for(lambda: _epochs(cluster, "lost") >= 2 or driver.poll() is not None, "two epochs")
        cluster.kill_worker_raylet()
        cluster.workers[-1].wait(timeout=60)  # the node's blocking start ends with its raylet
        cluster.add_worker()
        _wait_for(lambda: _resumed(cluster, "lost") or driver.poll() is not None, "a trial resumed on the new node")
        after_node_loss = _resumed(cluster, "lost")
        # Then the driver SIGKILLed, and the head with the whole Ray cluster: a new head and worker, the same
        # bucket and sweeps folder.
        _wait_for(one_done_one_part_way, "a finished trial and one part-way")
    finally:
        driver.send_signal(signal.SIGKILL)
        driver.wait()
    assert after_node_loss, cluster.logs()
    before = {r["trial_id"]: r for r in _rows(cluster, "lost")}
    assert sum(r["status"] == "COMPLETE" for r in before.values()) < 3, before  # killed before its end
    cluster.replace_ray()
    done = _driver(cluster, _resume_args(cluster, "lost"))
    assert done.returncode == 0, done.stderr[-3000:] + cluster.logs()
    rows = _rows(cluster, "lost")
    assert len(rows) == 3 and all(r["status"] == "COMPLETE" for r in rows), rows
    assert all([h["epoch"] for h in r["history"]] == list(range(1, epochs + 1)) for r in rows)  # each once
    # The trial that was running continues (Tune's state and its checkpoint came back from the bucket) on the same
    # MLflow run; a sweeps folder on the lost head's own disk would be gone with it: --sweeps-dir must outlive it.
    interrupted = [t for t, r in before.items() if r["status"] == "RUNNING" and r["history"]]
    assert interrupted
    for trial_id in interrupted:
        row = next(r for r in rows if r["trial_id"] == trial_id)
        assert row["mlflow_run_id"] == before[trial_id]["mlflow_run_id"]
        if len(before[trial_id]["history"]) < epochs:  # or the checkpoint before, when the kill fell in between
            assert row["metrics"]["resumed_from_epoch"] >= len(before[trial_id]["history"]) - 1
    assert [state for _, state in _optuna_states(cluster, "lost")] == ["COMPLETE"] * 3
    parents, children = _mlflow(cluster, "auxlstm-lost")
    assert len(parents) == 1 and len(children) == 3 and all(c["status"] == "FINISHED" for c in children)
    assert {c["tags"]["auxlstm.trial_id"] for c in children} == {r["trial_id"] for r in rows}
    assert all([step for step, _ in c["curves"]["val/accuracy"]] == list(range(1, epochs + 1)) for c in children)
    # The parent's curves continue on the same run: one point per ended trial, none twice.
    assert [step for step, _ in parents[0]["curves"]["trials/complete"]] == [1, 2, 3]
    best = sorted(parents[0]["curves"]["best/val/accuracy"])
    assert [s for s, _ in best] == sorted({s for s, _ in best}) and best[-1][0] == 3


def test_searched_worker_counts_run_their_own_trials_and_two_workers_spread_over_two_nodes(cluster):
    node = cluster.add_head_side_node(cpus=2)  # on the driver's disk, like a head that offers CPUs
    try:
        spec = _spec(cluster, "spread", points={"grid": ["resources.workers"]},
                     resources={"cpus": 1, "placement": "strict_spread"},
                     space={"scientific": {"resources.workers": {"choice": [1, 2]}},
                            "fixed": {**FIXED, "model.kind": "lstm"}})  # fmt: skip
        done = _driver(cluster, _sweep_args(cluster, "spread", "--study", str(spec)))
        assert done.returncode == 0, done.stderr[-3000:] + cluster.logs()
        rows = sorted(_rows(cluster, "spread"), key=lambda r: r["params"]["resources.workers"])
        assert [r["status"] for r in rows] == ["COMPLETE", "COMPLETE"], rows
        assert "workers" not in rows[0]["metrics"] and rows[1]["metrics"]["workers"] == 2  # on Ray Train workers
        assert [h["epoch"] for h in rows[1]["history"]] == [1, 2] and "test_accuracy" in rows[1]["metrics"]
        assert "--workers" not in rows[0]["command"] and "--workers 2" in rows[1]["command"]
        assert rows[1]["checkpoint"].startswith(f"{STORAGE}/spread-train/"), rows[1]["checkpoint"]
        # The two Ray Train workers one on each node (Gloo between them, over the veth pair).
        assert cluster.train_workers_on(node) == 1 and cluster.train_workers_on(cluster.workers[-1]) == 1
        report = (cluster.state / "sweeps" / "spread" / "report" / "report.md").read_text()
        assert "## Data-parallel workers" in report and "| LSTM Truncate50 on mnist | 2 |" in report
    finally:
        cluster.stop_node(node)
