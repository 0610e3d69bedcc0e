"""The framework-free trainer: `fit` runs the auxiliary-only pretraining phase, then joint training.

It knows nothing of Ray or MLflow: batches come from callables, metrics leave through `on_epoch`, and a
distributed runner wraps it rather than changing it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from models.checkpoint import load_checkpoint, save_checkpoint
from models.config import AuxConfig, TrainConfig
from models.lstm import LSTMClassifier
from models.metrics import PeakMemory, SumMetrics, peak_rss_mb
from models.truncated import LossTerms, Phase, lstm_loss_terms, sample_anchors

# tokens (B, T) or (B, T, C) integer, labels (B,) int64, true lengths (B,) int64 or None (all T steps)
Batch = tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]
TrainBatches = Callable[[torch.Generator], Iterable[Batch]]  # one epoch, shuffled with the generator
EvalBatches = Callable[[], Iterable[Batch]]


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("train.device is 'cuda' but no CUDA device is visible; use 'auto' or 'cpu'")
    return torch.device(name)


def has_aux(model: nn.Module) -> bool:
    return isinstance(model, LSTMClassifier) and model.aux is not None


def phase_of(epoch: int, model: nn.Module, aux: AuxConfig) -> Phase:
    return "pretrain" if has_aux(model) and epoch < aux.pretrain_epochs else "joint"


def compute_losses(
    model: nn.Module,
    tokens: torch.Tensor,
    labels: torch.Tensor,
    *,
    train: TrainConfig,
    aux: AuxConfig,
    phase: Phase,
    anchor_generator: torch.Generator,
    lengths: torch.Tensor | None = None,
) -> LossTerms:
    """Loss terms of one batch for any model kind; anchors are drawn afresh for every batch."""
    if isinstance(model, LSTMClassifier):
        anchors, valid = None, None
        if model.aux is not None:
            cpu_lengths = None if lengths is None else lengths.cpu()
            anchors, valid = sample_anchors(
                tokens.shape[0], tokens.shape[1], model.kind, aux, anchor_generator, cpu_lengths
            )
            if valid is not None and not valid.any():
                anchors = None  # no example of this batch is long enough for a segment
        return lstm_loss_terms(
            model, tokens, labels, anchors, train=train, aux=aux, phase=phase, lengths=lengths, anchor_valid=valid
        )
    logits = model(tokens, lengths)
    main = F.cross_entropy(logits, labels)
    return LossTerms(total=main, main=main, aux=torch.zeros_like(main), logits=logits)


def build_optimizer(model: nn.Module, train: TrainConfig) -> torch.optim.Optimizer:
    if train.optimizer == "rmsprop":
        return torch.optim.RMSprop(model.parameters(), lr=train.lr)
    return torch.optim.Adam(model.parameters(), lr=train.lr)


@torch.no_grad()
def evaluate(model: nn.Module, batches: Iterable[Batch], device: torch.device) -> SumMetrics:
    """Accuracy and cross-entropy over full forward passes (truncation only ever cuts gradients)."""
    model.eval()
    metrics = SumMetrics()
    for tokens, labels, lengths in batches:
        tokens, labels = tokens.to(device).long(), labels.to(device)
        logits = model(tokens, None if lengths is None else lengths.to(device))
        metrics.add("accuracy", (logits.argmax(-1) == labels).sum().item(), len(labels))
        metrics.add("loss", F.cross_entropy(logits, labels, reduction="sum").item(), len(labels))
    return metrics


def train_epoch(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    batches: Iterable[Batch],
    *,
    train: TrainConfig,
    aux: AuxConfig,
    phase: Phase,
    anchor_generator: torch.Generator,
    device: torch.device,
) -> tuple[SumMetrics, int]:
    """One pass over `batches`; returns the summed train metrics and the number of steps (positions) read."""
    model.train()
    # Summed on the device and read once at the end: no host sync per step.
    running = torch.zeros(5, dtype=torch.float64, device=device)  # loss, main, aux, correct, scored
    examples, tokens_seen = 0, 0
    for tokens, labels, lengths in batches:
        tokens, labels = tokens.to(device, non_blocking=True).long(), labels.to(device, non_blocking=True)
        steps = tokens.shape[0] * tokens.shape[1] if lengths is None else int(lengths.sum())
        lengths = None if lengths is None else lengths.to(device)
        terms = compute_losses(
            model, tokens, labels, train=train, aux=aux, phase=phase, anchor_generator=anchor_generator, lengths=lengths
        )
        if terms.total.requires_grad:  # pretraining on a batch too short for any segment has nothing to learn
            optimizer.zero_grad(set_to_none=True)
            terms.total.backward()
            if train.grad_clip is not None:
                nn.utils.clip_grad_norm_(model.parameters(), train.grad_clip)
            optimizer.step()
        n = len(labels)
        scored = terms.logits is not None
        correct = (terms.logits.argmax(-1) == labels).sum() if scored else running.new_zeros(())
        running += torch.stack(
            [
                terms.total.detach() * n,
                terms.main.detach() * n,
                terms.aux.detach() * n,
                correct,
                correct.new_tensor(n * scored),
            ]
        ).to(torch.float64)
        examples += n
        tokens_seen += steps
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    loss, main, aux_loss, correct, scored = running.tolist()
    sums = SumMetrics()
    for name, total in (("loss", loss), ("loss_main", main), ("loss_aux", aux_loss)):
        sums.add(name, total, examples)
    if scored:
        sums.add("accuracy", correct, scored)
    return sums, tokens_seen


@dataclass
class TrainState:
    """Everything `fit` needs to resume exactly: saved in every checkpoint."""

    epoch: int = 0  # epochs completed
    history: list[dict[str, Any]] = field(default_factory=list)


def _generators(seed: int) -> dict[str, torch.Generator]:
    # Separate streams, so changing the anchor sampling does not change the data order.
    return {
        "data": torch.Generator().manual_seed(seed + 1),
        "anchors": torch.Generator().manual_seed(seed + 2),
    }


def fit(
    model: nn.Module,
    *,
    train_batches: TrainBatches,
    val_batches: EvalBatches,
    train: TrainConfig,
    aux: AuxConfig,
    device: torch.device,
    checkpoint_path: Path | None = None,
    resume: bool = False,
    on_epoch: Callable[[dict[str, Any]], None] | None = None,
) -> TrainState:
    """Train `model` for aux.pretrain_epochs (auxiliary kinds only) + train.epochs epochs.

    After every epoch: validation accuracy, a checkpoint (when `checkpoint_path` is set) and `on_epoch(metrics)`.
    With `resume`, an existing checkpoint restores model, optimizer, epoch and RNG states first.
    """
    model.to(device)
    optimizer = build_optimizer(model, train)
    generators = _generators(train.seed)
    state = TrainState()
    if resume and checkpoint_path is not None and checkpoint_path.exists():
        saved = load_checkpoint(checkpoint_path)  # CPU: RNG states must stay there
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        for name, gen in generators.items():
            gen.set_state(saved["rng"][name])
        torch.set_rng_state(saved["rng"]["torch"])
        if "cuda" in saved["rng"] and device.type == "cuda":
            torch.cuda.set_rng_state(saved["rng"]["cuda"], device)
        state = TrainState(epoch=saved["epoch"], history=saved["history"])
    total_epochs = (aux.pretrain_epochs if has_aux(model) else 0) + train.epochs
    memory = PeakMemory(device, baseline_mb=peak_rss_mb())

    while state.epoch < total_epochs:
        phase = phase_of(state.epoch, model, aux)
        memory.start()
        started = time.perf_counter()
        sums, tokens_seen = train_epoch(
            model, optimizer, train_batches(generators["data"]), train=train, aux=aux, phase=phase,
            anchor_generator=generators["anchors"], device=device,
        )  # fmt: skip
        train_seconds = time.perf_counter() - started
        val = evaluate(model, val_batches(), device)
        state.epoch += 1
        metrics: dict[str, Any] = {
            "epoch": state.epoch,
            "epochs": total_epochs,
            "phase": phase,
            **{f"train/{k}": v for k, v in sums.means().items()},
            "val/accuracy": val.mean("accuracy"),
            "val/loss": val.mean("loss"),
            "tokens_per_second": tokens_seen / train_seconds,
            "peak_memory_mb": memory.peak_mb(),
            "epoch_seconds": time.perf_counter() - started,
        }
        if not math.isfinite(metrics["train/loss"]):
            raise FloatingPointError(f"training loss became {metrics['train/loss']} in epoch {state.epoch}")
        state.history.append(metrics)
        if checkpoint_path is not None:
            rng = {name: gen.get_state() for name, gen in generators.items()}
            rng["torch"] = torch.get_rng_state()
            if device.type == "cuda":  # dropout and DropConnect masks on the GPU
                rng["cuda"] = torch.cuda.get_rng_state(device)
            save_checkpoint(
                checkpoint_path,
                {
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "epoch": state.epoch,
                    "history": state.history,
                    "rng": rng,
                },
            )
        if on_epoch is not None:
            on_epoch(metrics)
    return state
