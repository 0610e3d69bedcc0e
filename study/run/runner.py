"""The one way to run a config: load data, build the model, fit, test, write results. Ray-free.

`study.train` calls it directly, every Ray Train worker calls it with DDP hooks, and every sweep trial calls it
with a hook that reports each epoch to Tune. Nothing here imports Ray, Optuna or MLflow.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from models.collective import SINGLE_PROCESS, Collective
from study.run.config import ConfigError, RunConfig, dump_yaml

CHECKPOINT = "checkpoint.pt"


def run_config(
    cfg: RunConfig,
    data_dir: Path,
    out: Path,
    *,
    on_epoch: Callable[[dict[str, Any]], None] | None = None,
    wrap: Callable[[nn.Module], nn.Module] | None = None,
    collective: Collective = SINGLE_PROCESS,
    shard: tuple[int, int] = (0, 1),
    device: torch.device | None = None,
    resume_from: Path | None = None,
) -> dict[str, Any]:
    """Train and test `cfg`; returns the final metrics, also written to out/metrics.json.

    Writes out/config.yaml before training, out/checkpoint.pt every epoch, out/history.json and
    out/metrics.json at the end. Hooks, all optional:
      on_epoch: called with every epoch's metrics; the last epoch's also carry `test_accuracy` (the paper's
        protocol: test once, after the last epoch), so a runner that reports per epoch reports the result too.
      wrap, collective, shard: data parallelism (DDP wrapper, metric all-reduce, this worker's share).
      device: where to train (default: `train.device`).
      resume_from: a checkpoint to continue from (model, optimizer, epoch; copied to out/checkpoint.pt).
    """
    from data import iterate_batches
    from models.loop import evaluate, fit

    out.mkdir(parents=True, exist_ok=True)
    (out / "config.yaml").write_text(dump_yaml(cfg))
    started = time.perf_counter()
    dataset, model, device = _prepare(cfg, data_dir, device, collective.rank)
    checkpoint = out / CHECKPOINT
    if resume_from is not None and resume_from.exists() and resume_from.resolve() != checkpoint.resolve():
        shutil.copy(resume_from, checkpoint)
    eval_size = cfg.train.eval_batch_size

    def test_accuracy() -> float:
        batches = iterate_batches(dataset.test, eval_size, shuffle=False, shard=shard)
        return evaluate(model, batches, device, collective, cfg.train.precision).mean("accuracy")

    tested: dict[str, float] = {}

    def epoch_done(metrics: dict[str, Any]) -> None:
        metrics = {**metrics, "run_seconds": time.perf_counter() - started}  # data loading included
        if metrics["epoch"] == metrics["epochs"]:
            tested["accuracy"] = test_accuracy()
            metrics = {**metrics, "test_accuracy": tested["accuracy"]}
        if on_epoch is not None:
            on_epoch(metrics)

    state = fit(
        model,
        train_batches=lambda gen: iterate_batches(
            dataset.train, cfg.data.batch_size, shuffle=True, generator=gen, shard=shard
        ),
        val_batches=(lambda: iterate_batches(dataset.val, eval_size, shuffle=False, shard=shard))
        if len(dataset.val)
        else None,  # data.validation: none
        train=cfg.train, aux=cfg.aux, device=device, checkpoint_path=checkpoint,
        resume=resume_from is not None, on_epoch=epoch_done, wrap=wrap, collective=collective,
    )  # fmt: skip
    if "accuracy" not in tested:  # resumed from a finished run: nothing was trained, test it now
        tested["accuracy"] = test_accuracy()
        if on_epoch is not None:
            on_epoch({**state.history[-1], "test_accuracy": tested["accuracy"]})
    return write_results(out, state.history, tested["accuracy"], time.perf_counter() - started)


def _prepare(cfg: RunConfig, data_dir: Path, device: torch.device | None, rank: int) -> tuple[Any, nn.Module, Any]:
    """The run's dataset, its freshly initialised model and its device; rank 0 prints what it is about to train."""
    from data import load_dataset
    from models import build_model
    from models.loop import resolve_device

    dataset = load_dataset(cfg.data, data_dir)
    device = device if device is not None else resolve_device(cfg.train.device)
    if cfg.train.precision == "fp16" and device.type != "cuda":
        raise ConfigError("train.precision: fp16 needs a CUDA device (CPU LSTMs have no fp16 kernel); use bf16 or fp32")
    torch.manual_seed(cfg.train.seed)  # one model initialisation on every worker
    model = build_model(
        cfg.model, cfg.aux, vocab_size=dataset.vocab_size, num_classes=dataset.num_classes,
        seq_len=dataset.seq_len, channels=dataset.channels,
    )  # fmt: skip
    if rank == 0:
        print(
            f"{cfg.model.kind} on {dataset.name}: {len(dataset.train):,} train / {len(dataset.val):,} val / "
            f"{len(dataset.test):,} test examples of {dataset.seq_len} steps; "
            f"{sum(p.numel() for p in model.parameters()):,} parameters; device {device}",
            flush=True,
        )
    return dataset, model, device


def write_results(out: Path, history: list[dict[str, Any]], test_accuracy: float, wall: float, **extra) -> dict:
    """Write out/history.json and out/metrics.json (the final numbers, after the paper's last-epoch protocol)."""
    last = history[-1]
    metrics = {
        "test_accuracy": test_accuracy,
        "val_accuracy": last.get("val/accuracy"),
        "train_loss": last["train/loss"],
        "tokens_per_second": last["tokens_per_second"],
        "peak_memory_mb": max(h["peak_memory_mb"] for h in history),
        "eval_peak_memory_mb": max((h["eval_peak_memory_mb"] for h in history if "eval_peak_memory_mb" in h),
                                   default=None),  # None with data.validation: none
        "wall_seconds": wall,
        "epochs": last["epoch"],
        **extra,
    }
    (out / "history.json").write_text(json.dumps(history, indent=1))
    (out / "metrics.json").write_text(json.dumps(metrics, indent=1))
    return metrics
