"""Ray Train (V2): the framework-free `models.loop.fit` on N data-parallel workers, checkpointed and restartable.

Each worker loads the data itself and trains its shard of every global batch (`data.batch_size` is the global
batch); DistributedDataParallel averages gradients; metric sums are added across workers before they are
reported; rank 0 reports a checkpoint every epoch, and a restarted worker group resumes from the latest one.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ray
import ray.train
import ray.train.torch
import torch
from ray.train import CheckpointConfig, FailureConfig, RunConfig, ScalingConfig
from ray.train.torch import TorchTrainer

from data import iterate_batches, load_dataset
from data.config import DataConfig
from models import AUX_KINDS, AuxConfig, ModelConfig, TrainConfig, build_model
from models.checkpoint import load_checkpoint
from models.collective import SINGLE_PROCESS, TorchDistributed
from models.loop import evaluate, fit

CHECKPOINT = "checkpoint.pt"


@dataclass(frozen=True)
class WorkerConfig:
    model: ModelConfig
    aux: AuxConfig
    train: TrainConfig
    data: DataConfig
    data_dir: str


def needs_unused_parameter_search(cfg: WorkerConfig, variable_length: bool) -> bool:
    """Whether some parameters can get no gradient in a step, which DDP must then look for (at a cost).

    The classifier is idle while pretraining, the auxiliary LSTM in batches of text too short for a segment,
    and the main LSTM of a plain LSTM with `head_only`.
    """
    if cfg.model.kind in AUX_KINDS:
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
    cfg: WorkerConfig = config["worker"]
    context = ray.train.get_context()
    rank, world = context.get_world_rank(), context.get_world_size()
    device = ray.train.torch.get_device()
    dataset = load_dataset(cfg.data, Path(cfg.data_dir))
    torch.manual_seed(cfg.train.seed)  # one model initialisation on every rank
    model = build_model(
        cfg.model, cfg.aux, vocab_size=dataset.vocab_size, num_classes=dataset.num_classes,
        seq_len=dataset.seq_len, channels=dataset.channels,
    )  # fmt: skip
    local = Path(tempfile.mkdtemp(prefix="auxlstm-worker-")) / CHECKPOINT
    latest = ray.train.get_checkpoint()  # set when this worker group replaces one that failed
    if latest is not None:
        with latest.as_directory() as directory:
            shutil.copy(Path(directory) / CHECKPOINT, local)
    resumed_from = load_checkpoint(local)["epoch"] if latest is not None else 0

    def wrap(module: torch.nn.Module) -> torch.nn.Module:
        find_unused = needs_unused_parameter_search(cfg, variable_length=dataset.train.lengths is not None)
        return ray.train.torch.prepare_model(
            module, move_to_device=device, parallel_strategy="ddp" if world > 1 else None,
            parallel_strategy_kwargs={"find_unused_parameters": find_unused},
        )  # fmt: skip

    shard = (rank, world)
    eval_size = cfg.train.eval_batch_size
    collective = TorchDistributed(device) if world > 1 else SINGLE_PROCESS
    nodes = _count_nodes(world)

    def report(metrics: dict[str, Any]) -> None:
        metrics = {**metrics, "workers": world, "nodes": nodes, "resumed_from_epoch": resumed_from}
        if metrics["epoch"] == metrics["epochs"]:  # the paper's protocol: test once, after the last epoch
            test_batches = iterate_batches(dataset.test, eval_size, shuffle=False, shard=shard)
            metrics = {**metrics, "test_accuracy": evaluate(model, test_batches, device, collective).mean("accuracy")}
        with tempfile.TemporaryDirectory() as directory:
            checkpoint = None
            if rank == 0:
                shutil.copy(local, Path(directory) / CHECKPOINT)
                checkpoint = ray.train.Checkpoint.from_directory(directory)
            ray.train.report(metrics, checkpoint=checkpoint, checkpoint_dir_name=f"epoch_{metrics['epoch']:04d}")

    fit(
        model,
        train_batches=lambda gen: iterate_batches(
            dataset.train, cfg.data.batch_size, shuffle=True, generator=gen, shard=shard
        ),
        val_batches=lambda: iterate_batches(dataset.val, eval_size, shuffle=False, shard=shard),
        train=cfg.train, aux=cfg.aux, device=device, checkpoint_path=local, resume=latest is not None,
        on_epoch=report, wrap=wrap, collective=collective,
    )  # fmt: skip


def run_distributed(
    cfg: WorkerConfig,
    *,
    name: str,
    storage: str,
    workers: int,
    gpus_per_worker: float = 0,
    cpus_per_worker: float = 1,
    address: str | None = None,
    max_failures: int = 2,
    placement_strategy: str = "PACK",
    download_to: Path | None = None,
) -> dict[str, Any]:
    """Train on a Ray cluster (`address`: "auto" joins a running one; None starts a local one).

    Returns the metrics of the last epoch (with `test_accuracy`); with `download_to`, the final checkpoint
    file is copied there from the storage (a shared path or a cloud URI).
    Starting again with the same `name` and `storage` resumes an interrupted run. `placement_strategy` is
    Ray's: PACK keeps workers on as few nodes as possible (fast collectives), STRICT_SPREAD one per node.
    """
    if not ray.is_initialized():
        ray.init(address=address)
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
            storage_path=storage,
            failure_config=FailureConfig(max_failures=max_failures),
            checkpoint_config=CheckpointConfig(num_to_keep=2),
        ),
    )
    result = trainer.fit()
    if download_to is not None:
        with result.checkpoint.as_directory() as directory:
            shutil.copy(Path(directory) / CHECKPOINT, download_to)
    return dict(result.metrics)
