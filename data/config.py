"""Configuration owned by the data package, and its checks (the one place they are made)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from data.errors import DatasetError


@dataclass(frozen=True)
class DataConfig:
    name: str = "mnist"  # a key of data.DATASETS
    batch_size: int = 128  # [B]
    image_size: int | None = None  # images: side S of the resized image (S*S steps); null = the dataset's own
    seq_len: int | None = None  # synthetic tasks: steps per sequence; null = the task's default
    max_len: int | None = None  # text: keep the first N characters of each example; null = all
    limit_train: int | None = None  # a fixed random subset of N training examples; null = all
    limit_eval: int | None = None  # first N validation and test examples; null = all
    # `none`: the validation examples join the training split and no validation metric exists (the paper's
    # protocol: a fixed number of epochs, test accuracy after the last, nothing selected on held-out data).
    validation: Literal["holdout", "none"] = "holdout"


def check_image_size(side: int) -> int:
    """`side` when it is a usable image side (at least 2), else DatasetError."""
    if side < 2:
        raise DatasetError(f"data.image_size must be at least 2, got {side}; fix the config")
    return side


def check_config(cfg: DataConfig) -> None:
    """Refuse values no dataset can use; load_dataset calls this before any download, so a typo fails fast."""
    if cfg.image_size is not None:
        check_image_size(cfg.image_size)
    for field, value in (
        ("limit_train", cfg.limit_train),
        ("limit_eval", cfg.limit_eval),
        ("seq_len", cfg.seq_len),
        ("max_len", cfg.max_len),
    ):
        if value is not None and value < 1:
            raise DatasetError(f"data.{field} must be null or at least 1, got {value}; fix the config")
