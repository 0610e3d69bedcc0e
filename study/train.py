"""`python -m study.train`: one training run on this machine.

Writes DIR/config.yaml (the resolved config, before training), DIR/checkpoint.pt (every epoch),
DIR/history.json (per-epoch metrics) and DIR/metrics.json (final results).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import torch

from study.config import ConfigError, RunConfig, dump_yaml, load_config

SMOKE_OVERRIDES = ["train.epochs=1", "aux.pretrain_epochs=1", "data.limit_train=256", "data.limit_eval=256"]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m study.train", description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, help="YAML config; defaults apply to what it leaves out")
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
        help="override one config key, e.g. --set train.truncation=50 (repeatable)",
    )  # fmt: skip
    parser.add_argument("--out", type=Path, required=True, help="run directory for config, checkpoint, metrics")
    parser.add_argument("--data-dir", help="dataset cache (default: $AUXLSTM_DATA_DIR or ~/.cache/auxlstm)")
    parser.add_argument("--resume", action="store_true", help="continue from DIR/checkpoint.pt if present")
    parser.add_argument(
        "--smoke-test",
        action="store_true",
        help="1 epoch (+1 pretraining) on 256 examples: checks the set-up",
    )
    return parser.parse_args(argv)


def _duration(seconds: float) -> str:
    minutes, seconds = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{seconds:02d}s"


def progress_line(metrics: dict[str, Any], elapsed: float) -> str:
    done, total = metrics["epoch"], metrics["epochs"]
    eta = elapsed / done * (total - done)
    return (
        f"epoch {done}/{total} [{metrics['phase']}] loss {metrics['train/loss']:.4f} "
        f"(main {metrics['train/loss_main']:.4f}, aux {metrics['train/loss_aux']:.4f}) "
        f"val_acc {metrics['val/accuracy']:.4f} | {metrics['tokens_per_second']:,.0f} tok/s | "
        f"{metrics['peak_memory_mb']:.0f} MB | {metrics['epoch_seconds']:.1f} s/epoch, ETA {_duration(eta)}"
    )


def run(cfg: RunConfig, out: Path, *, data_dir: str | None = None, resume: bool = False) -> dict[str, Any]:
    """Train and test one config; returns the final metrics also written to out/metrics.json."""
    from data import default_data_dir, iterate_batches, load_dataset
    from models import build_model
    from models.loop import evaluate, fit, resolve_device

    out.mkdir(parents=True, exist_ok=True)
    (out / "config.yaml").write_text(dump_yaml(cfg))
    started = time.perf_counter()
    dataset = load_dataset(cfg.data, default_data_dir(data_dir))
    device = resolve_device(cfg.train.device)
    torch.manual_seed(cfg.train.seed)
    model = build_model(
        cfg.model,
        cfg.aux,
        vocab_size=dataset.vocab_size,
        num_classes=dataset.num_classes,
        seq_len=dataset.seq_len,
        channels=dataset.channels,
    )
    print(
        f"{cfg.model.kind} on {dataset.name}: {len(dataset.train.labels):,} train / {len(dataset.val.labels):,} val"
        f" / {len(dataset.test.labels):,} test examples of {dataset.seq_len} steps; "
        f"{sum(p.numel() for p in model.parameters()):,} parameters; device {device}",
        flush=True,
    )
    eval_size = cfg.train.eval_batch_size
    train_started = time.perf_counter()

    def report(metrics: dict[str, Any]) -> None:
        print(progress_line(metrics, time.perf_counter() - train_started), flush=True)

    state = fit(
        model,
        train_batches=lambda gen: iterate_batches(dataset.train, cfg.data.batch_size, shuffle=True, generator=gen),
        val_batches=lambda: iterate_batches(dataset.val, eval_size, shuffle=False),
        train=cfg.train,
        aux=cfg.aux,
        device=device,
        checkpoint_path=out / "checkpoint.pt",
        resume=resume,
        on_epoch=report,
    )
    test = evaluate(model, iterate_batches(dataset.test, eval_size, shuffle=False), device)
    last = state.history[-1]
    metrics = {
        "test_accuracy": test.mean("accuracy"),
        "val_accuracy": last["val/accuracy"],
        "train_loss": last["train/loss"],
        "tokens_per_second": last["tokens_per_second"],
        "peak_memory_mb": max(h["peak_memory_mb"] for h in state.history),
        "wall_seconds": time.perf_counter() - started,
        "epochs": state.epoch,
    }
    (out / "history.json").write_text(json.dumps(state.history, indent=1))
    (out / "metrics.json").write_text(json.dumps(metrics, indent=1))
    return metrics


def main(argv: list[str] | None = None) -> int:
    from data import DatasetError

    args = parse_args(argv)
    overrides = list(args.overrides)
    if args.smoke_test:
        overrides = SMOKE_OVERRIDES + overrides
    try:
        cfg = load_config(args.config, overrides)
    except ConfigError as err:
        print(f"config error: {err}", file=sys.stderr)
        return 2
    try:
        metrics = run(cfg, args.out, data_dir=args.data_dir, resume=args.resume)
    except DatasetError as err:
        print(f"data error: {err}", file=sys.stderr)
        return 1
    print(
        f"test accuracy {metrics['test_accuracy']:.4f} (val {metrics['val_accuracy']:.4f}) after "
        f"{metrics['epochs']} epochs in {metrics['wall_seconds']:.0f} s; results in {args.out}/"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
