"""The framework-free trainer: `fit` runs the auxiliary-only pretraining phase, then joint training.

It knows nothing of Ray or MLflow: batches come from callables, metrics leave through `on_epoch`, and a
distributed runner supplies a `wrap` for the loss module (DistributedDataParallel) and a `Collective` that
adds metric sums across workers, rather than changing this loop.

Random streams (data order, anchors, dropout) are re-derived from (seed, epoch, rank) at every epoch, so a
resumed run needs no saved RNG state and replays an uninterrupted one exactly.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from models.checkpoint import load_resumable, save_checkpoint
from models.collective import SINGLE_PROCESS, Collective
from models.config import AuxConfig, TrainConfig
from models.lstm import LSTMClassifier
from models.metrics import PeakMemory, SumMetrics
from models.registry import reads
from models.truncated import LossTerms, Phase, lstm_loss_terms, sample_anchors, sample_segment_offsets

# tokens (B, T) or (B, T, C) integer, labels (B,) int64, true lengths (B,) int64 or None (all T steps)
Batch = tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]
# One epoch, shuffled with the generator (the same permutation on every worker, which takes its own shard).
TrainBatches = Callable[[torch.Generator], Iterable[Batch]]
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


class LossModule(nn.Module):
    """A batch's losses as the forward pass of a module.

    DistributedDataParallel synchronises gradients only for work that runs through its wrapper's forward, and
    the truncated step calls several parts of the model: wrapping this module covers all of them.
    """

    def __init__(self, model: nn.Module, train: TrainConfig, aux: AuxConfig) -> None:
        super().__init__()
        self.model, self.train_cfg, self.aux_cfg = model, train, aux

    def forward(
        self,
        tokens: torch.Tensor,
        labels: torch.Tensor,
        lengths: torch.Tensor | None,
        anchors: torch.Tensor | None,
        anchor_valid: torch.Tensor | None,
        segment_offsets: torch.Tensor | None,
        phase: Phase,
    ) -> LossTerms:
        if tokens.is_cuda:  # DDP's parameter broadcast can leave cuDNN's weight buffer non-contiguous
            for module in self.modules():
                if isinstance(module, nn.LSTM):
                    module.flatten_parameters()
        if isinstance(self.model, LSTMClassifier):
            return lstm_loss_terms(
                self.model, tokens, labels, anchors, train=self.train_cfg, aux=self.aux_cfg, phase=phase,
                lengths=lengths, anchor_valid=anchor_valid, segment_offsets=segment_offsets,
            )  # fmt: skip
        logits = self.model(tokens, lengths)
        main = F.cross_entropy(logits, labels)
        return LossTerms(total=main, main=main, aux=torch.zeros_like(main), logits=logits)


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
    loss_module: nn.Module | None = None,
) -> LossTerms:
    """Loss terms of one batch for any model kind, with anchors drawn afresh for this batch.

    `loss_module` is `LossModule(model, ...)`, possibly wrapped for data parallelism; built here if omitted.
    """
    anchors, valid, offsets = None, None, None
    if has_aux(model):
        cpu_lengths = None if lengths is None else lengths.cpu()
        anchors, valid = sample_anchors(
            tokens.shape[0], tokens.shape[1], model.kind, aux, anchor_generator, cpu_lengths
        )
        if valid is not None and not valid.any():
            anchors = None  # no example of this batch is long enough for a segment
        elif reads(model.kind, "aux.segment_offset") and aux.segment_offset == "random":
            offsets = sample_segment_offsets(anchors, aux.segment_len, anchor_generator)
    module = loss_module if loss_module is not None else LossModule(model, train, aux)
    return module(tokens, labels, lengths, anchors, valid, offsets, phase)


def build_optimizer(model: nn.Module, train: TrainConfig) -> torch.optim.Optimizer:
    if train.optimizer == "rmsprop":
        return torch.optim.RMSprop(model.parameters(), lr=train.lr, alpha=train.rmsprop_alpha, eps=train.rmsprop_eps)
    return torch.optim.Adam(model.parameters(), lr=train.lr)


def learning_rate(train: TrainConfig, pretrain_epochs: int, epoch: int) -> float:
    """The learning rate of 0-based `epoch` under `train.lr_schedule`, where the first `pretrain_epochs` epochs
    are auxiliary pretraining. A function of the epoch alone, so a resumed run needs no scheduler state."""
    if train.lr_schedule == "none":
        return train.lr
    if epoch < pretrain_epochs:
        return train.lr * 0.5 ** (epoch / pretrain_epochs)
    every = max(1, round(train.lr_halve_every * train.epochs))  # joint epochs between halvings
    return train.lr * 0.5 ** ((epoch - pretrain_epochs) // every)


def autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    """The forward pass's autocast context for `train.precision` (a no-op for fp32)."""
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=torch.bfloat16 if precision == "bf16" else torch.float16)


def loss_scaler(device: torch.device, train: TrainConfig) -> torch.amp.GradScaler:
    """fp16's dynamic loss scaling; a pass-through for fp32 and bf16."""
    return torch.amp.GradScaler(device.type, enabled=train.precision == "fp16")


@torch.no_grad()
def evaluate(
    model: nn.Module,
    batches: Iterable[Batch],
    device: torch.device,
    collective: Collective = SINGLE_PROCESS,
    precision: str = "fp32",
) -> SumMetrics:
    """Accuracy and cross-entropy over full forward passes (truncation only ever cuts gradients).

    Each worker evaluates its own batches; the sums are added across workers before anything is divided.
    """
    model.eval()
    sums = torch.zeros(3, dtype=torch.float64, device=device)  # correct, loss, examples
    for tokens, labels, lengths in batches:
        tokens, labels = tokens.to(device).long(), labels.to(device)
        with autocast(device, precision):
            logits = model(tokens, None if lengths is None else lengths.to(device))
        if logits.dtype in (torch.float16, torch.bfloat16):
            logits = logits.float()  # sums over a whole split in full precision
        correct = (logits.argmax(-1) == labels).sum()
        loss = F.cross_entropy(logits, labels, reduction="sum")
        sums += torch.stack([correct.double(), loss.double(), sums.new_tensor(len(labels))])
    correct, loss, examples = collective.sum(sums).tolist()
    metrics = SumMetrics()
    metrics.add("accuracy", correct, examples)
    metrics.add("loss", loss, examples)
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
    loss_module: nn.Module | None = None,
    collective: Collective = SINGLE_PROCESS,
    scaler: torch.amp.GradScaler | None = None,
) -> tuple[SumMetrics, int, float]:
    """One pass over this worker's `batches`.

    `scaler` carries fp16's loss scale from epoch to epoch (and through checkpoints); a fresh one if omitted.
    Returns the train metrics and the steps (positions) read, both summed over all workers, and the slowest
    worker's seconds.
    """
    model.train()
    loss_module = loss_module if loss_module is not None else LossModule(model, train, aux)
    scaler = scaler if scaler is not None else loss_scaler(device, train)
    started = time.perf_counter()
    # Summed on the device and read once at the end: no host sync per step.
    running = torch.zeros(7, dtype=torch.float64, device=device)  # loss, main, aux, correct, scored, examples, steps
    start = torch.zeros(2, dtype=torch.float64, device=device)  # the first step's loss, before any update; count
    has_start = False
    for tokens, labels, lengths in batches:
        tokens, labels = tokens.to(device, non_blocking=True).long(), labels.to(device, non_blocking=True)
        steps = tokens.shape[0] * tokens.shape[1] if lengths is None else int(lengths.sum())
        lengths = None if lengths is None else lengths.to(device)
        with autocast(device, train.precision):
            terms = compute_losses(
                model, tokens, labels, train=train, aux=aux, phase=phase, anchor_generator=anchor_generator,
                lengths=lengths, loss_module=loss_module,
            )  # fmt: skip
        if terms.total.requires_grad:  # pretraining on a batch too short for any segment has nothing to learn
            if not has_start:
                start, has_start = torch.stack([terms.total.detach().to(torch.float64), start.new_ones(())]), True
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(terms.total).backward()
            scaler.unscale_(optimizer)  # clip the true gradients
            if train.grad_clip is not None:
                nn.utils.clip_grad_norm_(model.parameters(), train.grad_clip)
            scaler.step(optimizer)  # skipped when fp16 gradients overflowed; the scale then shrinks
            scaler.update()
        n = len(labels)
        scored = terms.logits is not None
        correct = (terms.logits.argmax(-1) == labels).sum() if scored else running.new_zeros(())
        running += torch.stack(
            [
                terms.total.detach() * n, terms.main.detach() * n, terms.aux.detach() * n, correct,
                correct.new_tensor(n * scored), correct.new_tensor(n), correct.new_tensor(steps),
            ]
        ).to(torch.float64)  # fmt: skip
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    seconds = float(collective.max(torch.tensor([time.perf_counter() - started], dtype=torch.float64)))
    loss, main, aux_loss, correct, scored, examples, steps = collective.sum(running).tolist()
    sums = SumMetrics()
    for name, total in (("loss", loss), ("loss_main", main), ("loss_aux", aux_loss)):
        sums.add(name, total, examples)
    if scored:
        sums.add("accuracy", correct, scored)
    start_total, starts = collective.sum(start).tolist()
    sums.add("start_loss", start_total, starts)  # what the divergence guard compares with
    return sums, int(steps), seconds


def divergence(history: list[dict[str, Any]], metrics: dict[str, Any], factor: float | None) -> str | None:
    """Why an epoch's training loss means the run diverged: above `factor` times the loss its phase (pretraining
    or joint training) started from, before any update. None if it did not, or without a factor."""
    phase_start = next((h for h in history if h.get("phase") == metrics["phase"]), metrics).get("train/start_loss")
    loss = metrics["train/loss"]
    if factor is None or phase_start is None or not math.isfinite(phase_start) or loss <= factor * phase_start:
        return None
    return (f"training loss {loss:.4g} in epoch {metrics['epoch']} is over {factor:g} times the {metrics['phase']} "
            f"phase's starting loss {phase_start:.4g}: diverged (train.divergence_factor)")  # fmt: skip


@dataclass
class TrainState:
    """Where training stands: saved in every checkpoint."""

    epoch: int = 0  # epochs completed
    history: list[dict[str, Any]] = field(default_factory=list)


def epoch_generator(seed: int, purpose: str, epoch: int, rank: int = 0) -> torch.Generator:
    """A random stream for one purpose, epoch and worker, independent of every other."""
    digest = hashlib.sha256(f"{seed}/{purpose}/{epoch}/{rank}".encode()).digest()
    return torch.Generator().manual_seed(int.from_bytes(digest[:8], "little"))


def fit(
    model: nn.Module,
    *,
    train_batches: TrainBatches,
    val_batches: EvalBatches | None,
    train: TrainConfig,
    aux: AuxConfig,
    device: torch.device,
    checkpoint_path: Path | None = None,
    resume: bool = False,
    on_epoch: Callable[[dict[str, Any]], None] | None = None,
    wrap: Callable[[nn.Module], nn.Module] | None = None,
    collective: Collective = SINGLE_PROCESS,
) -> TrainState:
    """Train `model` for aux.pretrain_epochs (auxiliary kinds only) + train.epochs epochs.

    After every epoch: validation accuracy (unless `val_batches` is None), a checkpoint (when `checkpoint_path`
    is set) and `on_epoch(metrics)`. With `resume`, an existing checkpoint restores model, optimizer and epoch
    first (the one before it if it is damaged: `models.checkpoint.load_resumable`). `wrap` wraps the loss module
    for data parallelism; `collective` adds metric sums across workers.
    """
    model.to(device)
    optimizer = build_optimizer(model, train)
    scaler = loss_scaler(device, train)
    state = _restored(model, optimizer, scaler, checkpoint_path) if resume else TrainState()
    loss_module = LossModule(model, train, aux)
    loss_module = wrap(loss_module) if wrap is not None else loss_module
    total_epochs = (aux.pretrain_epochs if has_aux(model) else 0) + train.epochs
    pretrain_epochs = total_epochs - train.epochs
    memory = PeakMemory(device)
    while state.epoch < total_epochs:
        phase = phase_of(state.epoch, model, aux)
        rank, epoch = collective.rank, state.epoch
        lr = learning_rate(train, pretrain_epochs, epoch)
        for group in optimizer.param_groups:
            group["lr"] = lr
        torch.manual_seed(epoch_generator(train.seed, "dropout", epoch, rank).initial_seed())
        memory.start()
        sums, steps, train_seconds = train_epoch(
            model, optimizer, train_batches(epoch_generator(train.seed, "data", epoch)), train=train, aux=aux,
            phase=phase, anchor_generator=epoch_generator(train.seed, "anchors", epoch, rank), device=device,
            loss_module=loss_module, collective=collective, scaler=scaler,
        )  # fmt: skip
        train_peak = memory.peak_mb()
        validation, eval_peak = _validated(model, val_batches, device, collective, train.precision, memory)
        peaks = collective.max(torch.tensor([train_peak, eval_peak], dtype=torch.float64))  # largest worker
        state.epoch += 1
        metrics: dict[str, Any] = {
            "epoch": state.epoch,
            "epochs": total_epochs,
            "supervised_epoch": max(0, state.epoch - pretrain_epochs),  # joint epochs done
            "lr": lr,
            "phase": phase,
            "device": device.type,  # what the memory peaks were measured on
            **{f"train/{k}": v for k, v in sums.means().items()},
            **validation,
            "tokens_per_second": steps / train_seconds,  # all workers together
            "peak_memory_mb": float(peaks[0]),  # training steps
            **({"eval_peak_memory_mb": float(peaks[1])} if validation else {}),  # the validation pass
            "epoch_seconds": train_seconds,
        }
        if not math.isfinite(metrics["train/loss"]):
            raise FloatingPointError(f"training loss became {metrics['train/loss']} in epoch {state.epoch}")
        diverged = divergence(state.history, metrics, train.divergence_factor)
        if diverged:
            raise FloatingPointError(diverged)
        state.history.append(metrics)
        if checkpoint_path is not None:
            save_checkpoint(checkpoint_path, {
                "model": model.state_dict(), "optimizer": optimizer.state_dict(), "scaler": scaler.state_dict(),
                "epoch": state.epoch, "history": state.history,
            })  # fmt: skip
        if on_epoch is not None:
            on_epoch(metrics)
    return state


def _restored(model: nn.Module, optimizer: Any, scaler: Any, checkpoint_path: Path | None) -> TrainState:
    """Model, optimizer and loss scale as the checkpoint left them (the one before it if it is damaged), and where
    training stood; a fresh state where there is none."""
    saved = load_resumable(checkpoint_path) if checkpoint_path is not None else None
    if saved is None:
        return TrainState()
    model.load_state_dict(saved["model"])
    optimizer.load_state_dict(saved["optimizer"])
    if saved.get("scaler"):  # absent from checkpoints of older versions, empty unless fp16
        scaler.load_state_dict(saved["scaler"])
    return TrainState(epoch=saved["epoch"], history=saved["history"])


def _validated(
    model: nn.Module, val_batches: EvalBatches | None, device: torch.device, collective: Collective, precision: str,
    memory: PeakMemory,
) -> tuple[dict[str, float], float]:  # fmt: skip
    """The epoch's validation metrics and the pass's peak memory (none without a validation split)."""
    if val_batches is None:
        return {}, 0.0
    memory.start()
    val = evaluate(model, val_batches(), device, collective, precision)
    return {"val/accuracy": val.mean("accuracy"), "val/loss": val.mean("loss")}, memory.peak_mb()
