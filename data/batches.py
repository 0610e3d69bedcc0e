"""Mini-batches over an in-memory split, by slicing or index_select (no per-example Python)."""

from __future__ import annotations

from collections.abc import Iterator

import torch

from data.splits import SequenceSplit


def iterate_batches(
    split: SequenceSplit,
    batch_size: int,
    *,
    shuffle: bool,
    generator: torch.Generator | None = None,
    drop_last: bool = False,
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Yield (tokens uint8 (B, T), labels int64 (B,)) covering the split once, in order or shuffled."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    n = len(split)
    stop = n - n % batch_size if drop_last else n
    order = torch.randperm(n, generator=generator) if shuffle else None
    for start in range(0, stop, batch_size):
        if order is None:
            yield split.tokens[start : start + batch_size], split.labels[start : start + batch_size]
        else:
            index = order[start : start + batch_size]
            yield split.tokens.index_select(0, index), split.labels.index_select(0, index)
