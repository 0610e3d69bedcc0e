"""In-memory containers for a loaded dataset: token sequences, labels and (for text) true lengths."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class SequenceSplit:
    """One split.

    tokens: (N, T) uint8, or (N, T, C) for C channel tokens per step (RGB pixels); exact values.
    labels: (N,) int64.
    lengths: (N,) int64 true lengths of variable-length sequences, right-padded with token 0; None when every
        sequence is T steps long.
    """

    tokens: torch.Tensor
    labels: torch.Tensor
    lengths: torch.Tensor | None = None

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def select(self, index: torch.Tensor | slice) -> SequenceSplit:
        """The examples at `index` (an index tensor or a slice), as copies."""
        if isinstance(index, slice):
            pick = lambda t: t[index].clone()  # noqa: E731
        else:
            pick = lambda t: t.index_select(0, index)  # noqa: E731
        return SequenceSplit(pick(self.tokens), pick(self.labels), None if self.lengths is None else pick(self.lengths))


def concat(first: SequenceSplit, second: SequenceSplit) -> SequenceSplit:
    """The examples of both, in order; variable-length tokens are right-padded with 0 to the longer width."""
    width = max(first.tokens.shape[1], second.tokens.shape[1])

    def padded(t: torch.Tensor) -> torch.Tensor:
        extra = width - t.shape[1]
        return t if extra == 0 else torch.cat([t, t.new_zeros((t.shape[0], extra, *t.shape[2:]))], dim=1)

    lengths = None if first.lengths is None else torch.cat([first.lengths, second.lengths])
    return SequenceSplit(
        torch.cat([padded(first.tokens), padded(second.tokens)]), torch.cat([first.labels, second.labels]), lengths
    )


@dataclass(frozen=True)
class Dataset:
    """A dataset ready for training: three splits plus the sizes a model needs."""

    name: str
    train: SequenceSplit
    val: SequenceSplit
    test: SequenceSplit
    vocab_size: int  # token values per channel
    num_classes: int
    seq_len: int  # steps (the longest, for variable-length data)
    channels: int = 1
    vocab: tuple[str, ...] | None = None  # characters of the token ids, for text
