"""Which examples a split keeps: the seeded hold-out that makes a validation split, and the fixed subsets of
data.limit_train / data.limit_eval applied at load time (every family of datasets)."""

from __future__ import annotations

import numpy as np
import torch

from data.config import DataConfig
from data.splits import SequenceSplit, concat

# Fixed on purpose: every training seed must see the same limit_train subset.
SUBSET_SEED = 1_000_003


def hold_out(n: int, n_val: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, val) of a fixed seeded split of n examples, each sorted to keep the source order."""
    order = np.random.default_rng(seed).permutation(n)
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def limit_train(split: SequenceSplit, limit: int | None) -> SequenceSplit:
    """A fixed random subset of `limit` examples (indices sorted); the whole split when it is not larger."""
    n = len(split)
    if limit is None or limit >= n:
        return split
    generator = torch.Generator().manual_seed(SUBSET_SEED)
    index = torch.randperm(n, generator=generator)[:limit].sort().values
    return split.select(index)


def limit_eval(split: SequenceSplit, limit: int | None) -> SequenceSplit:
    """The first `limit` examples; the whole split when it is not larger."""
    if limit is None or limit >= len(split):
        return split
    return split.select(slice(0, limit))  # copies, so the full split is not kept alive by a view


def apply_limits(
    splits: tuple[SequenceSplit, SequenceSplit, SequenceSplit], cfg: DataConfig
) -> tuple[SequenceSplit, SequenceSplit, SequenceSplit]:
    """(train, val, test) under cfg.limit_train (a fixed random subset) and cfg.limit_eval (the first N). With
    `data.validation: none` the validation examples join the training split first, and val is empty."""
    train, val, test = splits
    if cfg.validation == "none":
        train, val = concat(train, val), val.select(slice(0, 0))
    return limit_train(train, cfg.limit_train), limit_eval(val, cfg.limit_eval), limit_eval(test, cfg.limit_eval)
