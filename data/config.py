"""Configuration owned by the data package."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DataConfig:
    name: str = "mnist"  # a key of data.DATASETS
    batch_size: int = 128  # [B]
    image_size: int = 28  # side of the (resized) image; 14 gives 196 steps for CPU-scale work
    limit_train: int | None = None  # first N training examples (after a seeded shuffle); null = all
    limit_eval: int | None = None  # first N validation and test examples; null = all
