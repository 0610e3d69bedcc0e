"""Images as token sequences: resizing raster pixels (area down, bilinear up) and the loaded image dataset."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from data.config import DataConfig, check_image_size
from data.splits import Dataset, SequenceSplit
from data.transforms import apply_limits

PIXEL_VOCAB = 256  # token values per channel
_RESIZE_VALUES = 1 << 24  # values per interpolate call: bounds the float32 working memory to ~64 MiB


def resize_pixels(tokens: torch.Tensor, side: int, new_side: int) -> torch.Tensor:
    """Resize (N, side², [C]) uint8 raster images to (N, new_side², [C]) uint8, in memory-bounded chunks.

    Area averaging when shrinking, bilinear when enlarging; rounded and clamped to 0..255.
    """
    check_image_size(new_side)
    if tokens.shape[1] != side * side:
        raise ValueError(f"tokens have {tokens.shape[1]} steps, expected {side}x{side}")
    if new_side == side:
        return tokens
    if tokens.ndim == 3:
        # Channels become separate grey images, so RGB takes the same path.
        n, steps, channels = tokens.shape
        planar = tokens.permute(0, 2, 1).reshape(n * channels, steps)
        resized = resize_pixels(planar, side, new_side).view(n, channels, new_side * new_side)
        return resized.permute(0, 2, 1).contiguous()
    rows = max(1, _RESIZE_VALUES // max(side, new_side) ** 2)
    mode = {"mode": "area"} if new_side < side else {"mode": "bilinear", "align_corners": False}
    chunks = [torch.empty((0, new_side * new_side), dtype=torch.uint8)]
    for start in range(0, tokens.shape[0], rows):
        images = tokens[start : start + rows].to(torch.float32).view(-1, 1, side, side)
        resized = F.interpolate(images, size=(new_side, new_side), **mode)
        chunks.append(resized.round().clamp(0, 255).to(torch.uint8).reshape(-1, new_side * new_side))
    return torch.cat(chunks)


def image_steps(default_side: int) -> Callable[[DataConfig], int]:
    """An image dataset's max_steps: S*S for S = data.image_size, else its default side."""
    return lambda cfg: (cfg.image_size or default_side) ** 2


def image_dataset(
    splits: tuple[SequenceSplit, SequenceSplit, SequenceSplit],
    cfg: DataConfig,
    side: int,
    num_classes: int,
    channels: int,
    default_side: int | None = None,
) -> Dataset:
    """The stored side×side splits under cfg: limit_train / limit_eval first (less to resize), then resized to
    cfg.image_size, else to `default_side`, else kept."""
    new_side = cfg.image_size or default_side or side
    limited = apply_limits(splits, cfg)
    train, val, test = (SequenceSplit(resize_pixels(s.tokens, side, new_side), s.labels) for s in limited)
    return Dataset(
        name=cfg.name, train=train, val=val, test=test, vocab_size=PIXEL_VOCAB, num_classes=num_classes,
        seq_len=new_side**2, channels=channels,
    )  # fmt: skip
