"""Ray Train (V2): the project's one run path on N data-parallel workers, checkpointed and restartable.

Each worker runs `study.run.run_config` (handed in through `WorkerConfig`): it loads the data itself and trains
its shard of every global batch (`data.batch_size` is the global batch); DistributedDataParallel averages
gradients; metric sums are added across workers before they are reported; rank 0 reports a checkpoint every
epoch, and a restarted worker group resumes from the latest one.
"""

from __future__ import annotations

import posixpath
import re
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.fs
import ray
import ray.train
import ray.train.torch
import torch
from ray.train import CheckpointConfig, FailureConfig, RunConfig, ScalingConfig
from ray.train.torch import TorchTrainer

from data import DATASETS
from models import AUX_KINDS
from models.checkpoint import CheckpointError, load_checkpoint
from models.collective import SINGLE_PROCESS, TorchDistributed
from tuning.cluster import init_ray

CHECKPOINT = "checkpoint.pt"


@dataclass(frozen=True)
class WorkerConfig:
    """What every worker runs: `run(config, data_dir, out, **hooks)`, the project's one run path
    (`study.run.run_config`, handed in by the caller: tuning/ does not import study/)."""

    run: Callable[..., dict[str, Any]]
    config: Any  # study.config.RunConfig
    data_dir: str


def needs_unused_parameter_search(cfg: Any, variable_length: bool) -> bool:
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


# checkpoint_000003 (Tune's), epoch_0003 (ours in Ray Train), epoch_0003-r1 (ours, computed again after a fallback)
_CHECKPOINT_NAME = re.compile(r"(?P<kind>.+)_(?P<epoch>\d+)(?:-r(?P<redo>\d+))?")


def _checkpoint_order(name: str) -> tuple[str, int, int] | None:
    """(kind, redo, number) of a checkpoint directory name, None for any other name. Within a kind, a higher redo
    was written after every lower one (a worker group that fell back starts the next), and within one redo a higher
    number after a lower one: the tuples sort from the oldest to the newest."""
    match = _CHECKPOINT_NAME.fullmatch(name)
    return (match["kind"], int(match["redo"] or 0), int(match["epoch"])) if match else None


def checkpoint_dir_name(epoch: int, restored: ray.train.Checkpoint | None, resumed_from: int) -> str:
    """The Ray Train checkpoint directory for `epoch` of a worker group that restored `restored` (None: none)
    and resumed from the checkpoint of epoch `resumed_from` (0: none).

    `epoch_0003`, unless the group fell back from the restored checkpoint (epoch N, unreadable) to an older one:
    it computes epochs up to N again, and Ray Train's checkpoint manager must not get a second checkpoint in a
    directory it already tracks (evicting the damaged one deletes its directory, which would then be the new
    one). Those epochs, and the ones after them, take one more `-rK` than the restored checkpoint:
    `epoch_0003-r1`, unique as long as each group's epochs only increase.
    """
    redo = 0
    if restored is not None and (order := _checkpoint_order(posixpath.basename(restored.path.rstrip("/")))):
        _, redo, number = order
        redo += resumed_from < number
    return f"epoch_{epoch:04d}" + (f"-r{redo}" if redo else "")


def restore_readable(checkpoint: ray.train.Checkpoint, dest: Path) -> int:
    """Copy the checkpoint file of a restored Tune or Train checkpoint to `dest`; returns its epoch.

    If that file cannot be read (an upload cut short, damaged storage), the newest older sibling checkpoint
    directory that can (Tune and Train keep two) takes its place, with a warning naming both; CheckpointError
    when none can be read. Older: of the same kind, before it in `_checkpoint_order` (by number, not by text:
    epoch_10000 is after epoch_9999, epoch_0004-r1 after epoch_0005) and of no later epoch (a directory
    abandoned by a fallback, or never registered, is not taken to skip epochs).
    """
    fs, path = checkpoint.filesystem, checkpoint.path.rstrip("/")
    parent, name = posixpath.split(path)
    current, older = _checkpoint_order(name), []
    if current is not None:
        siblings = (
            (order, i.path) for i in fs.get_file_info(pyarrow.fs.FileSelector(parent))
            if i.type == pyarrow.fs.FileType.Directory and (order := _checkpoint_order(i.base_name))
        )  # fmt: skip
        older = [
            sibling for order, sibling in sorted(siblings, reverse=True)
            if order[0] == current[0] and order[1:] < current[1:] and order[2] <= current[2]
        ]  # fmt: skip
    problems = []
    for candidate in [path, *older]:
        try:
            with ray.train.Checkpoint(candidate, filesystem=fs).as_directory() as directory:
                shutil.copy(Path(directory) / CHECKPOINT, dest)
            epoch = load_checkpoint(dest)["epoch"]
        except CheckpointError as err:  # it names the local copy: name the file in storage
            problems.append(err.problem.replace(str(dest), f"{candidate}/{CHECKPOINT}"))
            continue
        except OSError as err:
            problems.append(f"{candidate}/{CHECKPOINT}: {err.strerror or err}")
            continue
        if problems:
            print(f"warning: {'; '.join(problems)}; resuming from the older checkpoint {candidate} (epoch {epoch})",
                  file=sys.stderr, flush=True)  # fmt: skip
        return epoch
    raise CheckpointError(
        f"no readable checkpoint to resume from: {'; '.join(problems)}", f"delete {parent} to train from the start"
    )


def train_worker(config: dict[str, Any]) -> None:
    """The training function of every Ray Train worker."""
    worker: WorkerConfig = config["worker"]
    context = ray.train.get_context()
    rank, world = context.get_world_rank(), context.get_world_size()
    device = ray.train.torch.get_device()
    out = Path(tempfile.mkdtemp(prefix="auxlstm-worker-"))
    latest = ray.train.get_checkpoint()  # set when this worker group replaces one that failed
    resume_from = out / "restored.pt" if latest is not None else None
    resumed_from = restore_readable(latest, resume_from) if latest is not None else 0
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
    storage: str,
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
    `callbacks` are Ray Train callbacks (a sweep trial passes Tune's `TuneReportCallback`).
    """
    if not ray.is_initialized():
        init_ray(address)
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
            callbacks=callbacks,
        ),
    )
    result = trainer.fit()
    if download_to is not None:
        with result.checkpoint.as_directory() as directory:
            shutil.copy(Path(directory) / CHECKPOINT, download_to)
    return dict(result.metrics)
