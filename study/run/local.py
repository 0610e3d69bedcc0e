"""One run on this machine, with a progress line per epoch (what `study.train` prints)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from study.run.config import RunConfig

SMOKE_OVERRIDES = ["train.epochs=1", "aux.pretrain_epochs=1", "data.limit_train=256", "data.limit_eval=256"]


def duration(seconds: float) -> str:
    """'1h02m' or '3m05s'."""
    minutes, seconds = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{seconds:02d}s"


def progress_line(metrics: dict[str, Any], elapsed: float) -> str:
    done, total = metrics["epoch"], metrics["epochs"]
    eta = elapsed / done * (total - done)
    validation = "val_acc -" if "val/accuracy" not in metrics else f"val_acc {metrics['val/accuracy']:.4f}"
    evaluation = f", {metrics['eval_peak_memory_mb']:.0f} MB eval" if "eval_peak_memory_mb" in metrics else ""
    return (
        f"epoch {done}/{total} [{metrics['phase']}] loss {metrics['train/loss']:.4f} "
        f"(main {metrics['train/loss_main']:.4f}, aux {metrics['train/loss_aux']:.4f}) "
        f"{validation} | {metrics['tokens_per_second']:,.0f} tok/s | "
        f"{metrics['peak_memory_mb']:.0f} MB train{evaluation} | "
        f"{metrics['epoch_seconds']:.1f} s/epoch, ETA {duration(eta)}"
    )


def run(cfg: RunConfig, out: Path, *, data_dir: str | None = None, resume: bool = False) -> dict[str, Any]:
    """Train and test one config on this machine, printing a progress line per epoch."""
    from data import default_data_dir
    from study.run.runner import CHECKPOINT, run_config

    started = time.perf_counter()

    def report(metrics: dict[str, Any]) -> None:
        print(progress_line(metrics, time.perf_counter() - started), flush=True)

    resume_from = out / CHECKPOINT if resume else None
    return run_config(cfg, default_data_dir(data_dir), out, on_epoch=report, resume_from=resume_from)
