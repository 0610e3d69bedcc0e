"""The dataset registry: one line per dataset, the INFO of its source module; get_info() and load_dataset()."""

from __future__ import annotations

import pathlib

from data import cifar10, dbpedia, fashion_mnist, mnist, mnist_long, pmnist, reviews, stanford_dogs, synthetic, wordnet
from data.catalog import DatasetInfo
from data.config import DataConfig, check_config
from data.errors import DatasetError
from data.splits import Dataset


def by_name(*entries: DatasetInfo) -> dict[str, DatasetInfo]:
    """{info.name: info}, refusing two entries of one name (a dict literal would silently keep the last)."""
    registry: dict[str, DatasetInfo] = {}
    for info in entries:
        if info.name in registry:
            raise ValueError(f"two registry entries are named {info.name!r}")
        registry[info.name] = info
    return registry


# A plain dict, one line per dataset; tests/data/test_registry.py and test_every_dataset.py check every entry.
DATASETS: dict[str, DatasetInfo] = by_name(
    mnist.INFO,
    pmnist.INFO,
    fashion_mnist.INFO,
    cifar10.INFO,
    stanford_dogs.INFO,
    mnist_long.INFO,
    synthetic.INFO,
    wordnet.INFO,
    reviews.INFO,
    dbpedia.INFO,
)


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
    check_config(cfg)  # before any download, so that a config typo fails fast
    info.prepare(data_dir, None)
    return info.load(data_dir, cfg)
