"""Load-time transforms: fixed subsets of any split (image, text and synthetic datasets), and resizing of pixel
sequences (image datasets)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from data.errors import DatasetError
from data.splits import SequenceSplit

# Fixed on purpose: every training seed must see the same limit_train subset.
SUBSET_SEED = 1_000_003
_RESIZE_CHUNK = 8192  # rows per interpolate call, to bound the float32 working memory


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


def resize_tokens(tokens: torch.Tensor, side: int, new_side: int) -> torch.Tensor:
    """Resize (N, side*side) uint8 raster images to (N, new_side*new_side) uint8.

    Area averaging when shrinking, bilinear when enlarging; rounded and clamped to 0..255.
    """
    if new_side < 2:
        raise DatasetError(f"data.image_size must be at least 2, got {new_side}; fix the config")
    if tokens.shape[1] != side * side:
        raise ValueError(f"tokens have {tokens.shape[1]} steps, expected {side}x{side}")
    if new_side == side:
        return tokens
    chunks = []
    for start in range(0, tokens.shape[0], _RESIZE_CHUNK):
        images = tokens[start : start + _RESIZE_CHUNK].to(torch.float32).view(-1, 1, side, side)
        if new_side < side:
            resized = F.interpolate(images, size=(new_side, new_side), mode="area")
        else:
            resized = F.interpolate(images, size=(new_side, new_side), mode="bilinear", align_corners=False)
        chunks.append(resized.round().clamp(0, 255).to(torch.uint8).reshape(-1, new_side * new_side))
    if not chunks:
        return torch.empty((0, new_side * new_side), dtype=torch.uint8)
    return torch.cat(chunks)
