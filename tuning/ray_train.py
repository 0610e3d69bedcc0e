"""Ray Train (V2): the project's one run path on N data-parallel workers, checkpointed and restartable.

Each worker runs `study.run.runner.run_config` (handed in through `WorkerConfig`): it loads the data itself and trains
its shard of every global batch (`data.batch_size` is the global batch); DistributedDataParallel averages
gradients; metric sums are added across workers before they are reported; rank 0 reports a checkpoint every
epoch, and a restarted worker group resumes from the latest one.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ray
import ray.train
import ray.train.torch
import torch
from ray.train import CheckpointConfig, FailureConfig, RunConfig, ScalingConfig
from ray.train.torch import TorchTrainer

from data import DATASETS
from models import MODELS
from models.collective import SINGLE_PROCESS, TorchDistributed
from tuning.cluster import init_ray
from tuning.restore import CHECKPOINT, checkpoint_dir_name, restore_readable
from tuning.storage import Storage


@dataclass(frozen=True)
class WorkerConfig:
    """What every worker runs: `run(config, data_dir, out, **hooks)`, the project's one run path
    (`study.run.runner.run_config`, handed in by the caller: tuning/ does not import study/)."""

    run: Callable[..., dict[str, Any]]
    config: Any  # study.run.config.RunConfig
    data_dir: str


def needs_unused_parameter_search(cfg: Any, variable_length: bool) -> bool:
    """Whether some parameters can get no gradient in a step, which DDP must then look for (at a cost).

    The classifier is idle while pretraining, the auxiliary LSTM in batches of text too short for a segment,
    and the main LSTM of a plain LSTM with `head_only`.
    """
    if MODELS[cfg.model.kind].auxiliary:
        return cfg.aux.pretrain_epochs > 0 or cfg.train.supervised_grad == "head_only" or variable_length
    return cfg.train.supervised_grad == "head_only"


def _count_nodes(world: int) -> int:
    """Distinct Ray nodes hosting the workers (by node id: node ranks come from IPs, shared by local nodes)."""
    node = ray.get_runtime_context().get_node_id()
    if world == 1:
        return 1
    nodes: list[str | None] = [None] * world
    torch.distributed.all_gather_object(nodes, node)
    return len(set(nodes))


def train_worker(config: dict[str, Any]) -> None:
    """The training function of every Ray Train worker."""
    worker: WorkerConfig = config["worker"]
    context = ray.train.get_context()
    rank, world = context.get_world_rank(), context.get_world_size()
    device = ray.train.torch.get_device()
    out = Path(tempfile.mkdtemp(prefix="auxlstm-worker-"))
    latest = ray.train.get_checkpoint()  # set when this worker group replaces one that failed
    resume_from, resumed_from = None, 0
    if latest is not None:
        resume_from = out / "restored.pt"
        resumed_from = restore_readable(latest, resume_from)
    variable_length = DATASETS[worker.config.data.name].variable_length  # batches may lack a segment

    def wrap(module: torch.nn.Module) -> torch.nn.Module:
        return ray.train.torch.prepare_model(
            module, move_to_device=device, parallel_strategy="ddp" if world > 1 else None,
            parallel_strategy_kwargs={
                "find_unused_parameters": needs_unused_parameter_search(worker.config, variable_length)
            },
        )  # fmt: skip

    nodes = _count_nodes(world)

    def report(metrics: dict[str, Any]) -> None:
        metrics = {**metrics, "workers": world, "nodes": nodes, "resumed_from_epoch": resumed_from}
        with tempfile.TemporaryDirectory() as directory:
            checkpoint = None
            if rank == 0:
                shutil.copy(out / CHECKPOINT, Path(directory) / CHECKPOINT)
                checkpoint = ray.train.Checkpoint.from_directory(directory)
            name = checkpoint_dir_name(metrics["epoch"], latest, resumed_from)
            ray.train.report(metrics, checkpoint=checkpoint, checkpoint_dir_name=name)

    worker.run(
        worker.config, Path(worker.data_dir), out, on_epoch=report, wrap=wrap,
        collective=TorchDistributed(device) if world > 1 else SINGLE_PROCESS, shard=(rank, world), device=device,
        resume_from=resume_from,
    )  # fmt: skip


def run_distributed(
    cfg: WorkerConfig,
    *,
    name: str,
    storage: str | Storage,
    workers: int,
    gpus_per_worker: float = 0,
    cpus_per_worker: float = 1,
    address: str | None = None,
    max_failures: int = 2,
    placement_strategy: str = "PACK",
    download_to: Path | None = None,
    callbacks: list[Any] | None = None,
) -> dict[str, Any]:
    """Train on a Ray cluster (`address`: "auto" joins a running one; None starts a local one).

    Returns the metrics of the last epoch (with `test_accuracy`); with `download_to`, the final checkpoint
    file is copied there from the storage (a shared path or a cloud URI).
    Starting again with the same `name` and `storage` resumes an interrupted run. `placement_strategy` is
    Ray's: PACK keeps workers on as few nodes as possible (fast collectives), STRICT_SPREAD one per node.
    `callbacks` are Ray Train callbacks (a sweep trial passes Tune's `TuneReportCallback`). `storage` is a path,
    a URI, or a `tuning.storage.Storage` (an S3-compatible server's endpoint with it).
    """
    if not ray.is_initialized():
        init_ray(address)
    fs, storage_path = (storage if isinstance(storage, Storage) else Storage(str(storage))).place()
    resources = {"CPU": cpus_per_worker, **({"GPU": gpus_per_worker} if gpus_per_worker else {})}
    trainer = TorchTrainer(
        train_worker,
        train_loop_config={"worker": cfg},
        scaling_config=ScalingConfig(
            num_workers=workers,
            use_gpu=gpus_per_worker > 0,
            resources_per_worker=resources,
            placement_strategy=placement_strategy,
        ),
        run_config=RunConfig(
            name=name,
            storage_path=storage_path,
            storage_filesystem=fs,
            failure_config=FailureConfig(max_failures=max_failures),
            checkpoint_config=CheckpointConfig(num_to_keep=2),
            callbacks=callbacks,
        ),
    )
    result = trainer.fit()
    if download_to is not None:
        with result.checkpoint.as_directory() as directory:
            shutil.copy(Path(directory) / CHECKPOINT, download_to)
    return dict(result.metrics)
