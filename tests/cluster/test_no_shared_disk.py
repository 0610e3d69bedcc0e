"""Sweeps on a cluster whose nodes share no disk (issue 21): storage in a bucket, the driver submitted as a Ray job,
a NaN trial, a driver killed and resumed, a node lost mid-trial, and a Ray Train trial across two nodes.

The head offers no CPUs, so every trial runs on the worker node, which sees none of the driver's files (its state,
its data cache, the project's code). Each case is asserted from the results table, MLflow (through its server)
and the bucket. The commands are the README's ("On a cluster"), addresses aside.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

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


def test_a_submitted_job_keeping_its_state_in_rays_temporary_folder_is_refused(cluster):
    done = cluster.run([
        cluster.bin / "ray", "job", "submit", "--address", DASHBOARD, "--working-dir", PROJECT, "--",
        sys.executable, "-m", "study.sweep", "--smoke-test", "--storage", STORAGE, "--storage-endpoint", S3,
    ], env=cluster.ray_env(), cwd=PROJECT)  # fmt: skip
    output = done.stdout + done.stderr
    assert "state error" in output and "--sweeps-dir sweeps" in output and "--tracking-uri" in output, output[-3000:]
    assert "failed" in output.lower()


def test_a_sweep_submitted_as_a_ray_job_trains_on_a_node_without_the_drivers_disk(cluster):
    # Two trials that train and one whose loss becomes NaN: it fails with its reason and is not retried.
    spec = _spec(
        cluster, "submitted", trials=3,
        space={"scientific": {"model.kind": {"choice": ["lstm", "r_lstm"]}},
               "nuisance": {"train.lr": {"choice": [0.003, 1.0e30]}}, "fixed": FIXED},
        points=[{"model.kind": "lstm", "train.lr": 0.003}, {"model.kind": "r_lstm", "train.lr": 0.003},
                {"model.kind": "lstm", "train.lr": 1.0e30}],
    )  # fmt: skip
    done = cluster.run([
        cluster.bin / "ray", "job", "submit", "--address", DASHBOARD, "--working-dir", PROJECT, "--",
        sys.executable, *_sweep_args(cluster, "job", "--study", str(spec), "--no-report"),
    ], env=cluster.ray_env(), cwd=PROJECT)  # fmt: skip
    assert done.returncode == 0 and "succeeded" in done.stdout, (done.stdout + done.stderr)[-4000:] + cluster.logs()
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
    # MLflow: one run per trial, their files in the bucket through the server (the driver holds no S3 keys).
    runs = cluster.python(_MLFLOW_RUNS % (MLFLOW, "auxlstm-submitted"), check=True)
    children = [r for r in json.loads(runs.stdout) if r["role"] == "trial"]
    assert len(children) == 3 and all(r["artifact_uri"].startswith("mlflow-artifacts:") for r in children)
    for run in children:
        assert any(k.startswith("mlflow/") and run["run_id"] in k for k in keys), run


_MLFLOW_RUNS = """
import json
from mlflow.tracking import MlflowClient
client = MlflowClient(%r)
experiment = client.get_experiment_by_name(%r)
runs = client.search_runs([experiment.experiment_id], max_results=100)
print(json.dumps([{"run_id": r.info.run_id, "status": r.info.status, "artifact_uri": r.info.artifact_uri,
                   "role": r.data.tags.get("auxlstm.role")} for r in runs]))
"""


def _resume_args(cluster: NamespacedCluster, name: str) -> list[str]:
    """`--resume`: the sweep keeps its storage and endpoint (start-only, in its sweep.json)."""
    return ["-m", "study.sweep", "--name", name, "--resume", "--no-report", "--tracking-uri", MLFLOW,
            "--sweeps-dir", str(cluster.state / "sweeps"), "--data-dir", str(cluster.data_dir)]  # fmt: skip


def _background_sweep(cluster: NamespacedCluster, name: str, spec: Path) -> subprocess.Popen:
    argv = [sys.executable, *_sweep_args(cluster, name, "--study", str(spec), "--no-report"), "--address", GCS]
    return cluster.background(argv, env={**cluster.ray_env(), **cluster.keys}, log=f"{name}-driver")


def _epochs(cluster: NamespacedCluster, name: str) -> int:
    return max((len(r["history"]) for r in _rows(cluster, name)), default=0)


def test_a_killed_driver_resumes_the_sweep_from_the_bucket_and_its_sweeps_folder(cluster):
    spec = _spec(cluster, "killed", trials=2, concurrency=1,
                 space={"scientific": {"model.kind": {"choice": ["lstm", "r_lstm"]}},
                        "fixed": {**FIXED, "train.epochs": 4}})  # fmt: skip
    driver = _background_sweep(cluster, "killed", spec)
    try:
        _wait_for(lambda: _epochs(cluster, "killed") >= 1 or driver.poll() is not None, "the first epoch")
    finally:
        driver.send_signal(signal.SIGKILL)
        driver.wait()
    assert _epochs(cluster, "killed") >= 1, cluster.logs()
    before = _rows(cluster, "killed")
    assert not any(r["status"] == "COMPLETE" for r in before)
    done = _driver(cluster, _resume_args(cluster, "killed"))
    assert done.returncode == 0, done.stderr[-3000:] + cluster.logs()
    rows = _rows(cluster, "killed")
    assert sorted(r["status"] for r in rows) == ["COMPLETE", "COMPLETE"], rows
    # The trial that was running is continued, not run again as another: Tune's state came back from the bucket.
    assert {r["trial_id"] for r in before} <= {r["trial_id"] for r in rows}


def test_a_lost_worker_node_resumes_its_trial_from_the_bucket_checkpoint_on_a_fresh_node(cluster):
    spec = _spec(cluster, "lost", trials=1, points=[{"model.kind": "lstm"}],
                 space={"scientific": {"model.kind": {"choice": ["lstm", "r_lstm"]}},
                        "fixed": {**FIXED, "train.epochs": 8}})  # fmt: skip
    driver = _background_sweep(cluster, "lost", spec)
    try:
        _wait_for(lambda: _epochs(cluster, "lost") >= 2 or driver.poll() is not None, "two epochs")
        cluster.kill_worker_raylet()
        cluster.workers[-1].wait(timeout=60)  # the node's blocking start ends with its raylet
        cluster.add_worker()
        driver.wait(timeout=240)
    finally:
        if driver.poll() is None:
            driver.kill()
    assert driver.returncode == 0, cluster.logs()
    rows = _rows(cluster, "lost")
    assert len(rows) == 1 and rows[0]["status"] == "COMPLETE", rows
    assert rows[0]["metrics"]["resumed_from_epoch"] > 0 and rows[0]["metrics"]["epoch"] == 8
    assert [h["epoch"] for h in rows[0]["history"]] == list(range(1, 9))  # each epoch recorded once
    runs = json.loads(cluster.python(_MLFLOW_RUNS % (MLFLOW, "auxlstm-lost"), check=True).stdout)
    assert [r["status"] for r in runs if r["role"] == "trial"] == ["FINISHED"]


def test_a_two_worker_ray_train_trial_runs_across_two_nodes(cluster):
    node = cluster.add_head_side_node(cpus=2)  # on the driver's disk, like a head that offers CPUs
    try:
        spec = _spec(cluster, "spread", trials=1, points=[{"model.kind": "lstm"}],
                     resources={"cpus": 1, "workers": 2, "placement": "strict_spread"},
                     space={"scientific": {"model.kind": {"choice": ["lstm", "r_lstm"]}}, "fixed": FIXED})  # fmt: skip
        done = _driver(cluster, _sweep_args(cluster, "spread", "--study", str(spec), "--no-report"))
        assert done.returncode == 0, done.stderr[-3000:] + cluster.logs()
        rows = _rows(cluster, "spread")
        assert [r["status"] for r in rows] == ["COMPLETE"], rows
        assert rows[0]["checkpoint"].startswith(f"{STORAGE}/spread-train/"), rows[0]["checkpoint"]
        # One Ray Train worker on each node (Gloo between them, over the veth pair).
        assert cluster.train_workers_on(node) == 1 and cluster.train_workers_on(cluster.workers[-1]) == 1
    finally:
        cluster.stop_node(node)
