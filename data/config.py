"""Configuration owned by the data package."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DataConfig:
    name: str = "mnist"  # a key of data.DATASETS
    batch_size: int = 128  # [B]
    image_size: int | None = None  # images: side S of the resized image (S*S steps); null = the dataset's own
    seq_len: int | None = None  # synthetic tasks: steps per sequence; null = the task's default
    max_len: int | None = None  # text: keep the first N characters of each example; null = all
    limit_train: int | None = None  # a fixed random subset of N training examples; null = all
    limit_eval: int | None = None  # first N validation and test examples; null = all
