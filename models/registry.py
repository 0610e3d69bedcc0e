"""The model registry: one line per kind, the KindInfo of its module; what a kind reads, and build_model()."""

from __future__ import annotations

from fnmatch import fnmatchcase

from torch import nn

from models import lstm, transformer
from models.catalog import KindInfo
from models.config import AuxConfig, ModelConfig


def by_name(*entries: KindInfo) -> dict[str, KindInfo]:
    """{info.name: info}, refusing two entries of one name (a dict literal would silently keep the last)."""
    names = [info.name for info in entries]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(f"two registry entries are named {repeated[0]!r}")
    return dict(zip(names, entries))


# A plain dict, one line per kind; tests/models/test_registry.py checks every entry.
MODELS: dict[str, KindInfo] = by_name(
    lstm.LSTM,
    lstm.R_LSTM,
    lstm.P_LSTM,
    transformer.INFO,
)


def kinds_reading(key: str) -> tuple[str, ...]:
    """The kinds that read the dotted config key `key`: those whose `reads` claim it, or every kind where none
    does (a key such as `train.lr` means the same to all)."""
    claimed = tuple(name for name, info in MODELS.items() if any(fnmatchcase(key, p) for p in info.reads))
    return claimed or tuple(MODELS)


def reads(kind: str, key: str) -> bool:
    """Whether a model of `kind` reads the dotted config key `key` (so a search, a check or a logged param of it
    means something for that kind)."""
    return kind in kinds_reading(key)


def kind_names() -> str:
    """The valid kinds as a config error lists them: 'lstm' | 'r_lstm' | …"""
    return " | ".join(repr(name) for name in MODELS)


def build_model(
    cfg: ModelConfig, aux: AuxConfig, *, vocab_size: int, num_classes: int, seq_len: int, channels: int = 1
) -> nn.Module:
    """The network of `cfg.kind`, sized for the data (`channels` tokens per step, `vocab_size` values each)."""
    if cfg.kind not in MODELS:
        raise ValueError(f"model.kind {cfg.kind!r} is not one of {sorted(MODELS)}")
    return MODELS[cfg.kind].build(
        cfg, aux, vocab_size=vocab_size, num_classes=num_classes, seq_len=seq_len, channels=channels
    )
