"""In-memory containers for a loaded dataset: token sequences and labels as torch tensors."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class SequenceSplit:
    """One split: `tokens` (N, T) uint8 holding exact pixel values, `labels` (N,) int64."""

    tokens: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return int(self.labels.shape[0])


@dataclass(frozen=True)
class Dataset:
    """A dataset ready for training: three splits plus the sizes a model needs."""

    name: str
    train: SequenceSplit
    val: SequenceSplit
    test: SequenceSplit
    vocab_size: int
    num_classes: int
    seq_len: int
