"""Mini-batches over an in-memory split, by slicing or index_select (no per-example Python)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

import torch

from data.splits import SequenceSplit


class Batch(NamedTuple):
    tokens: torch.Tensor  # (B, T) or (B, T, C) uint8; variable-length batches are cut to their longest example
    labels: torch.Tensor  # (B,) int64
    lengths: torch.Tensor | None  # (B,) int64, or None when all B sequences are T steps long


def iterate_batches(
    split: SequenceSplit,
    batch_size: int,
    *,
    shuffle: bool,
    generator: torch.Generator | None = None,
    drop_last: bool = False,
    shard: tuple[int, int] = (0, 1),
) -> Iterator[Batch]:
    """Yield batches covering the split once, in order or shuffled with `generator`.

    shard (rank, world): this worker's share of every batch. Every worker draws the same permutation (same
    generator state) and takes every world-th example of it, so one step of `world` workers with batches of
    batch_size // world sees exactly the examples of one batch_size step of a single worker. With shuffle the
    last n % world examples are dropped, so that every worker runs the same number of steps.
    """
    rank, world = shard
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    n = len(split)
    order = torch.randperm(n, generator=generator) if shuffle else None
    if world > 1:
        if order is None:
            order = torch.arange(n)
        order = order[rank::world]
        if shuffle:
            order = order[: n // world]
        n, batch_size = len(order), max(batch_size // world, 1)
    stop = n - n % batch_size if drop_last else n
    for start in range(0, stop, batch_size):
        if order is None:
            part = slice(start, start + batch_size)
            tokens, labels = split.tokens[part], split.labels[part]
            lengths = None if split.lengths is None else split.lengths[part]
        else:
            index = order[start : start + batch_size]
            tokens, labels = split.tokens.index_select(0, index), split.labels.index_select(0, index)
            lengths = None if split.lengths is None else split.lengths.index_select(0, index)
        if lengths is not None:
            tokens = tokens[:, : int(lengths.max())]  # padding past the longest example is never read
        yield Batch(tokens, labels, lengths)
