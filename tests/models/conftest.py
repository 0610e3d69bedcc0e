"""Tiny float64 models for exact checks of the truncation semantics."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from models import AuxConfig, ModelConfig, TrainConfig, build_model

TINY_MODEL = ModelConfig(
    d_embed=5,
    d_hidden=4,
    d_ffn=6,
    dropconnect=0.0,
    transformer_heads=1,
    transformer_ffn=8,
    transformer_dropout=0.0,
)
TINY_AUX = AuxConfig(segment_len=4, anchors=2, truncation=3, decoder_units=3, pretrain_epochs=0)
TINY_TRAIN = TrainConfig(truncation=5)
SEQ_LEN, VOCAB, CLASSES = 12, 16, 3


def tiny_model(kind: str, aux: AuxConfig = TINY_AUX, seed: int = 0, **model_changes) -> torch.nn.Module:
    torch.manual_seed(seed)
    cfg = dataclasses.replace(TINY_MODEL, kind=kind, **model_changes)
    return build_model(cfg, aux, vocab_size=VOCAB, num_classes=CLASSES, seq_len=SEQ_LEN).double()


@pytest.fixture
def tiny_batch() -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(1)
    return torch.randint(0, VOCAB, (3, SEQ_LEN), generator=gen), torch.randint(0, CLASSES, (3,), generator=gen)
