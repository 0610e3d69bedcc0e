"""Data-parallel training on a real two-node Ray cluster: equivalence with one worker, and fault tolerance."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest
import ray.train

from data import default_data_dir
from data.config import DataConfig
from models import AuxConfig, ModelConfig, TrainConfig
from models.checkpoint import load_checkpoint
from study.run.config import RunConfig
from study.run.runner import run_config
from study.train import main as train_main
from tests.helpers import cmdline
from tuning.cluster import node_process_ids
from tuning.ray_train import WorkerConfig, run_distributed

pytestmark = pytest.mark.slow


def _config(kind: str, epochs: int, seq_len: int = 40, limit_train: int = 512) -> WorkerConfig:
    cfg = RunConfig(
        model=ModelConfig(kind=kind, d_hidden=16, d_ffn=16, dropconnect=0.0),
        aux=AuxConfig(segment_len=10, truncation=10, pretrain_epochs=0, decoder_units=16),
        train=TrainConfig(epochs=epochs, truncation=10),
        data=DataConfig(name="synthetic", seq_len=seq_len, batch_size=32, limit_train=limit_train, limit_eval=256),
    )
    return WorkerConfig(run=run_config, config=cfg, data_dir=str(default_data_dir(os.environ.get("AUXLSTM_DATA_DIR"))))


def test_two_workers_on_two_nodes_match_one_worker_with_the_same_global_batch(ray_cluster, tmp_path):
    cfg = _config("lstm", epochs=2)
    one = run_distributed(cfg, name="one", storage=str(tmp_path), workers=1)
    two = run_distributed(
        cfg, name="two", storage=str(tmp_path), workers=2, placement_strategy="STRICT_SPREAD",
        download_to=tmp_path / "final.pt",
    )  # fmt: skip
    assert (one["workers"], two["workers"], two["nodes"]) == (1, 2, 2)  # one worker on each node
    assert load_checkpoint(tmp_path / "final.pt")["epoch"] == 2
    # Same examples per global step and averaged gradients: only float summation order differs.
    for key in ("train/loss", "val/loss"):
        assert two[key] == pytest.approx(one[key], rel=1e-4), key
    for key in ("val/accuracy", "test_accuracy"):
        assert abs(two[key] - one[key]) <= 2 / 256, key  # at most a couple of borderline examples flip


class RegisteredCheckpoints(ray.train.UserCallback):
    """Leaves `epoch_N` in `directory` once the Train controller has registered epoch N's checkpoint.

    Ray calls `after_report` in the controller after its checkpoint manager registered the report's checkpoint,
    so a worker group that fails after the file appears is replaced from that checkpoint (or a later one).
    Defined at module level: the controller actor imports it as tests.tuning.test_ray_train.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = str(directory)

    def after_report(self, run_context, metrics, checkpoint) -> None:
        if checkpoint is not None:
            (Path(self.directory) / f"epoch_{metrics[0]['epoch']}").touch()


def _registered(directory: Path) -> int:
    """The latest epoch whose checkpoint the controller has registered (0: none yet)."""
    return max((int(p.name.removeprefix("epoch_")) for p in directory.glob("epoch_*")), default=0)


def _train_workers(cluster) -> set[int]:
    """Ray Train worker processes of this test's cluster: descendants of its nodes' processes, never another
    process on the machine (another session's cluster, say)."""
    pids = {pid for node in cluster.list_all_nodes() for pid in node_process_ids(node)}
    return {pid for pid in pids if b"RayTrainWorker" in cmdline(pid)}


def test_a_killed_worker_is_replaced_and_training_resumes_from_the_latest_checkpoint(ray_cluster, tmp_path):
    cfg = _config("r_lstm", epochs=5, seq_len=300, limit_train=4096)  # epochs of about 2 s
    registered = tmp_path / "registered"
    registered.mkdir()
    earlier = _train_workers(ray_cluster)  # an earlier test's workers, should any still be exiting: not this run's
    finished = threading.Event()
    seen: dict[str, object] = {}

    def kill_a_worker_once_epoch_two_is_registered() -> None:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and not finished.is_set():
            if _registered(registered) >= 2:
                ours = sorted(_train_workers(ray_cluster) - earlier)
                if not ours:
                    seen["error"] = "epoch 2 was registered, but no RayTrainWorker process of this run was found"
                    return
                seen["registered_at_kill"] = _registered(registered)
                os.kill(ours[0], signal.SIGKILL)
                seen["killed"] = ours[0]
                return
            time.sleep(0.02)  # polling the marker, not timing the epoch
        ended = finished.is_set()
        seen["error"] = f"epoch 2 was not registered {'before the run ended' if ended else 'within 300 s'}: no kill"

    killer = threading.Thread(target=kill_a_worker_once_epoch_two_is_registered)
    killer.start()
    try:
        final = run_distributed(cfg, name="fault", storage=str(tmp_path), workers=2, max_failures=2,
                                callbacks=[RegisteredCheckpoints(registered)])  # fmt: skip
    finally:
        finished.set()
        killer.join()
    assert "killed" in seen, seen.get("error")
    assert seen["registered_at_kill"] < 5, "the kill came after the last epoch: nothing was left to resume"
    assert final["epoch"] == 5 and "test_accuracy" in final
    # A replacement group ran (a first group reports 0), from the checkpoint registered before the kill or a later
    # one: no epoch whose checkpoint had been registered was computed twice.
    assert final["resumed_from_epoch"] >= 2
    assert final["resumed_from_epoch"] >= seen["registered_at_kill"]


def test_cli_runs_two_workers(ray_cluster, tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["--out", str(out), "--workers", "2", "--address", ray_cluster.address, "--shared-storage",
            "--smoke-test", "--set", "data.name=synthetic", "--set", "data.seq_len=40", "--set", "aux.segment_len=10",
            "--set", "aux.truncation=10", "--set", "train.truncation=10"]  # fmt: skip
    assert train_main(argv) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["workers"] == 2 and metrics["epochs"] == 2
    assert (out / "checkpoint.pt").exists() and len(json.loads((out / "history.json").read_text())) == 2
    assert f"results in {out}" in capsys.readouterr().out
