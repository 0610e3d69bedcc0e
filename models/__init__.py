"""Models, losses and the framework-free trainer. Imports torch only: no Ray, Optuna or MLflow."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from models.config import AUX_KINDS, AuxConfig, ModelConfig, TrainConfig
from models.lstm import LSTMClassifier
from models.transformer import TransformerClassifier

Builder = Callable[..., nn.Module]


def _lstm(
    cfg: ModelConfig, aux: AuxConfig, *, vocab_size: int, num_classes: int, seq_len: int, channels: int
) -> nn.Module:
    return LSTMClassifier(cfg, aux, vocab_size=vocab_size, num_classes=num_classes, channels=channels)


def _transformer(
    cfg: ModelConfig, aux: AuxConfig, *, vocab_size: int, num_classes: int, seq_len: int, channels: int
) -> nn.Module:
    return TransformerClassifier(
        cfg, vocab_size=vocab_size, num_classes=num_classes, seq_len=seq_len, channels=channels
    )


MODELS: dict[str, Builder] = {"lstm": _lstm, "r_lstm": _lstm, "p_lstm": _lstm, "transformer": _transformer}


def build_model(
    cfg: ModelConfig, aux: AuxConfig, *, vocab_size: int, num_classes: int, seq_len: int, channels: int = 1
) -> nn.Module:
    """The network of `cfg.kind`, sized for the data (`channels` tokens per step, `vocab_size` values each)."""
    if cfg.kind not in MODELS:
        raise ValueError(f"model.kind {cfg.kind!r} is not one of {sorted(MODELS)}")
    return MODELS[cfg.kind](
        cfg, aux, vocab_size=vocab_size, num_classes=num_classes, seq_len=seq_len, channels=channels
    )


__all__ = ["AUX_KINDS", "MODELS", "AuxConfig", "ModelConfig", "TrainConfig", "build_model"]
